"""Figures for `actgrad decay`: gradient norms against steps back, and cell telemetry.

Both take the stored sweep records (so a resumed run plots stored cells too) and return a
matplotlib Figure; `analysis._util.io.save_figure` writes it. Agg backend, never shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

# Colour-blind-safe (Okabe & Ito), then matplotlib's tab10 for long grids.
_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


_STYLES = ["-", "--", ":", "-."]


def colour(i: int) -> str:
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
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns after overflow
            med = np.nanmedian(curves, axis=0)
            lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
    # A line style per variant too, so that coinciding curves stay visible.
    ax.plot(x, med, color=col, lw=2, ls=style, label=label)
    if curves.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=col, alpha=0.18, lw=0)


def _legend_label(label: str, fit: Mapping[str, Any], exploded: bool) -> str:
    rate, hl = float(fit["rate"]), float(fit["half_life"])
    if math.isnan(rate):
        return f"{label}: no fit (overflow)"
    if rate >= 0:
        return f"{label}: grows, x{math.exp(rate):.3f}/step" + (" [exploded]" if exploded else "")
    return f"{label}: half-life {hl:.3g} steps" + (" [exploded]" if exploded else "")


def decay_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """Two panels, ||dL/dh_t|| and ||dL/dc_t|| against steps back from T, log y axis:
    median over seeds (line) and min-max over seeds (band), one colour per variant."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharex=True)
    for panel, (which, sym) in enumerate((("h", "h"), ("c", "c"))):
        ax = axes[panel]
        for i, (rec, label) in enumerate(zip(records, labels, strict=True)):
            res = rec["result"]
            curves = _curves(res["norms"][which])[:, ::-1]  # index = steps back from T
            x = np.arange(curves.shape[1])
            legend = _legend_label(label, res["fit"][which], res["exploded"])
            _band(ax, x, curves, colour(i), legend, _STYLES[i % len(_STYLES)])
        ax.set_yscale("log")
        ax.set_xlabel("steps back from the last step T  (s = T - t)")
        ax.set_ylabel(f"‖∂L/∂{sym}_t‖  (Frobenius over batch × hidden)")
        ax.set_title(
            f"gradient w.r.t. the {'hidden state' if which == 'h' else 'cell state'} {sym}_t"
        )
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    fig.suptitle(
        _wrap(title)
        + "\nline: median over seeds, band: min to max; flat = memory kept, falling = gradient"
        " vanishes (half-life: steps to halve), rising = explodes",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def telemetry_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """Three panels along the sequence: max |c_t| (log), mean forget gate, saturated gates."""
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
            raw = np.asarray(rec["result"]["telemetry"]["curves"][key], np.float64)
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
