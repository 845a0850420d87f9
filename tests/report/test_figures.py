"""`analysis.plot` draws what it is given, one colour per variant everywhere, without touching
matplotlib's global state; `figures.write_figures` returns the same `Figure`s in page order
whether the jobs are drawn here or by the pool's workers."""

import math
import pickle
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from analysis import plot
from analysis.report import config, figures, summarise
from analysis.report.model import Figure
from analysis.runtime import pool

VARIANTS = (
    "tanh/tanh",
    "relu/tanh",
    "tanh/relu",
    "relu/relu",
    "hard_tanh/hard_tanh",
    "leaky_relu/leaky_relu",
    "sigmoid/tanh",
    "identity/tanh",
    "tanh/identity",
)


# ----------------------------------------------------------------------------- records


def decay_record(variant, rate, fb=1.0, length=30, seeds=3, non_finite_at=None, sat=0.0):
    """A stored decay record whose seeds decay at `rate` per step back (plus a small shift)."""
    cand, out = variant.split("/")
    t = np.arange(length)
    log_h = [list(rate * (length - 1 - t) + 0.1 * s) for s in range(seeds)]
    if non_finite_at is not None:  # seed 0 goes non-finite from that step back on
        for j in range(non_finite_at, length):
            log_h[0][length - 1 - j] = "nan"
    curves = {
        "c_max": [[1.0 + 0.01 * i for i in range(length)]] * seeds,
        "forget_mean": [[0.7] * length] * seeds,
        "saturated_fraction": [[sat] * length] * seeds,
    }
    return {
        "config": {"cell": {"name": "lstm", "candidate": cand, "output": out, "forget_bias": fb}},
        "result": {
            "norms": {"log_h": log_h},
            "fit": {"h": {"rate": rate, "half_life": math.log(2) / -rate}},
            "exploded_reasons": [None] * seeds,
            "telemetry": {"c_max": 1.3, "curves": curves},
        },
    }


def snapshot(step, length, rate):
    return {
        "step": step,
        "log_h": [rate * (length - 1 - i) for i in range(length)],
        "rate": rate,
        "half_life": math.log(2) / -rate,
        "lyapunov_max": rate,
        "max_abs_c": 1.0,
    }


def train_record(variant, length=20, losses=(1.0, 0.3, 0.1), diverged_at=None, seeds=2):
    cand, out = variant.split("/")
    per = []
    for s in range(seeds):
        loss = [float(x) * (1 + 0.05 * s) for x in losses]
        per.append(
            {
                "test_steps": [10 * i for i in range(len(loss))],
                "test_loss": [x if math.isfinite(x) else str(x) for x in loss],
                "grad_norm": [1.0, 0.5, 0.25],
                "diverged_at": diverged_at,
                "solved_step": 20 if loss[-1] < 0.01 else None,
                "final_test_loss": loss[-1],
                "flow_snapshots": [snapshot(st, length, -0.1 - 0.01 * s) for st in (0, 20)],
            }
        )
    return {
        "config": {"candidate": cand, "output": out, "length": length, "steps": 40, "lr": 0.01},
        "result": {
            "baseline": 1 / 6,
            "task": {"name": "adding", "T": length},
            "per_seed": per,
            "wall_s": 1.0,
        },
    }


def line_colours(ax):
    return {line.get_label().split(" ")[0].rstrip(":"): line.get_color() for line in ax.lines}


# ----------------------------------------------------------------------------- plot.decay


def test_decay_draws_log10_of_the_norms_it_is_given():
    log_h = np.log(np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0]))  # time order: t = 0 .. T-1
    ax = plot.decay(log_h, label="mine")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.0, -1.0, -2.0, -3.0, -4.0])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(5))  # steps back from T
    assert line.get_label().startswith("mine: vanishing (half-life ")
    # an object with .log_h (what gradients.per_step_grad_norms returns) draws the same
    ax2 = plot.decay(SimpleNamespace(log_h=log_h))
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), line.get_ydata())


