"""Plots in one call, for your own model's results as for the report's.

Every function takes data (arrays, or the records that ``actgrad decay`` / ``actgrad train``
store in results.jsonl) and returns the matplotlib ``Axes`` it drew on (or a ``Figure`` for a
multi-panel plot). Pass ``ax=`` to draw into your own figure; without it a new
``matplotlib.figure.Figure`` is made directly, not through pyplot, so nothing global changes
(no backend switch, no rcParams, no open-figure list) and nothing is ever shown. Write a
figure with ``ax.figure.savefig(...)``.

One colour per variant, the same in every figure: `colour`. Example::

    >>> import numpy as np
    >>> from analysis import plot
    >>> ax = plot.decay(np.log(0.9) * np.arange(50)[::-1], label="f = 0.9")
    >>> ax.figure.savefig("/tmp/decay.png")

Figure kinds: `decay`, `telemetry`, `test_loss`, `grad_norm`, `lengths`, `flow_heatmap`,
`flow_half_life`, `gating_decay`, `activation`, `gallery`.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "PALETTE",
    "activation",
    "colour",
    "decay",
    "flow_half_life",
    "flow_heatmap",
    "gallery",
    "gating_decay",
    "grad_norm",
    "init_vs_training",
    "lengths",
    "linestyle",
    "lyapunov_spectra",
    "telemetry",
    "test_loss",
]

# Okabe & Ito (2008) without its yellow (unreadable on white), then Tol's "muted" wine and
# olive: all told apart under the common colour-vision deficiencies.
PALETTE = (
    "#000000",
    "#D55E00",
    "#0072B2",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#882255",
    "#999933",
)
_STYLES = ("-", "--", "-.", ":")

# Fixed, so a variant keeps its colour whichever subset a figure shows. The report's LSTM
# variants ("candidate/output", `analysis.report.variants`) and, separately, the "Why
# gating?" cell designs (never in the same figure as the variants).
_FIXED = {
    "tanh/tanh": 0,
    "relu/tanh": 1,
    "tanh/relu": 2,
    "relu/relu": 3,
    "hard_tanh/hard_tanh": 4,
    "leaky_relu/leaky_relu": 5,
    "sigmoid/tanh": 6,
    "identity/tanh": 7,
    "tanh/identity": 8,
    "hard_tanh/tanh": 4,
    "leaky_relu/tanh": 5,
    "lstm": 0,
    "rnn": 1,
    "irnn": 2,
    "gru": 3,
    "slstm": 4,
    "lstm-noout": 5,
}

_LN10 = math.log(10.0)
_MAX_POINTS = 500  # long sequences are thinned to about this many drawn points
_STEPS_BACK = "steps back from the last step T  (s = T - t)"


def _index(name: str) -> int:
    if name in _FIXED:
        return _FIXED[name]
    # crc32, not hash(): the same colour in every process and every run
    return zlib.crc32(name.encode()) % len(PALETTE)


def colour(variant: str) -> str:
    """The colour of a variant, the same in every figure.

    Args:
        variant: a name, e.g. "relu/tanh" (candidate/output) or a cell design "gru"; the
            report's variants and designs have fixed, distinct colours, any other name a
            stable one from the same palette.

    Returns:
        a hex colour from `PALETTE` (Okabe-Ito, colour-blind safe).

    Example::

        >>> from analysis import plot
        >>> plot.colour("tanh/tanh"), plot.colour("relu/tanh")
        ('#000000', '#D55E00')
    """
    return PALETTE[_index(variant)]


def linestyle(variant: str) -> str:
    """The line style of a variant (fixed like `colour`), so coinciding curves stay visible.

    Args:
        variant: as `colour`.

    Returns:
        a matplotlib line style.
    """
    return _STYLES[_index(variant) % len(_STYLES)]


# ---------------------------------------------------------------------------- helpers


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    """`ax`, or the one Axes of a new Figure (not registered with pyplot)."""
    if ax is not None:
        return ax
    return _figure(figsize).add_subplot()


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for savefig and tight boxes, without pyplot
    return fig


def _top_edge(ax: Any) -> Any:
    """Transform: x in data, y in axes coordinates (1 = the top edge)."""
    return ax.get_xaxis_transform()


def _floats(values: Any) -> np.ndarray:
    # results.jsonl stores non-finite numbers as the strings "nan", "inf", "-inf"
    return np.asarray([float(v) for v in values], np.float64)


def _matrix(rows: Any) -> np.ndarray:
    """(S, T) float64 from stored rows (strings converted; shorter rows padded with NaN)."""
    a = np.asarray(rows, dtype=object) if not isinstance(rows, np.ndarray) else rows
    if a.ndim == 1 and (a.size == 0 or np.ndim(a[0]) == 0):
        rows = [rows]  # one curve
    out = [_floats(r) for r in rows]
    width = max((r.size for r in out), default=0)
    return np.asarray([np.pad(r, (0, width - r.size), constant_values=np.nan) for r in out])


def _band(rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, median, min, max) over rows of possibly different lengths; non-finite ignored."""
    from analysis.util import stats

    return stats.band(rows)


