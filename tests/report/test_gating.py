"""The "Why gating?" stage: its cells (LSTM cells reused, never trained twice), its rows from
synthetic records, and the commands it prints (they make its cells)."""

import math

import pytest

from analysis.experiments import sweep
from analysis.report import compare, config, gating, stages, summarise, variants
from analysis.util import stats


def _decay_record(length, rates, c_max=0.5, non_finite=0):
    reasons = ["non-finite state" if i < non_finite else None for i in range(len(rates))]
    return {
        "config": {"length": length},
        "result": {
            "fit": {"h": {"per_seed": [{"rate": r} for r in rates], "r2": 0.9}},
            "exploded_reasons": reasons,
            "telemetry": {"c_max": c_max},
        },
    }


def _train_record(length, solved_steps):
    per = [
        {"solved_step": s, "diverged_at": None, "final_test_loss": 0.005 if s else 0.17}
        for s in solved_steps
    ]
    return {
        "config": {"length": length, "steps": 40, "lr": 0.01},
        "result": {"baseline": 0.1667, "wall_s": 1.0, "per_seed": per},
    }


def test_rows_take_the_median_rate_its_half_life_and_the_class_per_design():
    cfg = config.preset("tiny", gating_designs=("rnn", "lstm"), gating_decay_length=40)
    pairs = [(gating.design(d), a) for d in cfg.gating_designs for a in cfg.gating_activations]
    rates = {0: [-0.3, -0.2, -0.25], 1: [-0.01, -0.02, -0.015], 2: [-0.05] * 3, 3: [0.2] * 3}
    measured = {
        "decay": [
            _decay_record(40, rates[i], c_max=100.0 if i == 3 else 0.5, non_finite=i == 3)
            for i in range(4)
        ],
        "train": [_train_record(12, [None, 30, None]) for _ in range(4)],
    }
    rows = summarise.gating_rows(pairs, measured)
    assert [(r.design, r.activation) for r in rows] == [
        ("rnn", "tanh"),
        ("rnn", "relu"),
        ("lstm", "tanh"),
        ("lstm", "relu"),
    ]
    assert rows[0].decay.rate.value == pytest.approx(-0.25)
    assert rows[0].decay.half_life.value == pytest.approx(math.log(2) / 0.25)
    assert [r.decay.flow for r in rows] == ["vanishing", "vanishing", "vanishing", "exploding"]
    assert rows[1].decay.variant == "rnn (relu)" and rows[3].decay.non_finite_seeds == 1
    assert rows[0].train.solved == stats.wilson(1, 3)
    comps, _ = compare.compare_all((), (), rows, 12, ())
    assert {c.family for c in comps} == {
        "gating_swap_decay",
        "gating_swap_train",
        "gating_design_decay",
        "gating_design_train",
    }
    swap = [c for c in comps if c.family == "gating_swap_decay"]
    assert [(c.a, c.b) for c in swap] == [
        ("rnn (relu)", "rnn (tanh)"),
        ("lstm (relu)", "lstm (tanh)"),
    ]