def test_decay_of_records_one_curve_each_median_over_seeds():
    recs = [decay_record("tanh/tanh", -0.1), decay_record("relu/tanh", -0.3)]
    ax = plot.decay(recs)
    curves = [ln for ln in ax.get_lines() if ln.get_label().startswith(("tanh/", "relu/"))]
    assert [c.get_label().split(":")[0] for c in curves] == ["tanh/tanh", "relu/tanh"]
    # median of three seeds shifted by 0, 0.1, 0.2 in ln: the middle one
    expect = (-0.1 * np.arange(30) + 0.1) / math.log(10)
    np.testing.assert_allclose(curves[0].get_ydata(), expect)
    assert "vanishing" in curves[0].get_label()


def test_decay_marks_a_non_finite_seed_without_stretching_the_axis():
    rec = decay_record("relu/relu", -0.1, non_finite_at=12)
    ax = plot.decay([rec, decay_record("tanh/tanh", -0.1)])
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [12]
    assert marks[0].get_color() == plot.colour("relu/relu")
    # one seed blown up to 1e30 leaves the median's range on the axis, marked by a triangle
    big = decay_record("tanh/relu", -0.1)
    big["result"]["norms"]["log_h"][0] = [69.0 * 2] * 30  # ln(1e60)
    ax = plot.decay([big, decay_record("tanh/tanh", -0.1)])
    assert ax.get_ylim()[1] < 5
    assert any(ln.get_marker() == "^" for ln in ax.get_lines())


# ----------------------------------------------------------------------------- colours


def test_one_distinct_colour_per_known_variant():
    colours = [plot.colour(v) for v in VARIANTS]
    assert len(set(colours)) == len(VARIANTS)
    designs = [plot.colour(d) for d in ("rnn", "irnn", "gru", "lstm", "slstm", "lstm-noout")]
    assert len(set(designs)) == len(designs)
    # an unknown name: a palette colour, the same in another process (no hash seed)
    code = "from analysis import plot; print(plot.colour('my/own'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.stdout.strip() == plot.colour("my/own") in plot.PALETTE


def test_a_variant_has_the_same_colour_in_every_figure():
    dec = [decay_record(v, -0.1 * (i + 1)) for i, v in enumerate(VARIANTS[:4])]
    trn = [train_record(v) for v in VARIANTS[:4]]
    seen = {
        "decay": line_colours(plot.decay(dec)),
        "telemetry": line_colours(plot.telemetry(dec).axes[0]),
        "test_loss": line_colours(plot.test_loss(trn)),
        "half_life": line_colours(plot.flow_half_life(summarise.flow_rows(trn))),
    }
    for v in VARIANTS[:4]:
        assert {fig: c[v] for fig, c in seen.items()} == dict.fromkeys(seen, plot.colour(v)), v


# ----------------------------------------------------------------------------- training


def test_a_diverged_run_does_not_stretch_the_test_loss_axis():
    good = train_record("tanh/tanh", losses=(0.5, 0.2, 0.05))
    bad = train_record("relu/relu", losses=(0.5, 1e30, math.nan), diverged_at=15)
    ax = plot.test_loss([good, bad])
    low, high = ax.get_ylim()
    assert high <= 10 * (1 / 6) * 1.5  # at most a little above 10x the baseline
    assert low <= 0.05 * 1.05  # the good run's lowest loss is on the axis
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert marks and {m.get_color() for m in marks} == {plot.colour("relu/relu")}
    assert {float(m.get_xdata()[0]) for m in marks} == {10.0}  # where it left the axis
    # without the diverged run the axis is the same: it never stretched for it
    assert plot.test_loss([good]).get_ylim()[0] == pytest.approx(low)


def test_telemetry_leaves_out_a_panel_that_is_flat():
    flat = plot.telemetry([decay_record("tanh/tanh", -0.1)])  # forget 0.7, saturated 0
    assert len(flat.axes) == 1 and flat.axes[0].get_yscale() == "log"  # max |c_t|
    rec = decay_record("relu/relu", -0.1)
    rec["result"]["telemetry"]["curves"]["saturated_fraction"] = [[0.0] * 15 + [0.3] * 15] * 3
    two = plot.telemetry([rec, decay_record("tanh/tanh", -0.1, sat=0.2)])
    assert [ax.get_ylabel() for ax in two.axes] == [
        "max |c_t| over batch × hidden",
        "share of gates outside [0.01, 0.99]",
    ]


