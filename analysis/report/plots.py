"""Figures for `actgrad decay`: gradient norms against steps back, and cell telemetry.

Both take the stored sweep records (so a resumed run plots stored cells too) and return a
matplotlib Figure; `analysis._util.io.save_figure` writes it. Agg backend, never shown.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from analysis._util import stats
from analysis.flow import classify

__all__ = ["colour", "decay_figure", "telemetry_figure"]

# Colour-blind-safe (Okabe & Ito), then matplotlib's tab10 for long grids.
_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


_STYLES = ["-", "--", ":", "-."]
_MAX_POINTS = 500


def colour(i: int) -> str:
    """The i-th line colour: Okabe-Ito first, then tab10.

    Args:
        i: index >= 0.

    Returns:
        a matplotlib colour.
    """
    return _COLOURS[i] if i < len(_COLOURS) else plt.get_cmap("tab10")(i % 10)


def _wrap(title: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(title, 120))


def _curves(rows: Any) -> np.ndarray:
    """(S, T) float64 array; stored "inf"/"nan" strings convert; <= 0 and nan masked to nan."""
    a = np.asarray(rows, np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def _band(
    ax: Any, x: np.ndarray, curves: np.ndarray, col: str, label: str, style: str = "-"
) -> None:
    _, med, lo, hi = stats.band(curves)
    # Long sequences: at most ~_MAX_POINTS drawn points (every k-th step, the band's extremes
    # over each stretch of k kept), so SVGs stay small and quick to write at T = 10^4.
    k = max(1, -(-x.size // _MAX_POINTS))
    if k > 1:
        n = x.size // k * k
        x, med = x[:n:k], med[:n:k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stretches stay gaps
            lo = np.nanmin(lo[:n].reshape(-1, k), axis=1)
            hi = np.nanmax(hi[:n].reshape(-1, k), axis=1)
    # A line style per variant too, so that coinciding curves stay visible.
    ax.plot(x, med, color=col, lw=2, ls=style, label=label)
    if curves.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=col, alpha=0.18, lw=0)


def _legend_label(label: str, fit: Mapping[str, Any], finite: bool, unbounded: bool) -> str:
    rate, hl = float(fit["rate"]), float(fit["half_life"])
    return f"{label}: " + classify.describe(rate, hl, finite, unbounded)


def _log10_curves(norms: Mapping[str, Any], which: str) -> tuple[np.ndarray, bool]:
    """(S, T) log10 norms indexed by steps back from T, and whether they came from log-norms.

    Stored ``log_h`` / ``log_c`` (natural logs, finite at any T) are used when a record has
    them; otherwise log10 of the plain norms, whose float32 zeros (underflow) become gaps.
    """
    key = f"log_{which}"
    if key in norms:
        a = np.asarray(norms[key], np.float64) / np.log(10.0)
        return np.where(np.isfinite(a), a, np.nan)[:, ::-1], True
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(_curves(norms[which]))[:, ::-1], False


def decay_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """Two panels, log10 ||dL/dh_t|| and log10 ||dL/dc_t|| against steps back from T.

    Median over seeds (line) and min-max over seeds (band), one colour per variant; the
    legend gives each variant's `classify.describe` of its fit.

    Args:
        records: decay sweep records (result: norms, fit, exploded_reasons).
        labels: one legend label per record.
        title: the figure title.

    Returns:
        matplotlib Figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharex=True)
    for panel, (which, sym) in enumerate((("h", "h"), ("c", "c"))):
        ax = axes[panel]
        for i, (rec, label) in enumerate(zip(records, labels, strict=True)):
            res = rec["result"]
            if which not in res["norms"]:
                continue  # a cell without this state (a GRU has no c)
            curves, logged = _log10_curves(res["norms"], which)
            x = np.arange(curves.shape[1])
            finite = not any("non-finite" in (r or "") for r in res["exploded_reasons"])
            max_c = float(res["telemetry"]["c_max"])
            unbounded = not max_c <= curves.shape[1]
            legend = _legend_label(label, res["fit"][which], finite, unbounded)
            _band(ax, x, curves, colour(i), legend, _STYLES[i % len(_STYLES)])
        ax.set_xlabel("steps back from the last step T  (s = T - t)")
        ax.set_ylabel(f"log10 ‖∂L/∂{sym}_t‖" + ("" if logged else "  (float32 zeros left out)"))
        ax.set_title(
            f"gradient w.r.t. the {'hidden state' if which == 'h' else 'cell state'} {sym}_t"
        )
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    fig.suptitle(
        _wrap(title)
        + "\nline: median over seeds, band: min to max; legend: the gradient-flow class "
        "(vanishing / stable / growing / exploding, thresholds on the report page)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def telemetry_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """Three panels along the sequence: max |c_t| (log), mean forget gate, saturated gates.

    Args:
        records: decay sweep records (result.telemetry.curves); labels: per record.
        title: the figure title.

    Returns:
        matplotlib Figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), sharex=True)
    panels = (
        ("c_max", "max |c_t| over batch × hidden", True, "cell state size (grows = unbounded)"),
        ("forget_mean", "mean forget gate f_t", False, "forget gate (near 1 = long memory)"),
        (
            "saturated_fraction",
            "share of gates i, f, o outside [0.01, 0.99]",
            False,
            "saturated gates (no gradient through them)",
        ),
    )
    for ax, (key, ylabel, log, head) in zip(axes, panels, strict=True):
        ax.set_title(head, fontsize=10)
        for i, (rec, label) in enumerate(zip(records, labels, strict=True)):
            found = rec["result"]["telemetry"]["curves"]
            # other cells: the largest state stands in for c; a cell with no forget gate
            # (GRU, RNN) or no gates at all is left out of those panels
            raw = found.get(key, found.get("h_max") if key == "c_max" else None)
            if raw is None:
                continue
            raw = np.asarray(raw, np.float64)
            curves = _curves(raw) if log else np.where(np.isfinite(raw), raw, np.nan)
            x = np.arange(1, curves.shape[1] + 1)
            _band(ax, x, curves, colour(i), label, _STYLES[i % len(_STYLES)])
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time step t")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, loc="best", framealpha=0.85)
    fig.suptitle(_wrap(title) + "\nline: median over seeds, band: min to max", fontsize=10)
    fig.tight_layout()
    return fig