def test_lstm_cells_are_the_other_stages_cells_and_are_not_run_twice(monkeypatch, tmp_path):
    cfg = config.preset("tiny", gating_designs=("lstm",), gating_decay_length=60)
    # the decay stage's cell for the same variant and b_f is the gating cell itself
    assert gating.decay_cells(cfg)[0] == stages.decay_cell(cfg, "tanh/tanh", cfg.train_forget_bias)
    tanh_cell = stages.train_cell(cfg, "tanh/tanh", cfg.gating_length, 0.1)
    assert gating.train_cells(cfg, 0.1) == [
        tanh_cell,
        stages.train_cell(cfg, "relu/tanh", cfg.gating_length, 0.1),
    ]
    asked = []

    def fake_run(cells, seeds, run_cell, out, desc="", workers=1):
        asked.extend((f"{out.parent.name}/{out.name}", sweep.cell_key(c)) for c in cells)
        # every search chooses 0.1
        return [
            {"config": dict(c), "seeds": list(seeds), "result": {"chosen_lr": 0.1}} for c in cells
        ]

    monkeypatch.setattr(sweep, "run", fake_run)
    seeds = list(range(cfg.train_seeds))
    main = [{"config": tanh_cell, "seeds": seeds, "result": {"main": True}}]
    dmain = [
        {"config": gating.decay_cells(cfg)[1], "seeds": list(range(cfg.decay_seeds)), "result": {}}
    ]
    got = gating.run_gating(cfg, tmp_path, dmain, main)
    assert got["reused"] == {"decay": 1, "train": 1}
    assert got["train"][0] is main[0]  # the training stage's own record, not a rerun
    assert ("gating/train", sweep.cell_key(tanh_cell)) not in asked
    names = [n for n, _ in asked]
    # both cells search their rate; only the one the training stage lacks is trained
    assert names.count("gating/tune") == 2 and names.count("gating/train") == 1
    assert names.count(f"{tmp_path.name}/gating_decay") == 1
    assert len(set(asked)) == len(asked)


def test_every_design_has_decay_cells_with_its_options():
    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    cells = gating.decay_cells(cfg)
    assert len(cells) == 2 * len(gating.DESIGNS)
    irnn = cells[2 * [d.name for d in gating.DESIGNS].index("irnn") + 1]
    spec = irnn["cell"]
    assert (spec["name"], spec["initializer"], spec["candidate"]) == ("rnn", "identity", "relu")
    gru = cells[2 * [d.name for d in gating.DESIGNS].index("gru")]
    assert gru["cell"]["update_bias"] == cfg.train_forget_bias
    with pytest.raises(ValueError, match="valid: rnn, irnn"):
        gating.design("transformer")


def test_only_the_lstm_cells_take_flow_snapshots():
    # the section reads none; an LSTM cell is the training stage's cell, with its count
    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    assert cfg.train_snapshots > 0
    for c in gating.train_cells(cfg, 0.01):
        if c["cell"]["name"] == "lstm" and variants.name_of(c) in variants.known():
            name = variants.name_of(c)
            want = cfg.train_snapshots if name in cfg.flow_variants else 0
            assert (
                c["snapshots"]
                == want
                == stages.train_cell(cfg, name, c["length"], 0.01)["snapshots"]
            )
        else:  # another design, or an LSTM design that is no report variant
            assert c["snapshots"] == (cfg.train_snapshots if c["cell"]["name"] == "lstm" else 0)


def test_the_sections_commands_make_the_sections_cells():
    import shlex

    from analysis.cli.app import build_parser
    from analysis.cli.commands import decay_cmd, train_cmd
    from analysis.cli.commands.train_fields import base_record, compare_fields
    from analysis.experiments.train import TrainConfig

    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    n = len(gating.train_cells(cfg, 0.01))
    rates = [0.001 * (i + 1) for i in range(n)]  # each cell its own chosen rate
    lines = gating.commands(cfg, rates)
    parser, _ = build_parser()
    decay_lines = [ln for ln in lines if ln.startswith("actgrad decay")]
    train_lines = [ln for ln in lines if ln.startswith("actgrad train")]
    got = [
        c for ln in decay_lines for c in decay_cmd._cells(parser.parse_args(shlex.split(ln)[1:]))[2]
    ]
    assert got == gating.decay_cells(cfg)
    made = []
    for ln in train_lines:
        args = parser.parse_args(shlex.split(ln)[1:])
        compare = sweep.parse_compare(
            [train_cmd._normalise(s) for s in args.compare], compare_fields()
        )
        made += [
            TrainConfig.from_dict(c).to_dict()
            for c in sweep.expand_grid(base_record(args, TrainConfig()), compare)
        ]
    want = [gating.train_cells(cfg, lr)[i] for i, lr in enumerate(rates)]
    assert made == [TrainConfig.from_dict(c).to_dict() for c in want]
