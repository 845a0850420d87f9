"""Training with gradient flossing: the config and flags, the schedule (how many flossing
steps ran, read from the flossing optimizer's own step count), no change where none is due,
and preflossing moving the largest exponent toward its target."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis import cli
from analysis.experiments import train, train_floss

TINY = dict(task="adding", length=12, steps=8, batch=4, hidden_size=3, eval_every=4)
TINY.update(test_batch=8, dtype="float64")


def test_floss_fields_round_trip_and_default_off():
    cfg = train.TrainConfig.from_dict({**TINY, "floss": 6, "floss_target": -0.05})
    assert train.TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert train.TrainConfig().floss == 0
    assert train.init_state(jax.random.key(0), train.TrainConfig(**TINY)).floss_opt is None


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--floss", "7"], "floss: k must be an integer in [1, 6] (the carry's size), got 7"),
        (["--floss", "-1"], "floss must be an integer >= 0"),
        (["--floss", "2", "--floss-target", "inf"], "floss_target: target must be a finite"),
        (["--floss", "2", "--floss-every", "0"], "floss_every must be a positive integer"),
        (["--cell", "gru", "--t-max", "40"], "gru has no slot or option 't_max'"),
    ],
)
def test_bad_floss_flags_exit_2_with_one_line(argv, match, tmp_path, capsys):
    args = ["--length", "6", "--hidden", "3", "--out", str(tmp_path / "o"), *argv]
    assert cli.main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err, err


def test_t_max_flag_reaches_the_chrono_init():
    import argparse

    from analysis.cli.commands.train_cmd import add_arguments
    from analysis.cli.commands.train_fields import base_record

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--init", "chrono", "--t-max", "37", "--length", "10"])
    cfg = train.TrainConfig.from_dict(base_record(args, train.TrainConfig()))
    assert cfg.lstm_config().t_max == 37
    default = p.parse_args(["--init", "chrono", "--length", "10"])
    assert (
        train.TrainConfig.from_dict(base_record(default, train.TrainConfig())).lstm_config().t_max
        == 10
    )


def _chunk(fn, cfg, state, *start):
    return jax.jit(fn, static_argnames="cfg")(jax.random.key(1), state, *start, cfg=cfg)


def test_bursts_follow_the_schedule_and_nothing_else_changes():
    # every 2 updates, 2 bursts of 3 steps: before updates 2 and 4 of the chunk [0, 4)...
    fields = {**TINY, "steps": 20}
    cfg = train.TrainConfig(**fields, floss=2, floss_pretrain=5, floss_every=2, floss_steps=3)
    state = train.init_state(jax.random.key(0), cfg)  # preflossing: the next test
    first, *_ = _chunk(train_floss.floss_chunk, cfg, state, jnp.int32(0))
    assert int(first.floss_opt[0].count) == 3  # one burst, before update 2
    second, *_ = _chunk(train_floss.floss_chunk, cfg, first, jnp.int32(4))
    assert int(second.floss_opt[0].count) == 6  # the second, before update 4
    # ...and a chunk where no burst is due (the third is never) is exactly `train_chunk`
    got, m_got, *_ = _chunk(train_floss.floss_chunk, cfg, second, jnp.int32(8))
    want, m_want, *_ = _chunk(train.train_chunk, cfg, second)
    assert int(got.floss_opt[0].count) == 6
    for a, b in zip(jax.tree.leaves((got, m_got)), jax.tree.leaves((want, m_want)), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_preflossing_moves_the_largest_exponent_toward_the_target():
    cfg = train.TrainConfig(**TINY, lr=0.05, floss=1, floss_target=0.2, floss_pretrain=20)
    key = jax.random.key(0)
    state = train.init_state(key, cfg)
    exponent = jax.jit(train_floss.largest_exponent, static_argnames="cfg")
    before = float(exponent(key, state, cfg=cfg))
    state = jax.jit(train_floss.floss_pretrain, static_argnames="cfg")(key, state, cfg=cfg)
    after = float(exponent(key, state, cfg=cfg))
    assert abs(after - 0.2) < 0.5 * abs(before - 0.2), (before, after)
