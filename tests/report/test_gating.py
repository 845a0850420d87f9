"""The "Why gating?" section: its cells (LSTM cells reused, never trained twice), its rows and
prose on synthetic records (words follow the intervals), and its figure (written, shown)."""

import math

import numpy as np
import pytest

from analysis._util import stats
from analysis.experiments import sweep
from analysis.flow import classify
from analysis.report import config, gating, gating_page, gating_plots, rows, stages
from analysis.report import gating_rows as G


def _decay_record(length, rates, h_max=0.5, finite=True):
    """A decay sweep record whose per-seed log-norms fall with slope `rates[s]` per step back."""
    t = np.arange(length)
    log_h = [(r * (length - 1 - t)).tolist() for r in rates]
    per = [{"rate": r, "half_life": math.log(2) / -r if r < 0 else math.inf} for r in rates]
    reason = None if finite else "non-finite gradient"
    return {
        "config": {"length": length},
        "result": {
            "norms": {"log_h": log_h},
            "fit": {"h": {"per_seed": per}},
            "exploded_reasons": [reason] * len(rates),
            "telemetry": {"c_max": 1.0, "h_max": h_max},
        },
    }


def _train_record(length, solved_steps):
    per = [
        {
            "solved_step": s,
            "diverged_at": None,
            "final_test_loss": 0.005 if s is not None else 0.17,
        }
        for s in solved_steps
    ]
    return {
        "config": {"length": length},
        "result": {"baseline": 0.1667, "wall_s": 1.0, "per_seed": per},
    }


def _rng_rates(centre, n, seed):
    return list(centre * (1 + 0.05 * np.random.default_rng(seed).standard_normal(n)))


def _measured(cfg, decay_rates, solved):
    """Records for every (design, activation) of `cfg` from dicts keyed by that pair."""
    pairs = [(d, a) for d in cfg.gating_designs for a in cfg.gating_activations]
    return {
        "decay": [_decay_record(cfg.gating_decay_length, decay_rates[p]) for p in pairs],
        "train": [_train_record(cfg.gating_length, solved[p]) for p in pairs],
        "reused": {"decay": 0, "train": 0},
    }


CFG = config.preset("tiny", gating_designs=("rnn", "lstm"), gating_decay_length=40)


def test_rows_take_medians_intervals_and_the_class_from_the_records():
    rates = {
        p: _rng_rates(-0.3 + 0.1 * i, 8, i) if i < 3 else [0.01] * 8
        for i, p in enumerate(
            [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("lstm", "relu")]
        )
    }
    solved = {p: [10 * (i + 1)] * i + [None] * (8 - i) for i, p in enumerate(rates)}
    rows = G.gating_rows(CFG, _measured(CFG, rates, solved))
    assert [(r["design"], r["activation"]) for r in rows] == list(rates)
    for r in rows:
        rs = rates[(r["design"], r["activation"])]
        assert r["rate"] == pytest.approx(float(np.median(rs)), rel=1e-12)
        est, lo, hi = r["half_life_ci"]
        med = float(np.median(rs))
        assert est == (np.log(2) / -med if med < 0 else math.inf)
        r_est, r_lo, r_hi = r["rate_ci"]
        assert r_lo <= r_est <= r_hi and lo <= est <= hi
        assert (lo, hi) == tuple(np.log(2) / -x if x < 0 else math.inf for x in (r_lo, r_hi))
        assert r["flow"] == classify.classify(r["rate"])
        k = sum(s is not None for s in solved[(r["design"], r["activation"])])
        assert (r["solved"], r["n"]) == (k, 8)
        assert r["solve_rate_ci"] == list(stats.wilson(k, 8))


def _two_rows(k_lstm, k_rnn, rate_lstm=-0.01, rate_rnn=-0.3):
    cfg = config.preset("tiny", gating_designs=("rnn", "lstm"), gating_activations=("tanh",))
    rates = {
        ("rnn", "tanh"): _rng_rates(rate_rnn, 8, 1),
        ("lstm", "tanh"): _rng_rates(rate_lstm, 8, 2),
    }
    solved = {
        ("rnn", "tanh"): [50] * k_rnn + [None] * (8 - k_rnn),
        ("lstm", "tanh"): [50] * k_lstm + [None] * (8 - k_lstm),
    }
    return cfg, G.gating_rows(cfg, _measured(cfg, rates, solved))


