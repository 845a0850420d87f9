"""Plots in one call, for your own model's results as for the report's.

Every function takes data (arrays, or the records that ``actgrad decay`` / ``actgrad train``
store in results.jsonl) and returns the matplotlib ``Axes`` it drew on (or a ``Figure`` for a
multi-panel plot). Pass ``ax=`` to draw into your own figure; without it a new
``matplotlib.figure.Figure`` is made directly, not through pyplot, so nothing global changes
(no backend switch, no rcParams, no open-figure list) and nothing is ever shown. Write a
figure with ``ax.figure.savefig(...)``; in Jupyter, end a cell with ``ax.figure`` (or
``display(ax.figure)``) to see it inline (`NotebookFigure`), with any backend.

One colour per variant, the same in every figure: `colour`. Example::

    >>> import numpy as np
    >>> from analysis import plot
    >>> ax = plot.decay(np.log(0.9) * np.arange(50)[::-1], label="f = 0.9")
    >>> ax.figure.savefig("decay.png")

For your own model: `decay` (``gradients.state_grad_norms``, ``per_step_grad_norms``, a
sweep's folder), `flow_during_training` (``actgrad train``'s train.json), `lyapunov`
(``gradients.lyapunov_spectrum``) and `activation` (any kernel, ``kernels.from_formula``
included).

Figure kinds: `decay`, `telemetry`, `test_loss`, `grad_norm`, `lengths`, `flow_heatmap`,
`flow_half_life`, `gating_decay`, `activation`, `gallery`.
"""

from __future__ import annotations

import io
import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure as _MplFigure