def test_lengths_draws_a_solve_rate_per_length():
    recs = [
        train_record("tanh/tanh", length=t, losses=(1.0, 0.001 if t < 40 else 0.2))
        for t in (10, 20, 40)
    ]
    rows = summarise.training_rows(recs)
    ax = plot.lengths(summarise.length_rows(rows, ["tanh/tanh"], [10, 20, 40]))
    line = ax.get_lines()[0]  # the rest: error bar caps
    np.testing.assert_allclose(line.get_ydata(), [1.0, 1.0, 0.0])
    assert ax.get_xscale() == "log"


# ----------------------------------------------------------------------------- activations


def test_activation_draws_f_and_two_derivatives():
    import kernels

    ax = plot.activation(kernels.get("tanh"))
    lines = ax.get_lines()[:3]
    assert [ln.get_label() for ln in lines] == ["f", "f'", "f''"]
    z = lines[0].get_xdata()
    np.testing.assert_allclose(lines[0].get_ydata(), np.tanh(z), atol=1e-12)
    np.testing.assert_allclose(lines[1].get_ydata(), 1 - np.tanh(z) ** 2, atol=1e-12)
    # relu: its kink breaks f' (no vertical stroke) and is marked
    relu = plot.activation("relu")
    d1 = relu.get_lines()[1]
    assert np.isnan(d1.get_ydata()[np.searchsorted(np.nan_to_num(d1.get_xdata()), 0.0)])
    assert len(relu.get_lines()) > 3