def test_prose_names_a_difference_only_when_the_intervals_separate():
    cfg, rows = _two_rows(8, 0)
    text = gating_page.compare(G.find(rows, "lstm", "tanh"), G.find(rows, "rnn", "tanh"))
    assert "more gradient reaches" in text and "more seeds" in text
    assert "not distinguishable" not in text
    back = gating_page.compare(G.find(rows, "rnn", "tanh"), G.find(rows, "lstm", "tanh"))
    assert "less gradient reaches" in back and "fewer seeds" in back
    # 5/8 and 3/8: Wilson intervals overlap; equal decay rates: bootstrap intervals overlap
    cfg, rows = _two_rows(5, 3, rate_lstm=-0.05, rate_rnn=-0.05)
    a, b = G.find(rows, "lstm", "tanh"), G.find(rows, "rnn", "tanh")
    assert not stats.separated(
        stats.Interval(*a["solve_rate_ci"]), stats.Interval(*b["solve_rate_ci"])
    )
    text = gating_page.compare(a, b)
    assert text.count("not distinguishable at n = 8") == 2
    assert "gradient reaches" not in text and "more seeds" not in text
    bullets = gating_page.findings(cfg, rows)
    assert any(b.startswith("The additive (gated) cell path") for b in bullets)
    assert not any("exponential input gate" in b for b in bullets)  # no slstm was run


def test_differs_is_antisymmetric_and_zero_on_overlap():
    a = {"x": [0.5, 0.4, 0.6]}
    b = {"x": [0.2, 0.1, 0.3]}
    c = {"x": [0.35, 0.25, 0.45]}
    assert G.differs(a, b, "x") == 1 and G.differs(b, a, "x") == -1
    assert G.differs(a, c, "x") == 0 == G.differs(c, b, "x")
    assert G.differs(a, {"x": None}, "x") == 0


def test_lstm_cells_are_the_other_stages_cells_and_are_not_run_twice(monkeypatch, tmp_path):
    cfg = config.preset("tiny", gating_designs=("lstm",), gating_decay_length=60)
    # the decay stage's cell for the same variant and b_f is the gating cell itself
    assert gating.decay_cells(cfg)[0] == stages.decay_cell(cfg, "tanh/tanh", cfg.train_forget_bias)
    tanh_cell = stages.train_cell(cfg, "tanh/tanh", cfg.gating_length)
    assert gating.train_cells(cfg) == [
        tanh_cell,
        stages.train_cell(cfg, "relu/tanh", cfg.gating_length),
    ]
    asked = []

    def fake_run(cells, seeds, run_cell, out, desc="", workers=1):
        asked.extend((out.name, sweep.cell_key(c)) for c in cells)
        return [{"config": dict(c), "seeds": list(seeds), "result": {}} for c in cells]

    monkeypatch.setattr(sweep, "run", fake_run)
    seeds = list(range(cfg.train_seeds))
    main = [{"config": tanh_cell, "seeds": seeds, "result": {"main": True}}]
    dmain = [
        {"config": gating.decay_cells(cfg)[1], "seeds": list(range(cfg.decay_seeds)), "result": {}}
    ]
    got = gating.run_gating(cfg, tmp_path, dmain, main)
    assert got["reused"] == {"decay": 1, "train": 1}
    assert got["train"][0] is main[0]  # the training stage's own record, not a rerun
    assert ("gating_train", sweep.cell_key(tanh_cell)) not in asked
    assert [n for n, _ in asked].count("gating_train") == 1
    assert [n for n, _ in asked].count("gating_decay") == 1
    assert len(set(asked)) == len(asked)


def test_every_design_has_decay_cells_with_its_options():
    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    cells = gating.decay_cells(cfg)
    assert len(cells) == 2 * len(gating.DESIGNS)
    irnn = cells[2 * [d.name for d in gating.DESIGNS].index("irnn") + 1]
    assert (irnn["cell"], irnn["initializer"], irnn["candidate"]) == ("rnn", "identity", "relu")
    gru = cells[2 * [d.name for d in gating.DESIGNS].index("gru")]
    assert gru["update_bias"] == cfg.train_forget_bias
    with pytest.raises(ValueError, match="valid: rnn, irnn"):
        gating.design("transformer")


def test_only_the_lstm_cells_take_flow_snapshots():
    # the section reads none; an LSTM cell keeps the training stage's count to be its cell
    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    got = {(c.get("cell", "lstm"), c["snapshots"]) for c in gating.train_cells(cfg)}
    assert cfg.train_snapshots > 0
    assert got == {
        ("lstm", cfg.train_snapshots),
        *((d.cell, 0) for d in gating.DESIGNS if d.cell != "lstm"),
    }