def _thin(x: np.ndarray, med: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Long curves: every k-th point of the median and each stretch's band extremes, so SVGs
    stay small at T = 10^4 and the band still shows every seed's extremes."""
    k = max(1, -(-x.size // _MAX_POINTS))
    if k == 1:
        return x, med, lo, hi
    n = x.size // k * k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN stretch stays a gap
        lo_k = np.nanmin(lo[:n].reshape(-1, k), axis=1)
        hi_k = np.nanmax(hi[:n].reshape(-1, k), axis=1)
    return x[:n:k], med[:n:k], lo_k, hi_k


def _draw_band(ax: Any, x: Any, med: Any, lo: Any, hi: Any, name: str, label: str, n: int) -> None:
    x, med, lo, hi = _thin(np.asarray(x, float), med, lo, hi)
    ax.plot(x, med, color=colour(name), ls=linestyle(name), lw=1.8, label=label)
    if n > 1:
        ax.fill_between(x, lo, hi, color=colour(name), alpha=0.18, lw=0)


def _record_label(config: Mapping[str, Any]) -> str:
    """ "candidate/output" of an LSTM config, else the cell's name."""
    from analysis.cells import flat_config

    config = flat_config(config)
    if config.get("cell", "lstm") == "lstm" and "output" in config and "candidate" in config:
        return f"{config['candidate']}/{config['output']}"
    return str(config.get("design") or config.get("cell", "cell"))


def _labels(records: Sequence[Mapping], label: Any) -> list[str]:
    if label is None:
        return [_record_label(r.get("config", {})) for r in records]
    if isinstance(label, str):
        return [label] * len(records)
    return [str(x) for x in label]


# ---------------------------------------------------------------------------- decay


def _log10_h(item: Any) -> tuple[np.ndarray, Mapping | None]:
    """(S, T) log10 ||dL/dh_t|| in time order, and the record (None for bare norms)."""
    if isinstance(item, Mapping):
        norms = item["result"]["norms"]
        if "log_h" in norms:
            return _matrix(norms["log_h"]) / _LN10, item
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(_matrix(norms["h"])), item  # float32 zeros (underflow) -> gaps
    log_h = getattr(item, "log_h", item)
    return np.atleast_2d(np.asarray(log_h, np.float64)) / _LN10, None


def _decay_items(data: Any) -> list[Any]:
    if hasattr(data, "log_h") or isinstance(data, Mapping):
        return [data]
    if isinstance(data, Sequence) and data and isinstance(data[0], Mapping):
        return list(data)
    return [data]


def _describe(record: Mapping, curves: np.ndarray) -> str:
    """The record's gradient-flow class, as `analysis.flow.classify.describe` words it."""
    from analysis.flow import classify

    res = record["result"]
    fit = res.get("fit", {}).get("h")
    if not fit:
        return ""
    finite = not any("non-finite" in (r or "") for r in res.get("exploded_reasons", []))
    tele = res.get("telemetry", {})
    unbounded = not float(tele.get("c_max", tele.get("h_max", 0.0))) <= curves.shape[1]
    return classify.describe(float(fit["rate"]), float(fit["half_life"]), finite, unbounded)


def _decay_limits(medians: Sequence[np.ndarray]) -> tuple[float, float]:
    """The y range of the medians with a margin: the min-max bands may leave it."""
    v = np.concatenate([np.ravel(m) for m in medians]) if medians else np.zeros(0)
    v = v[np.isfinite(v)]
    if not v.size:
        return -1.0, 1.0
    pad = max(0.5, 0.15 * float(v.max() - v.min()))
    return float(v.min()) - pad, float(v.max()) + pad


def decay(norms_or_results: Any, ax: Any = None, label: Any = None) -> Any:
    """log10 ||dL/dh_t|| against steps back from the last step T.

    Args:
        norms_or_results: one of
            * an object with ``.log_h`` (natural-log norms in time order, shape (T,) or (S, T)),
              e.g. ``analysis.gradients.per_step_grad_norms(...)``;
            * an array of natural-log norms in time order, (T,) or (S, T) for S seeds;
            * a stored decay record (a results.jsonl line of ``actgrad decay``) or a list of
              them: one curve per record, the median over its seeds with a min-max band, the
              legend giving its gradient-flow class.
            Several seeds draw the median and a min-max band. The y axis spans the medians:
            a seed whose norm goes non-finite (x) or above the axis (triangle) is marked at
            the top edge, at the first step back where it does, instead of stretching it.
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: the legend label (one curve), or one label per record; records default to
            their variant ("candidate/output") and colour by label (`colour`).

    Returns:
        the Axes.

    Example::

        >>> import numpy as np
        >>> from analysis import plot
        >>> log_h = np.log(0.9) * np.arange(100)[::-1]  # decays by 0.9 per step back
        >>> ax = plot.decay(log_h, label="f = 0.9")
        >>> ax.get_lines()[0].get_ydata()[:3].round(3)
        array([ 0.   , -0.046, -0.092])
    """
    ax = _axes(ax, (7.5, 4.6))
    items = _decay_items(norms_or_results)
    had = bool(ax.get_lines())
    if isinstance(items[0], Mapping):
        labels: list[Any] = _labels(items, label)
    else:
        labels = [label] * len(items) if label is None or isinstance(label, str) else list(label)
    drawn = []
    for item, name in zip(items, labels, strict=True):
        curves, record = _log10_h(item)
        curves = curves[:, ::-1]  # column j = j steps back from T
        key = name if name is not None else "curve"
        text = name
        if record is not None and name is not None:
            text = f"{name}: {_describe(record, curves)}".rstrip(": ")
        x, med, lo, hi = _band(curves)
        _draw_band(ax, x, med, lo, hi, key, text, curves.shape[0])
        drawn.append((key, curves, med))
    bottom, top = _decay_limits([m for _, _, m in drawn])
    if had:  # drawing into a used Axes: keep what is there in view
        bottom, top = min(bottom, ax.get_ylim()[0]), max(top, ax.get_ylim()[1])
    ax.set_ylim(bottom, top)
    marked = _mark_off_axis(ax, drawn, top)
    ax.set_xlabel(_STEPS_BACK)
    ax.set_ylabel("log10 ‖∂L/∂h_t‖")
    ax.grid(True, alpha=0.3)
    if any(lbl is not None for lbl in labels) or marked:
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    return ax


def _mark_off_axis(ax: Any, drawn: Sequence[tuple[str, np.ndarray, Any]], top: float) -> bool:
    """Mark each seed that leaves the axis (x: non-finite, ▲: above it) at the top edge, at the
    first step back where it does; True if any was marked."""
    marks = {"x": "x: a seed non-finite from here", "^": "▲: a seed above the axis from here"}
    for key, curves, _ in drawn:
        for row in curves:
            # one mark per seed: a single blown-up seed must not flatten every other curve
            for m, out in (("x", ~np.isfinite(row)), ("^", np.isfinite(row) & (row > top))):
                if out.any():
                    ax.plot(
                        [int(np.argmax(out))], [1.0], m, color=colour(key), ms=7, mew=2,
                        clip_on=False, transform=_top_edge(ax), label=marks.pop(m, None),
                    )  # fmt: skip
    return len(marks) < 2


_FLAT = 0.02  # a [0, 1] panel whose medians all lie within this is not drawn


def _flat(medians: Sequence[np.ndarray]) -> bool:
    v = np.concatenate([np.ravel(m) for m in medians]) if medians else np.zeros(0)
    v = v[np.isfinite(v)]
    return not v.size or float(v.max() - v.min()) < _FLAT


def telemetry(records: Sequence[Mapping], label: Any = None) -> Any:
    """The cell along the sequence: max |c_t| (log scale), and the mean forget gate and the
    share of saturated gates where they vary: a [0, 1] panel whose medians (over time and
    records) all lie within 0.02 of each other is left out, as it would show one flat line
    (gates saturated nowhere; the forget gate at sigmoid(b_f) along the whole sequence).

    Args:
        records: stored decay records (``result.telemetry.curves``: (S, T) per key); a cell
            without a c state shows its largest state, one without a forget gate is left out
            of that panel, and a panel no record has is not drawn.
        label: one label per record (default: the variant).

    Returns:
        the Figure, one panel per quantity, median over seeds with a min-max band.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> recs = [json.loads(x) for x in open("out/decay/results.jsonl")]  # doctest: +SKIP
        >>> plot.telemetry(recs).savefig("telemetry.png")  # doctest: +SKIP
    """
    labels = _labels(records, label)
    found = [r["result"]["telemetry"]["curves"] for r in records]
    panels = []
    for key, ylabel, log in (
        ("c_max", "max |c_t| over batch × hidden", True),
        ("forget_mean", "mean forget gate f_t", False),
        ("saturated_fraction", "share of gates outside [0.01, 0.99]", False),
    ):
        series = [
            (f.get(key, f.get("h_max") if key == "c_max" else None), name)
            for f, name in zip(found, labels, strict=True)
        ]
        series = [(_matrix(s), name) for s, name in series if s is not None]
        if not series:
            continue
        if not log and _flat([_band(s)[1] for s, _ in series]):
            continue  # one value everywhere (gates saturated nowhere, the forget gate at
            # sigmoid(b_f) all along): a sentence says it, a flat panel would not
        panels.append((series, ylabel, log))
    fig = _figure((5.0 * max(len(panels), 1), 4.2))
    axes = fig.subplots(1, max(len(panels), 1), sharex=True, squeeze=False)[0]
    for ax, (series, ylabel, log) in zip(axes, panels, strict=False):
        for s, name in series:
            s = np.where(np.isfinite(s) & ((s > 0) if log else True), s, np.nan)
            x, med, lo, hi = _band(s)
            _draw_band(ax, x + 1, med, lo, hi, name, name, s.shape[0])
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time step t")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, loc="best", framealpha=0.85)
    return fig


# ---------------------------------------------------------------------------- training


def _train_items(records: Sequence[Mapping], label: Any) -> list[tuple[str, Mapping]]:
    """(label, result) of stored train records ({"config", "result"}) or of
    ``{"label", "config", **result}`` entries (what ``actgrad train`` keeps)."""
    out = []
    names = None if label is None or isinstance(label, str) else list(label)
    for i, r in enumerate(records):
        res = r["result"] if "result" in r else r
        name = names[i] if names else label if isinstance(label, str) else None
        out.append((name or r.get("label") or _record_label(r["config"]), res))
    return out


def _series_plot(
    ax: Any,
    items: list[tuple[str, Mapping]],
    series_of: Any,
    top: float | None,
) -> None:
    """Median and min-max band per variant; values above `top` or non-finite are marked with
    an x at the top edge at the first step they occur (or where the run diverged)."""
    marked = False
    for name, res in items:
        per = res["per_seed"]
        series = [series_of(s) for s in per]
        longest = max((x for x, _ in series), key=len)
        _, med, lo, hi = _band([y for _, y in series])
        n = len(per)
        what = "1 seed" if n == 1 else f"median of {n} seeds"
        _draw_band(ax, longest, med, lo, hi, name, f"{name} ({what})", n)
        for (x, y), s in zip(series, per, strict=True):
            out = ~np.isfinite(y) | ((y > top) if top is not None else False)
            at = x[int(np.argmax(out))] if out.any() else s.get("diverged_at")
            if at is None:
                continue
            ax.plot(
                [float(at)], [1.0], "x", color=colour(name), ms=8, mew=2, clip_on=False,
                transform=_top_edge(ax),
                label=None if marked else "x: a seed diverged or off the scale",
            )  # fmt: skip
            marked = True


def _finite_range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v) & (v > 0)]
    return (float(v.min()), float(v.max())) if v.size else (1e-3, 1.0)


def test_loss(records: Sequence[Mapping], ax: Any = None, label: Any = None) -> Any:
    """Held-out test loss against training step, median over seeds with a min-max band, and
    each task's baseline (always predicting the target's mean) dashed.

    The y axis (log) spans the finite curves up to 10x the baseline: a variant that blew up
    does not flatten the others; each seed that diverged or left the axis is an x at the top
    edge at the step it did.

    Args:
        records: stored ``actgrad train`` records ({"config", "result"}; result.per_seed[i]
            has test_steps, test_loss (N,), diverged_at) or ``{"label", "config", **result}``.
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: one label per record (default: the variant).

    Returns:
        the Axes.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> recs = [json.loads(x) for x in open("out/train/results.jsonl")]  # doctest: +SKIP
        >>> plot.test_loss(recs).figure.savefig("train.png")  # doctest: +SKIP
    """
    ax = _axes(ax, (7.5, 4.4))
    items = _train_items(records, label)
    baselines = {}
    for _, res in items:
        task = res.get("task", {})
        baselines.setdefault((task.get("name", "task"), task.get("T")), float(res["baseline"]))
    cap = 10 * max(baselines.values()) if baselines else math.inf
    values = [_floats(s["test_loss"]) for _, res in items for s in res["per_seed"]]
    lo, hi = _finite_range([v[v <= cap] for v in values])
    top = max(hi, *baselines.values(), lo) * 1.5 if baselines else hi * 1.5

    def series(s: Mapping) -> tuple[np.ndarray, np.ndarray]:
        return _floats(s["test_steps"]), _floats(s["test_loss"])

    _series_plot(ax, items, series, top)
    for (task, t), base in baselines.items():
        ax.axhline(base, color="0.35", ls="--", lw=1, label=f"baseline {task} T={t}: {base:.3g}")
    ax.set_yscale("log")
    ax.set_ylim(lo / 1.5, top)
    ax.set_xlabel("training step")
    ax.set_ylabel("test loss (MSE, held-out batch)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return ax


def grad_norm(records: Sequence[Mapping], ax: Any = None, label: Any = None) -> Any:
    """Global gradient norm (before clipping) against training step, median over seeds with a
    min-max band; log scale over the finite values, a non-finite seed an x at the top edge.

    Args:
        records: as `test_loss` (result.per_seed[i].grad_norm, (steps,)).
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: one label per record (default: the variant).

    Returns:
        the Axes.

    Example::

        >>> from analysis import plot
        >>> recs = [{"label": "tanh/tanh", "per_seed": [{"grad_norm": [1.0, 0.5, 0.25],
        ...          "diverged_at": None}]}]
        >>> plot.grad_norm(recs).get_ylabel()
        'global gradient norm ‖g‖₂'
    """
    ax = _axes(ax, (7.5, 4.4))
    items = _train_items(records, label)

    def series(s: Mapping) -> tuple[np.ndarray, np.ndarray]:
        y = _floats(s["grad_norm"])
        return np.arange(y.size, dtype=float), y

    _series_plot(ax, items, series, None)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("global gradient norm ‖g‖₂")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return ax


def lengths(rows: Sequence[Any], ax: Any = None) -> Any:
    """Share of seeds that solved the task against the sequence length, with Wilson 95%
    intervals, one line per variant (log2 length axis).

    Args:
        rows: length rows, each with ``variant`` and ``cells`` (each ``T`` and ``row``: None
            where not trained, else ``row.solved`` with ``k``, ``n``, ``low``, ``high``):
            `analysis.report.model.LengthRow`, as `analysis.report.summarise.length_rows`
            makes them from stored ``actgrad train`` records.
        ax: the Axes to draw on; a new Figure's Axes if None.

    Returns:
        the Axes.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> from analysis.report import summarise
        >>> recs = [json.loads(x) for x in open("out/train/results.jsonl")]  # doctest: +SKIP
        >>> rows = summarise.length_rows(summarise.training_rows(recs), ["tanh/tanh"], [50, 100])
        ... # doctest: +SKIP
        >>> plot.lengths(rows).figure.savefig("lengths.png")  # doctest: +SKIP
    """
    ax = _axes(ax, (7.0, 4.2))
    lrows = list(rows)
    ts = sorted({c.T for lr in lrows for c in lr.cells})
    for i, lr in enumerate(lrows):
        cells = [c for c in lr.cells if c.row is not None]
        if not cells:
            continue
        # a small sideways shift per variant, so coinciding error bars stay visible
        t = np.asarray([c.T for c in cells], float) * 2 ** (0.04 * (i - (len(lrows) - 1) / 2))
        rate = np.asarray([c.row.solved.rate for c in cells])
        err = [
            rate - np.asarray([c.row.solved.low for c in cells]),
            np.asarray([c.row.solved.high for c in cells]) - rate,
        ]
        ax.errorbar(
            t, rate, yerr=err, color=colour(lr.variant), ls=linestyle(lr.variant), marker="o",
            capsize=3, label=lr.variant,
        )  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(ts, [str(t) for t in ts])
    ax.minorticks_off()
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("share of seeds that solved it")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


def _snapshot_median(per_seed: Sequence[Mapping], step: int) -> np.ndarray | None:
    """log10 ||dL/dh|| by steps back, median over the seeds' snapshots at `step`."""
    curves = [
        _floats(s["log_h"])[::-1] / _LN10
        for p in per_seed
        for s in p.get("flow_snapshots", [])
        if s["step"] == step
    ]
    if not curves:
        return None
    _, med, _, _ = _band(curves)
    return med


def flow_heatmap(records: Sequence[Mapping], label: Any = None) -> Any:
    """Gradient flow during training: one panel per record, training step (up) against steps
    back from T (right), colour log10 ||dL/dh_t|| (median over seeds, one colour scale for
    every panel; grey: no finite value).

    Args:
        records: stored ``actgrad train`` records whose seeds kept ``flow_snapshots``
            ([{step, log_h (T,) natural logs in time order, ...}]).
        label: one panel title per record (default: the variant).

    Returns:
        the Figure.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> recs = [json.loads(x) for x in open("out/train/results.jsonl")]  # doctest: +SKIP
        >>> plot.flow_heatmap(recs).savefig("flow_heatmap.png")  # doctest: +SKIP
    """
    import matplotlib

    labels = _labels(records, label)
    grids = []
    for rec in records:
        per = rec["result"]["per_seed"]
        steps = sorted({s["step"] for p in per for s in p.get("flow_snapshots", [])})
        rows = [(st, _snapshot_median(per, st)) for st in steps]
        grids.append([(st, g) for st, g in rows if g is not None])
    finite = [g[np.isfinite(g)] for rows in grids for _, g in rows]
    vals = np.concatenate(finite) if finite else np.zeros(1)
    vmin, vmax = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
    n = max(len(records), 1)
    cols = min(n, 3)
    fig = _figure((4.6 * cols, 3.3 * -(-n // cols)))
    axes = fig.subplots(-(-n // cols), cols, squeeze=False)
    for ax in axes.flat[len(records) :]:
        ax.axis("off")
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.75")
    mesh = None
    for ax, rows, name in zip(axes.flat, grids, labels, strict=False):
        ax.set_title(name, fontsize=10)
        if not rows:
            ax.text(0.5, 0.5, "no snapshot", ha="center", transform=ax.transAxes)
            continue
        img = np.stack([g for _, g in rows])
        mesh = ax.imshow(
            np.ma.masked_invalid(img), aspect="auto", origin="lower", cmap=cmap,
            vmin=vmin, vmax=vmax, extent=(0, img.shape[1], -0.5, len(rows) - 0.5),
        )  # fmt: skip
        ticks = np.linspace(0, len(rows) - 1, min(5, len(rows))).round().astype(int)
        ax.set_yticks(ticks, [str(rows[i][0]) for i in ticks])
        ax.set_xlabel("steps back from T")
        ax.set_ylabel("training step")
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="log10 ‖∂L/∂h_t‖", shrink=0.9)
    return fig


def flow_half_life(rows: Sequence[Any], ax: Any = None) -> Any:
    """Half-life of ||dL/dh_t|| against training step, one line per record (median over seeds,
    band: the bootstrap 95% interval, as `analysis.report.summarise.flow_rows` computes it);
    a growing gradient (infinite half-life) is a triangle at the top edge; dotted: each
    record's sequence length T. Log y axis.

    Args:
        rows: flow rows, each with ``variant``, ``T``, ``steps`` and ``half_life`` (one
            estimate per step: ``value``, ``low``, ``high``): `analysis.report.model.FlowRow`,
            as `analysis.report.summarise.flow_rows` makes them from stored records.
        ax: the Axes to draw on; a new Figure's Axes if None.

    Returns:
        the Axes.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> from analysis.report import summarise
        >>> recs = [json.loads(x) for x in open("out/train/results.jsonl")]  # doctest: +SKIP
        >>> plot.flow_half_life(summarise.flow_rows(recs)).figure.savefig("hl.png")
        ... # doctest: +SKIP
    """
    ax = _axes(ax, (7.5, 4.4))
    rows = list(rows)
    top = max(
        [1.0, *(r.T for r in rows)]
        + [h.value for r in rows for h in r.half_life if math.isfinite(h.value)]
    )
    growing = False
    for r in rows:
        x = np.asarray(r.steps, float)
        hl = np.asarray([h.value for h in r.half_life], float)
        lo = np.asarray([h.low for h in r.half_life], float)
        hi = np.asarray([h.high for h in r.half_life], float)
        c = colour(r.variant)
        ax.plot(
            x, np.where(np.isfinite(hl), hl, np.nan), color=c, ls=linestyle(r.variant), lw=1.8,
            marker="o", ms=3, label=f"{r.variant} (T={r.T})",
        )  # fmt: skip
        ax.fill_between(x, np.minimum(lo, 2 * top), np.minimum(hi, 2 * top), color=c, alpha=0.15)
        inf = ~np.isfinite(hl)
        if inf.any():
            ax.plot(
                x[inf], np.ones(int(inf.sum())), "^", color=c, ms=7, clip_on=False,
                transform=_top_edge(ax),
                label=None if growing else "▲: growing (infinite half-life)",
            )  # fmt: skip
            growing = True
        ax.axhline(r.T, color=c, ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(top=2 * top)
    ax.set_xlabel("training step")
    ax.set_ylabel("half-life of ‖∂L/∂h_t‖ (steps)")
    ax.grid(True, which="both", alpha=0.3)
    if rows:
        ax.legend(fontsize=7, loc="best")
    return ax


# ---------------------------------------------------------------------------- gating


def gating_decay(
    records: Sequence[Mapping],
    pairs: Sequence[tuple[str, str]],
    activations: Sequence[str] | None = None,
) -> Any:
    """The "Why gating?" figure: log10 ||dL/dh_t|| against steps back for each cell design, one
    panel per candidate activation (median over seeds, band min to max), one colour per design.

    Args:
        records: stored decay records of the designs (result.norms.log_h, (S, T)).
        pairs: (design, activation) of each record, aligned with `records`.
        activations: the panels, in order (default: as they first appear in `pairs`).

    Returns:
        the Figure.

    Example::

        >>> import json
        >>> from analysis import plot
        >>> recs = [json.loads(x) for x in open("out/gating_decay/results.jsonl")]  # doctest: +SKIP
        >>> pairs = [("irnn", "relu"), ("lstm", "relu")]  # doctest: +SKIP
        >>> plot.gating_decay(recs, pairs).savefig("gating.png")  # doctest: +SKIP
    """
    acts = list(activations or dict.fromkeys(a for _, a in pairs))
    fig = _figure((5.6 * max(len(acts), 1), 4.4))
    axes = fig.subplots(1, max(len(acts), 1), squeeze=False)[0]
    for ax, act in zip(axes, acts, strict=False):
        chosen = [(rec, d) for rec, (d, a) in zip(records, pairs, strict=True) if a == act]
        if chosen:
            decay([rec for rec, _ in chosen], ax=ax, label=[d for _, d in chosen])
        ax.set_title(f"{act} in the candidate slot", fontsize=10)
        ax.set_xlabel(_STEPS_BACK)
    return fig


# ---------------------------------------------------------------------------- activations


def _curves(act: Any, lo: float, hi: float, n: int) -> dict[str, np.ndarray]:
    """z, f, f', f'' on a float64 grid."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        z = jnp.linspace(lo, hi, n, dtype=jnp.float64)
        return {
            "z": np.asarray(z),
            "f": np.asarray(act.fn(z)),
            "d1": np.asarray(act.grad(z)),
            "d2": np.asarray(act.grad2(z)),
        }


def activation(act: Any, ax: Any = None, lo: float = -4.0, hi: float = 4.0) -> Any:
    """f, f' and f'' of an activation on one Axes, kinks marked: open circles the one-sided
    derivatives, a filled dot the value the kernel uses there (its convention).

    Args:
        act: a ``kernels.get(name)`` activation (fn, grad, grad2, kinks, params) or its name.
        ax: the Axes to draw on; a new Figure's Axes if None.
        lo, hi: the z range.

    Returns:
        the Axes, with three lines (f, f', f'') in that order.

    Example::

        >>> import kernels
        >>> from analysis import plot
        >>> ax = plot.activation(kernels.get("relu"))
        >>> [line.get_label() for line in ax.get_lines()[:3]]
        ['f', "f'", "f''"]
    """
    import kernels

    if isinstance(act, str):
        act = kernels.get(act)
    ax = _axes(ax, (4.2, 3.2))
    data = _curves(act, lo, hi, 801)
    z = data["z"]
    # a NaN at each kink (and on a grid point that falls on one) breaks the line, so a jump
    # in a derivative is not drawn as a vertical stroke
    cut = np.searchsorted(z, [k.at for k in act.kinks])
    zc = np.insert(z, cut, np.nan)
    on_kink = np.zeros(zc.shape, bool)
    for kink in act.kinks:
        on_kink |= np.isclose(zc, kink.at, rtol=0, atol=1e-9)
    style = {"f": ("#000000", "-"), "d1": ("#0072B2", "--"), "d2": ("#D55E00", ":")}
    names = {"f": "f", "d1": "f'", "d2": "f''"}
    for key in ("f", "d1", "d2"):
        y = (
            data[key]
            if key == "f"
            else np.where(on_kink, np.nan, np.insert(data[key], cut, np.nan))
        )
        c, ls = style[key]
        ax.plot(z if key == "f" else zc, y, color=c, ls=ls, lw=1.6, label=names[key])
    for kink in act.kinks:
        c = style["d1" if kink.order == 1 else "d2"][0]
        ax.plot([kink.at] * 2, [kink.left, kink.right], "o", mfc="white", mec=c, zorder=3)
        ax.plot([kink.at], [kink.convention], "o", color=c, zorder=4)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    params = ", ".join(f"{k}={v:g}" for k, v in act.params.items())
    ax.set_title(f"{act.name}({params})" if params else act.name, fontsize=10)
    ax.set_xlabel("z")
    ax.grid(alpha=0.3)
    return ax


def gallery(names: Sequence[str] | None = None, cols: int = 5) -> Any:
    """Every activation in one compact grid: f, f', f'' per kernel (`activation`).

    Args:
        names: kernel names (default: every registered kernel).
        cols: panels per row.

    Returns:
        the Figure, one legend for all panels.

    Example::

        >>> from analysis import plot
        >>> fig = plot.gallery(["tanh", "relu"])
        >>> len(fig.axes)
        2
    """
    import kernels

    names = list(names or kernels.names())
    cols = max(1, min(cols, len(names)))
    rows = -(-len(names) // cols)
    fig = _figure((2.9 * cols, 2.4 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for i, (ax, name) in enumerate(zip(axes.flat, names, strict=False)):
        activation(kernels.get(name), ax=ax)
        if i + cols < len(names):
            ax.set_xlabel("")  # the panel below says it
    handles, texts = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, texts, loc="outside upper center", ncols=3, fontsize=9, frameon=False,
        title="open circles: one-sided derivatives at a kink, filled: the value used there",
        title_fontsize=8,
    )  # fmt: skip
    return fig


def init_vs_training(points: Sequence[tuple[str, Any, Any]], ax: Any = None) -> Any:
    """Solve rate against the half-life of the gradient at initialisation, one point per
    trained cell, with both intervals (half-life: its 95% interval; solve rate: Wilson 95%);
    a half-life whose interval reaches infinity is drawn to the right edge. Log x axis.
    LSTM variants ("candidate/output") are circles in their `colour`; cell designs ("design
    (activation)") squares in the design's colour, open for a ReLU candidate.

    Args:
        points: (label, half-life estimate with ``value``/``low``/``high``, solve rate with
            ``k``/``n``/``low``/``high``) per cell, e.g. from the report's decay and
            training rows.
        ax: the Axes to draw on; a new Figure's Axes if None.

    Returns:
        the Axes.

    Example::

        >>> from types import SimpleNamespace as NS
        >>> from analysis import plot
        >>> pts = [("a", NS(value=5.0, low=4.0, high=6.0), NS(k=1, n=8, low=0.02, high=0.47)),
        ...        ("b", NS(value=25.0, low=20.0, high=30.0), NS(k=8, n=8, low=0.68, high=1.0))]
        >>> len(plot.init_vs_training(pts).collections) > 0
        True
    """
    ax = _axes(ax, (7.0, 4.6))
    finite = [float(h.high) for _, h, _ in points if math.isfinite(float(h.high))]
    finite += [float(h.value) for _, h, _ in points if math.isfinite(float(h.value))]
    right = 2.0 * max(finite, default=10.0)
    for label, h, p in points:
        # "design (activation)" labels: the design's colour, a square, open for ReLU
        design, _, act = label.partition(" (")
        key, marker = (design, "s") if act else (label, "o")
        face = "none" if act.startswith("relu") else colour(key)
        x = min(float(h.value), right)
        lo, hi = min(float(h.low), right), min(float(h.high), right)
        rate = p.k / p.n if p.n else math.nan
        ax.errorbar(
            [x], [rate],
            xerr=[[max(x - lo, 0.0)], [max(hi - x, 0.0)]],
            yerr=[[max(rate - p.low, 0.0)], [max(p.high - rate, 0.0)]],
            fmt=marker, color=colour(key), mfc=face, label=label, capsize=3, ms=6,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("half-life of ‖∂L/∂h_t‖ at initialisation (steps)")
    ax.set_ylabel("share of seeds that solved it")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85, ncol=2)
    return ax


def lyapunov_spectra(
    spectra: Mapping[float, Sequence[float]],
    published: Sequence[Any],
    ax: Any = None,
) -> Any:
    """Lyapunov spectra of random tanh networks against i/N, one colour per gain g, with a
    published largest exponent (a marker at i/N = 0) and unstable fraction (where a dotted
    vertical line meets 0) per gain.

    Args:
        spectra: g -> a full spectrum, descending (`analysis.reproduce.lyapunov_rnn`).
        published: records with ``g``, ``max_exponent`` and ``unstable_fraction``.
        ax: the Axes to draw on; a new Figure's Axes if None.

    Returns:
        the Axes.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> from analysis import plot
        >>> pub = [SimpleNamespace(g=2.0, max_exponent=0.15, unstable_fraction=0.13)]
        >>> ax = plot.lyapunov_spectra({2.0: np.linspace(0.15, -3, 64)}, pub)
        >>> ax.get_xlabel()
        'i / N'
    """
    ax = _axes(ax, (6.4, 4.0))
    for i, (g, spec) in enumerate(sorted(spectra.items())):
        e = _floats(spec)
        name = f"g = {float(g):g}"
        c = PALETTE[(i + 1) % len(PALETTE)]  # one colour per gain, never shared
        ax.plot((np.arange(e.size) + 0.5) / e.size, e, color=c, lw=1.4, label=f"{name} (ours)")
        for p in published:
            if float(p.g) == float(g):
                ax.plot([0.0], [p.max_exponent], "o", mfc="none", color=c, ms=7)
                ax.axvline(p.unstable_fraction, color=c, ls=":", lw=1.0)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("i / N")
    ax.set_ylabel("Lyapunov exponent λ_i (per step)")
    ax.set_xlim(0.0, 1.0)
    ax.legend(
        fontsize=8,
        title="open circle: published λ_1; dotted: published unstable fraction",
        title_fontsize=7,
    )
    return ax