def test_gallery_is_one_compact_grid():
    import kernels

    fig = plot.gallery()
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(shown) == len(kernels.names())
    rows = {round(ax.get_position().y0, 3) for ax in shown}
    # five a row, no row wasted (other tests in this process may have registered kernels)
    assert len(rows) == -(-len(shown) // 5)


# ----------------------------------------------------------------------------- global state


def test_importing_and_drawing_changes_nothing_global():
    code = """
import sys, matplotlib
def raw():  # the stored values: reading "backend" through rcParams[...] would resolve it
    return {k: dict.__getitem__(matplotlib.rcParams, k) for k in dict.keys(matplotlib.rcParams)}
before = raw()
backend = matplotlib.rcParams._get_backend_or_none()
import numpy as np
from analysis import plot
ax = plot.decay(np.log(np.linspace(1, 2, 10)))
plot.gallery(["relu"])
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert matplotlib.rcParams._get_backend_or_none() == backend, "backend changed"
assert raw() == before, "rcParams changed"
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]


# ----------------------------------------------------------------------------- write_figures


def _fake_draw(kind):
    def draw(cfg, out, *args):
        if kind == "gallery":
            return [("gallery", "gallery", {"kernels": list(args[0])})]
        if kind == "decay":
            fb = args[0]
            return [
                (f"decay_bf{fb:g}", "decay", {"forget_bias": fb}),
                (f"telemetry_bf{fb:g}", "telemetry", {"forget_bias": fb}),
            ]
        if kind == "training":
            return [("train", "train", {"T": cfg.train_length}), ("lengths", "lengths", {})]
        if kind == "flow":
            return [("flow_heatmap", "flow_heatmap", {}), ("flow_half_life", "flow_half_life", {})]
        return [("gating_decay", "gating_decay", {})]

    return draw


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(figures, "_DRAW", {k: _fake_draw(k) for k in figures._DRAW})
    cfg = config.preset("tiny")
    decay = [
        {"config": {"forget_bias": fb, "candidate": "tanh", "output": "tanh"}}
        for fb in cfg.forget_biases
    ]
    train = [{"config": {"length": cfg.train_length}}]
    gating = ([("lstm", "relu")], [{"config": {}}])
    return cfg, decay, train, gating


def _reversed_pool(todo, seeds, run_cell, processes, finish, advance):
    for key in reversed(list(todo)):
        # what a worker gets: pool.run_cells pickles (run_cell, dict(config), seeds)
        fn, cell, got_seeds = pickle.loads(pickle.dumps((run_cell, dict(todo[key]), list(seeds))))
        finish(todo[key], key, pickle.loads(pickle.dumps(fn(cell, got_seeds))))
        advance()


def test_pool_gives_the_same_figures_in_page_order(stubbed, monkeypatch, tmp_path):
    cfg, decay, train, gating = stubbed
    monkeypatch.setattr(pool, "usable", lambda *a: False)
    here = figures.write_figures(cfg, Path(tmp_path), decay, train, gating)
    handed_out = []

    def record(todo, *rest):
        handed_out.extend(todo)
        _reversed_pool(todo, *rest)

    monkeypatch.setattr(pool, "usable", lambda *a: True)
    monkeypatch.setattr(pool, "run_cells", record)
    drawn = figures.write_figures(cfg, Path(tmp_path), decay, train, gating)
    assert drawn == here
    assert all(isinstance(f, Figure) for f in drawn)
    fbs = [float(fb) for fb in cfg.forget_biases]
    assert drawn == (
        Figure("gallery", "gallery", {"kernels": list(cfg.gallery_kernels)}),
        *(Figure(f"decay_bf{fb:g}", "decay", {"forget_bias": fb}) for fb in fbs),
        *(Figure(f"telemetry_bf{fb:g}", "telemetry", {"forget_bias": fb}) for fb in fbs),
        Figure("train", "train", {"T": cfg.train_length}),
        Figure("lengths", "lengths", {}),
        Figure("flow_heatmap", "flow_heatmap", {}),
        Figure("flow_half_life", "flow_half_life", {}),
        Figure("gating_decay", "gating_decay", {}),
    )
    # the workers get the longest jobs first
    assert handed_out[: len(fbs)] == [f"decay_bf{fb:g}" for fb in fbs]


def test_a_job_without_records_is_not_drawn(stubbed, monkeypatch, tmp_path):
    cfg, decay, _, _ = stubbed
    monkeypatch.setattr(pool, "usable", lambda *a: False)
    figs = figures.write_figures(cfg, Path(tmp_path), decay[:1], [])
    assert [f.kind for f in figs] == ["gallery", "decay", "telemetry"]
    assert figs[1].params == {"forget_bias": float(cfg.forget_biases[0])}


def test_write_figures_draws_every_kind(monkeypatch, tmp_path):
    monkeypatch.setattr(pool, "usable", lambda *a: False)
    cfg = config.preset("tiny")
    fb = float(cfg.forget_biases[0])
    main = cfg.train_length
    decay = [decay_record(v, -0.2, fb) for v in ("tanh/tanh", "relu/relu")]
    train = [train_record("tanh/tanh", t) for t in (main, 2 * main)]
    gating = (
        [("irnn", "relu"), ("lstm", "relu")],
        [decay_record("tanh/tanh", -0.05), decay_record("relu/relu", -0.3)],
    )
    figs = figures.write_figures(cfg, tmp_path, decay, train, gating)
    assert [f.kind for f in figs] == [
        "gallery", "decay", "telemetry", "train", "lengths", "flow_heatmap", "flow_half_life",
        "gating_decay",
    ]  # fmt: skip
    for f in figs:
        for ext in ("png", "svg"):
            assert (tmp_path / f"{f.stem}.{ext}").stat().st_size > 1000, (f.stem, ext)


def test_init_vs_training_draws_one_point_per_cell_at_its_half_life_and_solve_rate():
    from types import SimpleNamespace as NS

    pts = [
        ("tanh/tanh", NS(value=24.8, low=21.5, high=27.2), NS(k=5, n=8, low=0.31, high=0.86)),
        ("relu/tanh", NS(value=4.9, low=4.1, high=5.6), NS(k=5, n=8, low=0.31, high=0.86)),
        ("irnn (relu)", NS(value=171.0, low=44.0, high=math.inf), NS(k=0, n=8, low=0, high=0.32)),
    ]
    ax = plot.init_vs_training(pts)
    points = [ln for ln in ax.get_lines() if ln.get_marker() in ("o", "s")]
    xy = [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in points]
    assert xy == [(24.8, 0.625), (4.9, 0.625), (171.0, 0.0)]
    assert points[0].get_color() == plot.colour("tanh/tanh")
    assert points[2].get_color() == plot.colour("irnn") and points[2].get_mfc() == "none"
    assert ax.get_xscale() == "log"