def test_figure_is_written_and_the_section_shows_it(tmp_path):
    rates = {
        p: _rng_rates(-0.2, 3, i)
        for i, p in enumerate(
            [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("lstm", "relu")]
        )
    }
    solved = {p: [None] * 3 for p in rates}
    m = _measured(CFG, rates, solved)
    rows = G.gating_rows(CFG, m)
    figs = gating_plots.write_gating_figure(CFG, tmp_path, rows, m["decay"])
    for ext in ("png", "svg", "config.json"):
        assert (tmp_path / f"gating_decay.{ext}").stat().st_size > 0
    sec = gating_page.gating_section(
        CFG, {"rows": rows, "reused": m["reused"], "seconds": 1.5}, figs
    )
    shown = [b["png"] for b in sec["blocks"] if b["kind"] == "figure"]
    assert shown == ["gating_decay.png"]
    table = next(b for b in sec["blocks"] if b["kind"] == "table")
    assert len(table["rows"]) == len(rows)
    assert all(r[-3] == "0/3 [0.00, 0.56]" for r in table["rows"])


def test_the_sections_commands_make_the_sections_cells():
    import shlex

    from analysis.cli.app import build_parser
    from analysis.cli.commands import decay_cmd, train_cmd
    from analysis.cli.commands.train_fields import base_record, compare_fields
    from analysis.experiments.train import TrainConfig

    cfg = config.preset("tiny", gating_designs=tuple(d.name for d in gating.DESIGNS))
    sec = gating_page.gating_section(cfg, {"rows": [], "reused": {}}, [])
    lines = next(b for b in sec["blocks"] if b["kind"] == "code")["lines"]
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
    assert made == [TrainConfig.from_dict(c).to_dict() for c in gating.train_cells(cfg)]


def test_findings_cover_each_design_choice_when_its_designs_ran():
    cfg = config.preset("tiny", gating_designs=("rnn", "gru", "lstm", "lstm-noout", "slstm"))
    pairs = [(d, a) for d in cfg.gating_designs for a in cfg.gating_activations]
    rates = {p: _rng_rates(-0.05 * (i + 1), 8, i) for i, p in enumerate(pairs)}
    solved = {p: [20] * (i % 9) + [None] * (8 - i % 9) for i, p in enumerate(pairs)}
    m = _measured(cfg, rates, solved)
    m["decay"][-1]["result"]["exploded_reasons"][0] = "non-finite gradient"
    rows = G.gating_rows(cfg, m)
    bullets = gating_page.findings(cfg, rows)
    heads = [b.split(":")[0] for b in bullets]
    assert heads == [
        "The additive (gated) cell path, same orthogonal init and same activation",
        "The output squash (tanh on c) against none (lstm-noout)",
        "The gate range, read from the swap (only slstm changes a gate's range, in the next "
        "bullet), tanh -> ReLU in each design's candidate (the recurrent activation of rnn and "
        "irnn)",
        "The exponential input gate with its stabiliser (slstm against lstm)",
    ]
    assert "Non-finite gradient or state in slstm (relu)" in bullets[-1]
    assert "not an ablation" not in bullets[1]  # lstm-noout is the ablation itself
    assert G.find(rows, "slstm", "relu")["flow"] == "exploding"


def _main_decay_record(rates):
    """`_decay_record` with the fields the decay stage's rows also read."""
    rec = _decay_record(50, rates)
    rec["config"].update(candidate="relu", output="tanh", forget_bias=1.0)
    rate = stats.median(rates)
    rec["result"]["fit"]["h"].update(rate=rate, half_life=math.log(2) / -rate, r2=0.99)
    rec["result"]["fit"]["c"] = {"rate": rate}
    rec["result"]["lyapunov"] = {"largest": rate}
    rec["result"]["telemetry"].update(forget_mean=0.7, saturated_fraction=0.0)
    return rec


def test_a_cell_reads_the_same_half_life_in_the_decay_table_its_prose_and_this_section():
    # 8 seeds: the median of per-seed half-lives (mean of the middle two) is not ln 2 / -median
    # rate; every section must print the latter, so a reused LSTM cell shows one number
    rates = [-0.30, -0.20, -0.16, -0.15, -0.12, -0.11, -0.09, -0.05]
    rec = _main_decay_record(rates)
    rate = stats.median(rates)
    (main,) = rows.decay_rows([rec])
    part = G.decay_part(rec)
    per_seed_median = stats.median([math.log(2) / -r for r in rates])
    assert main["half_life_ci"][0] == pytest.approx(math.log(2) / -rate)
    assert main["half_life_ci"][0] != pytest.approx(per_seed_median, rel=1e-3)
    assert main["half_life_ci"] == pytest.approx(part["half_life_ci"])
    assert f"half-life {stats.fmt(main['half_life_ci'][0])} steps" in main["flow_text"]


def test_a_non_finite_class_says_how_many_seeds_made_it():
    rec = _main_decay_record([-0.1] * 8)
    rec["result"]["exploded_reasons"] = [None] * 6 + ["non-finite gradient"] * 2
    (row,) = rows.decay_rows([rec])
    assert row["flow"] == "exploding" and row["non_finite_seeds"] == 2
    assert row["flow_text"] == "exploding (non-finite in 2/8 seeds)"