__all__ = [
    "PALETTE",
    "NotebookFigure",
    "activation",
    "colour",
    "decay",
    "flow_during_training",
    "flow_half_life",
    "flow_heatmap",
    "gallery",
    "gating_decay",
    "grad_norm",
    "init_vs_training",
    "lengths",
    "linestyle",
    "lyapunov",
    "lyapunov_spectra",
    "new_axes",
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


class NotebookFigure(_MplFigure):
    """The Figure every function here draws on: a plain ``matplotlib.figure.Figure`` that
    also shows itself as a PNG when it is a Jupyter cell's value (``_repr_png_``), so
    ``ax.figure`` displays inline without pyplot and without changing any global setting."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = NotebookFigure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for savefig and tight boxes, without pyplot
    return fig


def new_axes(figsize: tuple[float, float] = (6.0, 3.6)) -> Any:
    """One Axes on a new `NotebookFigure` (no pyplot, nothing global changed), for a figure
    drawn outside this module (the reproductions')."""
    return _figure(figsize).add_subplot()


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
    return np.atleast_2d(np.asarray(item, np.float64)) / _LN10, None


_DECAY_ACCEPTS = (
    "accepts the dict of gradients.state_grad_norms, the result of "
    "gradients.per_step_grad_norms, an array of natural-log norms (T,) or (S, T), a stored "
    "decay record, a sweep's results directory (holding results.jsonl), or a list of them"
)


def _bad(func: str, got: Any, accepts: str, error: type = TypeError) -> Exception:
    """One line: the function, what it got (type and a short repr), what it accepts."""
    text = repr(got)
    text = text if len(text) <= 60 else text[:57] + "..."
    return error(f"plot.{func}: got {type(got).__name__} {text}; it {accepts}")


def _results_dir(path: Any, func: str, need: str) -> list[Mapping]:
    """The records of a sweep's folder (or of its results.jsonl) that hold ``result[need]``."""
    import os

    from analysis.experiments.store import RESULTS_FILE, ResultsStore

    folder = os.fspath(path)
    if os.path.basename(folder) == RESULTS_FILE:
        folder = os.path.dirname(folder) or "."
    if not os.path.isfile(os.path.join(folder, RESULTS_FILE)):
        raise ValueError(f"plot.{func}: {folder!r} holds no {RESULTS_FILE} (a sweep's results)")
    records = [r for r in ResultsStore(folder).load().values() if need in r.get("result", {})]
    if not records:
        raise ValueError(f"plot.{func}: {folder}/{RESULTS_FILE} holds no record with {need!r}")
    return records


def _state_logs(item: Any, state: str) -> np.ndarray:
    """Natural-log norms of `state` from a `state_grad_norms` dict or a `GradNorms`."""
    if isinstance(item, Mapping):
        if f"log_{state}" in item:
            return np.asarray(item[f"log_{state}"], np.float64)
        if state in item:
            with np.errstate(divide="ignore"):
                return np.log(np.asarray(item[state], np.float64))
        states = sorted(k for k in item if not str(k).startswith("log_"))
        raise ValueError(f"plot.decay: no state {state!r} in the norms; states: {states}")
    return np.asarray(getattr(item, f"log_{state}"), np.float64)


def _is_numeric(data: Any) -> bool:
    try:
        a = np.asarray(data)
    except (ValueError, TypeError):  # ragged nested lists
        return False
    return a.dtype.kind in "fiu" and a.ndim in (1, 2) and a.size > 0


def _decay_items(data: Any, state: str) -> list[Any]:
    """Each curve to draw: a stored record, or (S, T) natural-log norms in time order."""
    import os

    if isinstance(data, str | os.PathLike):
        return _results_dir(data, "decay", "norms")
    if isinstance(data, Mapping):
        return [data] if "result" in data else [np.atleast_2d(_state_logs(data, state))]
    if hasattr(data, f"log_{state}"):
        return [np.atleast_2d(_state_logs(data, state))]
    if _is_numeric(data):
        return [np.atleast_2d(np.asarray(data, np.float64))]
    if isinstance(data, Sequence) and not isinstance(data, bytes) and data:
        if all(isinstance(d, int | float) for d in data):  # a list of numbers, non-finite ones
            return [np.atleast_2d(np.asarray(data, np.float64))]
        return [item for d in data for item in _decay_items(d, state)]
    raise _bad("decay", data, _DECAY_ACCEPTS)


def _fit_text(curves: np.ndarray) -> str:
    """(S, T) log10 norms in time order -> the gradient-flow class with its half-life, from the fit of the median ln-norm curve
    (`gradients.fit_decay`), as `analysis.flow.classify.describe` words it."""
    from analysis.flow import classify
    from analysis.flow.fit import fit_decay

    _, med, _, _ = _band(curves)  # median over seeds, time order
    fit = fit_decay(log_norms=med * _LN10)
    if math.isnan(fit.rate):
        return "no fit (fewer than 2 finite steps)"
    return classify.describe(fit.rate, fit.half_life, bool(np.isfinite(curves).all()))


def _describe(record: Mapping, curves: np.ndarray) -> str:
    """The record's gradient-flow class with its half-life, as `classify.describe` words it."""
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


def decay(norms_or_results: Any, ax: Any = None, label: Any = None, state: str = "h") -> Any:
    """log10 ||dL/dh_t|| against steps back from the last step T, the half-life in the legend.

    The y axis is log10 of the norm (a log scale drawn from the log norms, which stay finite
    where the norm itself underflows to 0). The legend gives each curve's gradient-flow class
    with its half-life ln 2 / -rate (`gradients.fit_decay` of the median curve; a stored
    record's own fit).

    Args:
        norms_or_results: what you have, one or a list of
            * the dict of ``gradients.state_grad_norms`` ({"h": (T,), "log_h": (T,), ...});
            * the result of ``gradients.per_step_grad_norms`` (``.log_h``);
            * an array of natural-log norms in time order, (T,) or (S, T) for S seeds;
            * a stored decay record (a results.jsonl line of ``actgrad decay``), or a sweep's
              results directory (or its results.jsonl): one curve per record.
            Several seeds draw the median and a min-max band. The y axis spans the medians:
            a seed whose norm goes non-finite (x) or above the axis (triangle) is marked at
            the top edge, at the first step back where it does, instead of stretching it.
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: the legend label (one curve), or one label per curve; records default to
            their variant ("candidate/output") and colour by label (`colour`).
        state: which state's norms a dict or ``per_step_grad_norms`` result gives ("h",
            "c", or a cell's own state name).

    Returns:
        the Axes.

    Raises:
        TypeError: something that is not norms or results (the message says what it got).
        ValueError: a folder without results.jsonl, or a state the norms do not have.

    Example::

        >>> import numpy as np
        >>> from analysis import plot
        >>> log_h = np.log(0.9) * np.arange(100)[::-1]  # decays by 0.9 per step back
        >>> ax = plot.decay(log_h, label="f = 0.9")
        >>> ax.get_lines()[0].get_ydata()[:3].round(3)
        array([ 0.   , -0.046, -0.092])
        >>> ax.get_legend().get_texts()[0].get_text()
        'f = 0.9: vanishing (half-life 6.58 steps)'
    """
    items = _decay_items(norms_or_results, state)
    ax = _axes(ax, (7.5, 4.6))
    had = bool(ax.get_lines())
    labels = _decay_labels(items, label)
    drawn = []
    for item, name in zip(items, labels, strict=True):
        curves, record = _log10_h(item)
        fit = _describe(record, curves) if record is not None else _fit_text(curves)
        curves = curves[:, ::-1]  # column j = j steps back from T
        key = name if name is not None else "curve"
        text = f"{name}: {fit}".rstrip(": ") if name is not None else fit
        x, med, lo, hi = _band(curves)
        _draw_band(ax, x, med, lo, hi, key, text, curves.shape[0])
        drawn.append((key, curves, med))
    _decay_axes(ax, drawn, had, state)
    return ax


def _decay_axes(ax: Any, drawn: list, had: bool, state: str) -> None:
    """The y range (the medians'), the off-axis marks, the labels and the legend."""
    bottom, top = _decay_limits([m for _, _, m in drawn])
    if had:  # drawing into a used Axes: keep what is there in view
        bottom, top = min(bottom, ax.get_ylim()[0]), max(top, ax.get_ylim()[1])
    ax.set_ylim(bottom, top)
    _mark_off_axis(ax, drawn, top)
    ax.set_xlabel(_STEPS_BACK)
    ax.set_ylabel("log10 ‖∂L/∂h_t‖" if state == "h" else f"log10 ‖∂L/∂{state}_t‖")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.85)


def _decay_labels(items: Sequence[Any], label: Any) -> list[Any]:
    """One label per curve: the given one(s); else a record's variant, "curve i" for
    several bare curves, none for one."""
    if label is not None and not isinstance(label, str):
        names = [str(x) for x in label]
        if len(names) != len(items):
            raise ValueError(f"plot.decay: {len(names)} labels for {len(items)} curves")
        return names
    return [
        label
        if label is not None
        else _record_label(item.get("config", {}))
        if isinstance(item, Mapping)
        else (f"curve {i + 1}" if len(items) > 1 else None)
        for i, item in enumerate(items)
    ]


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


_FLOW_ACCEPTS = (
    "accepts a train.json (its path, its folder, or the dict loaded from it), a sweep's "
    "results directory of `actgrad train`, a stored train record or train.json variant "
    "(with per_seed[i].flow_snapshots), or a list of them"
)


def _train_runs(data: Any) -> list[Mapping]:
    """Train records ({"config", "result"}) or train.json variants ({"label", "config",
    "per_seed", ...}) from what `flow_during_training` accepts."""
    import json
    import os

    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "train.json")):
            path = os.path.join(path, "train.json")
        if os.path.isfile(path) and path.endswith(".json"):
            with open(path, encoding="utf-8") as fh:
                return _train_runs(json.load(fh))
        return _results_dir(path, "flow_during_training", "per_seed")
    if isinstance(data, Mapping):
        if "variants" in data:  # train.json
            return [dict(v) for v in data["variants"]]
        if "per_seed" in data or "per_seed" in data.get("result", {}):
            return [data]
    elif isinstance(data, Sequence) and not isinstance(data, bytes) and data:
        return [run for d in data for run in _train_runs(d)]
    raise _bad("flow_during_training", data, _FLOW_ACCEPTS)


