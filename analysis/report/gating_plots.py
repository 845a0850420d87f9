"""The "Why gating?" figure: gradient decay of each cell design, one panel per activation.

log10 ||dL/dh_t|| (from the stored natural-log norms, finite at any T) against steps back
from T: the median over seeds as a line, min to max over seeds as a band, one colour per
design (the same colour in every panel), the legend giving each curve's gradient-flow class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from analysis._util import stats
from analysis.report import plots
from analysis.report.config import ReportConfig

__all__ = ["gating_figure", "write_gating_figure"]

_MAX_POINTS = 500


def _log10_h(result: Mapping[str, Any]) -> np.ndarray:
    """(S, T) log10 ||dL/dh_t||, column j = j steps back from T; non-finite -> nan."""
    norms = result["norms"]
    if "log_h" in norms:
        a = np.asarray(norms["log_h"], np.float64) / np.log(10.0)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.log10(np.asarray(norms["h"], np.float64))
    return np.where(np.isfinite(a), a, np.nan)[:, ::-1]


def _draw(ax: Any, curves: np.ndarray, colour: str, style: str, label: str) -> None:
    x, med, lo, hi = stats.band(curves)
    k = max(1, -(-x.size // _MAX_POINTS))  # long T: every k-th step, so SVGs stay small
    ax.plot(x[::k], med[::k], color=colour, lw=2, ls=style, label=label)
    if curves.shape[0] > 1:
        ax.fill_between(x[::k], lo[::k], hi[::k], color=colour, alpha=0.18, lw=0)


def gating_figure(
    rows: Sequence[Mapping], records: Sequence[Mapping], activations: Sequence[str], title: str
) -> Any:
    """One panel per activation: log10 ||dL/dh_t|| of every design against steps back.

    Args:
        rows: `gating_rows.gating_rows` (design, activation, flow_text), aligned with
            `records`.
        records: the gating decay sweep records (result.norms.log_h, (S, T) per record).
        activations: the panels' candidate activations, in order.
        title: the figure title.

    Returns:
        matplotlib Figure.
    """
    designs = list(dict.fromkeys(r["design"] for r in rows))
    fig, axes = plt.subplots(
        1, len(activations), figsize=(6.5 * len(activations), 5.2), sharey=True, squeeze=False
    )
    for ax, act in zip(axes[0], activations, strict=True):
        for row, rec in zip(rows, records, strict=True):
            if row["activation"] != act:
                continue
            i = designs.index(row["design"])
            _draw(
                ax,
                _log10_h(rec["result"]),
                plots.colour(i),
                ("-", "--", ":", "-.")[i % 4],
                f"{row['design']}: {row['flow_text']}",
            )
        ax.set_title(f"{act} in the candidate slot")
        ax.set_xlabel("steps back from the last step T  (s = T - t)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    axes[0][0].set_ylabel("log10 ‖∂L/∂h_t‖  (loss 0.5 mean ‖h_T‖²)")
    fig.suptitle(
        title + "\nline: median over seeds, band: min to max; legend: the gradient-flow class",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def write_gating_figure(
    cfg: ReportConfig, out: Path, rows: Sequence[Mapping], records: Sequence[Mapping]
) -> list[tuple[str, str]]:
    """Write gating_decay.png/.svg (and the report config beside it) into `out`.

    Args:
        cfg: the report; out: the folder; rows: `gating_rows.gating_rows`; records: the
            gating decay records aligned with `rows`.

    Returns:
        [(stem, caption)] for the page; [] when there is nothing to draw.
    """
    from analysis._util.io import save_figure

    if not rows:
        return []
    title = (
        f"Why gating? Gradient decay at initialisation, tanh vs ReLU in the candidate "
        f"(T={cfg.gating_decay_length}, H={cfg.decay_hidden}, batch {cfg.decay_batch}, "
        f"{cfg.decay_seeds} seeds)"
    )
    fig = gating_figure(rows, records, cfg.gating_activations, title)
    save_figure(fig, out, "gating_decay", dataclasses.asdict(cfg))
    caption = (
        "log10 ||dL/dh_t|| against steps back from T for each cell design, one panel per "
        "candidate activation (median over seeds, band min to max)"
    )
    return [("gating_decay", caption)]
