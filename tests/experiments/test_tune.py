"""The learning-rate search: per-seed rates in one program equal separate runs, the selection
rule, and the search never touching the evaluation's seeds."""

import math

import numpy as np
import pytest

from analysis.experiments import train, tune

CFG = train.TrainConfig(
    task="adding",
    length=6,
    steps=12,
    batch=4,
    hidden_size=3,
    eval_every=4,
    test_batch=8,
    clip=1.0,
    dtype="float64",
)


def test_per_seed_rates_in_one_program_equal_one_run_per_rate():
    # two rates and a repeated seed in one vmapped program, against each rate alone with the
    # rate a Python constant of its own program (an independent path for the optimizer)
    together = train.train(CFG, [5, 5, 7], lrs=[0.01, 0.2, 0.2])
    alone = {
        (seed, lr): train.train(train.TrainConfig(**{**CFG.__dict__, "lr": lr}), [seed])
        for seed, lr in [(5, 0.01), (5, 0.2), (7, 0.2)]
    }
    for got in together["per_seed"]:
        want = alone[(got["seed"], got["lr"])]["per_seed"][0]
        np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-12)
        np.testing.assert_allclose(got["update_norm"], want["update_norm"], rtol=1e-12)
        assert got["final_test_loss"] == pytest.approx(want["final_test_loss"], rel=1e-12)
    # the same seed at two rates: same first loss (same init and batch), different updates
    a, b = together["per_seed"][:2]
    assert a["loss"][0] == b["loss"][0] and a["update_norm"][0] != b["update_norm"][0]


def test_bad_rates_are_refused_before_any_work():
    with pytest.raises(ValueError, match="lrs must be 2 finite numbers"):
        train.train(CFG, [0, 1], lrs=[0.1])
    with pytest.raises(ValueError, match="lrs must be 2 finite numbers"):
        train.train(CFG, [0, 1], lrs=[0.1, math.nan])


def _seed(lr, solved, loss, diverged=None):
    return {
        "lr": lr,
        "solved_step": 10 if solved else None,
        "diverged_at": diverged,
        "final_test_loss": loss,
    }


def test_trials_group_by_rate_and_count_a_diverged_seed_as_infinite_loss():
    per = [
        _seed(0.1, True, 0.001),
        _seed(0.1, False, math.nan, diverged=3),
        _seed(0.1, False, math.nan, diverged=4),
        _seed(0.01, False, 0.2),
        _seed(0.01, True, 0.002),
    ]
    got = tune.trials(per)
    assert [t.lr for t in got] == [0.01, 0.1]
    assert [(t.solved, t.seeds) for t in got] == [(1, 2), (1, 3)]
    assert got[0].final_test_loss == pytest.approx(0.101)
    assert got[1].final_test_loss == math.inf


@pytest.mark.parametrize(
    ("rows", "chosen"),
    [
        # most solved wins, whatever the loss
        ([(0.01, 3, 0.5), (0.1, 2, 0.0001)], 0.01),
        # equal solves: the lower median final loss
        ([(0.01, 2, 0.05), (0.1, 2, 0.01)], 0.1),
        # equal on both: the smaller rate
        ([(0.03, 0, 0.17), (0.01, 0, 0.17)], 0.01),
    ],
)
def test_the_selection_rule(rows, chosen):
    assert tune.select([tune.RateTrial(lr, k, 4, loss) for lr, k, loss in rows]) == chosen


def test_search_trains_every_rate_on_the_held_out_seeds_and_refuses_evaluation_seeds():
    with pytest.raises(ValueError, match=r"seeds \[3\] are evaluation seeds"):
        tune.search(CFG, [0.01, 0.1], [3, 100], keep_out=range(4))
    with pytest.raises(ValueError, match="distinct rates"):
        tune.search(CFG, [0.1, 0.1], [100], keep_out=range(4))
    got = tune.search(CFG, [0.01, 0.1], [100, 101], keep_out=range(4))
    assert sorted({s["seed"] for s in got["per_seed"]}) == [100, 101]
    assert [(s["lr"], s["seed"]) for s in got["per_seed"]] == [
        (0.01, 100),
        (0.01, 101),
        (0.1, 100),
        (0.1, 101),
    ]
    assert [t["lr"] for t in got["trials"]] == [0.01, 0.1]
    assert got["chosen_lr"] == tune.select([tune.RateTrial(**t) for t in got["trials"]])