def _flow_row(run: Mapping, name: str) -> Any:
    """The half-life of ||dL/dh|| at each snapshot step: median rate over seeds with its
    bootstrap 95% interval, turned into a half-life (`stats.half_life_of`), as the report's
    tables compute it (`analysis.report.summarise.flow_rows`)."""
    from types import SimpleNamespace

    from analysis.util import stats

    per = (run["result"] if "result" in run else run)["per_seed"]
    snaps = [s for p in per for s in p.get("flow_snapshots") or []]
    steps = sorted({int(s["step"]) for s in snaps})
    rates = [
        stats.median_bootstrap([float(s["rate"]) for s in snaps if s["step"] == st]) for st in steps
    ]
    length = run.get("config", {}).get("length", 0)
    return SimpleNamespace(
        variant=name, T=int(length), steps=tuple(steps),
        half_life=tuple(stats.half_life_of(r) for r in rates),
    )  # fmt: skip


def flow_during_training(runs: Any, ax: Any = None, label: Any = None) -> Any:
    """Gradient flow during training: the half-life of ||dL/dh_t|| at each snapshot step,
    one line per run (median over seeds, band: its bootstrap 95% interval), dotted: the
    run's sequence length T. Drawn by `flow_half_life`.

    Args:
        runs: what ``actgrad train --snapshots N`` wrote: the path of its train.json (or its
            folder, or the folder's results.jsonl), the dict loaded from train.json, one of
            its ``variants`` or a stored train record, or a list of them. Each seed's
            ``flow_snapshots`` is a list of {step, log_h, rate, half_life, lyapunov_max,
            max_abs_c}; a run without snapshots is left out.
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: one label per run (default: train.json's label, else the variant).

    Returns:
        the Axes (log y axis).

    Raises:
        TypeError: something that is not training results (the message says what it got).
        ValueError: no run kept snapshots.

    Example::

        >>> from analysis import plot
        >>> snap = lambda step, rate: {"step": step, "rate": rate}
        >>> run = {"label": "tanh", "config": {"length": 50}, "per_seed": [
        ...     {"flow_snapshots": [snap(0, -0.2), snap(100, -0.05)]}]}
        >>> ax = plot.flow_during_training(run)
        >>> ax.get_lines()[0].get_ydata().round(2)
        array([ 3.47, 13.86])
    """
    found = _train_runs(runs)
    names = [name for name, _ in _train_items(found, label)]
    rows = sorted(
        (_flow_row(run, name) for run, name in zip(found, names, strict=True) if _snaps(run)),
        key=lambda r: (r.variant, r.T),
    )
    if not rows:
        raise ValueError("plot.flow_during_training: no run kept flow_snapshots (--snapshots N)")
    return flow_half_life(rows, ax=ax)


def _snaps(run: Mapping) -> bool:
    return any(p.get("flow_snapshots") for p in (run.get("result") or run)["per_seed"])


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


def _activation_of(act: Any) -> Any:
    """`act`, or the kernel of that name; TypeError for anything else."""
    import kernels

    if isinstance(act, str):
        act = kernels.get(act)  # an unknown name: ValueError listing the registered ones
    if not all(hasattr(act, a) for a in ("fn", "grad", "grad2", "kinks", "params", "name")):
        raise _bad(
            "activation", act,
            "accepts an activation (kernels.get(name), kernels.from_formula(expr)) or a "
            "kernel name (\"formula:EXPR\" included)",
        )  # fmt: skip
    return act


def activation(act: Any, ax: Any = None, lo: float = -4.0, hi: float = 4.0) -> Any:
    """f, f' and f'' of an activation on one Axes, kinks marked: open circles the one-sided
    derivatives, a filled dot the value the kernel uses there (its convention).

    Args:
        act: a ``kernels.get(name)`` or ``kernels.from_formula(expr)`` activation (fn, grad,
            grad2, kinks, params) or its name ("formula:EXPR" included).
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
    act = _activation_of(act)
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


def _spectra(data: Any, label: Any) -> list[tuple[Any, np.ndarray]]:
    """(label, (S, k) exponents) per spectrum of what `lyapunov` accepts."""
    accepts = (
        "accepts exponents (k,) or (S, k) for S seeds (gradients.lyapunov_spectrum, "
        "gradients.lyapunov_qr), a dict label -> exponents, or a list of exponent arrays"
    )
    if isinstance(data, Mapping):
        if not data:
            raise _bad("lyapunov", data, accepts, ValueError)
        pairs = [(str(k), v) for k, v in data.items()]
    elif _is_numeric(data):
        pairs = [(label, data)]
    elif isinstance(data, Sequence) and data and all(_is_numeric(d) for d in data):
        names = list(label) if label is not None and not isinstance(label, str) else None
        pairs = [(names[i] if names else f"spectrum {i + 1}", d) for i, d in enumerate(data)]
    else:
        raise _bad("lyapunov", data, accepts)
    return [(name, np.atleast_2d(_floats(np.ravel(v)).reshape(np.shape(v)))) for name, v in pairs]


def lyapunov(
    exponents: Any,
    ax: Any = None,
    label: Any = None,
    *,
    fraction: bool = False,
    color: str | None = None,
) -> Any:
    """A Lyapunov spectrum: lambda_i (per step) against i, descending; the legend gives
    lambda_1 and, when it is negative, the steps a perturbation takes to halve (ln 2 /
    -lambda_1). Several seeds (rows) draw the median and a min-max band.

    Args:
        exponents: (k,) or (S, k) exponents per step, descending, e.g.
            ``gradients.lyapunov_spectrum(params, xs, cfg, k=8)``; a dict label -> exponents;
            or a list of them (one line each).
        ax: the Axes to draw on; a new Figure's Axes if None.
        label: the legend label (one spectrum) or one per spectrum of a list.
        fraction: x is (i + 0.5) / k instead of i = 1..k (spectra of different sizes).
        color: one colour for every line (default: each label's `colour`).

    Returns:
        the Axes.

    Raises:
        TypeError: something that is not exponents (the message says what it got).

    Example::

        >>> from analysis import plot
        >>> ax = plot.lyapunov([-0.05, -0.2, -0.9], label="my cell")
        >>> ax.get_lines()[0].get_xdata().tolist()
        [1.0, 2.0, 3.0]
        >>> ax.get_legend().get_texts()[0].get_text()
        'my cell: λ₁ = -0.05 per step (halves in 13.9 steps)'
    """
    ax = _axes(ax, (6.4, 4.0))
    for name, rows in _spectra(exponents, label):
        k = rows.shape[1]
        x = (np.arange(k) + 0.5) / k if fraction else np.arange(1.0, k + 1.0)
        _, med, lo, hi = _band(rows)
        top = float(med[0])
        text = f"λ₁ = {top:.3g} per step"
        if top < 0:
            text += f" (halves in {math.log(2) / -top:.3g} steps)"
        text = f"{name}: {text}" if name is not None else text
        c = color or colour(str(name))
        ax.plot(x, med, color=c, lw=1.4, marker="o" if k <= 32 else None, ms=3, label=text)
        if rows.shape[0] > 1:
            ax.fill_between(x, lo, hi, color=c, alpha=0.18, lw=0)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("i / N" if fraction else "exponent index i")
    ax.set_ylabel("Lyapunov exponent λ_i (per step)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
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
        c = PALETTE[(i + 1) % len(PALETTE)]  # one colour per gain, never shared
        lyapunov(spec, ax=ax, label=f"g = {float(g):g} (ours)", fraction=True, color=c)
        for p in published:
            if float(p.g) == float(g):
                ax.plot([0.0], [p.max_exponent], "o", mfc="none", color=c, ms=7)
                ax.axvline(p.unstable_fraction, color=c, ls=":", lw=1.0)
    ax.set_xlim(0.0, 1.0)
    ax.legend(
        fontsize=8,
        title="open circle: published λ_1; dotted: published unstable fraction",
        title_fontsize=7,
    )
    return ax
