"""Figures of the new axes: gradient flow during training, and solve rate against length.

* `flow_heatmap`: per variant, training step x steps back from T, colour log10 ||dL/dh_t||
  (median over seeds), from the ``flow_snapshots`` that `train.train` stores.
* `flow_half_life`: half-life of ||dL/dh_t|| against training step, one line per variant
  (median over seeds, band: bootstrap 95% interval of the median).
* `length_figure`: solve rate against sequence length with Wilson 95% intervals.

Each returns a matplotlib Figure; `analysis._util.io.save_figure` writes it. Agg backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from analysis.report.plots import colour

__all__ = ["flow_half_life", "flow_heatmap", "length_figure"]

_LN10 = math.log(10)


def _median_log10(per_seed: Sequence[Mapping], step: int) -> np.ndarray | None:
    curves = [
        np.asarray(s["log_h"], np.float64)[::-1] / _LN10
        for p in per_seed
        for s in p.get("flow_snapshots", [])
        if s["step"] == step
    ]
    if not curves:
        return None
    a = np.stack(curves)
    a = np.where(np.isfinite(a), a, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(a, axis=0)


def flow_heatmap(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """One panel per training cell: rows = snapshot steps, columns = steps back from T.

    Args:
        records: training sweep records with per-seed flow_snapshots; labels: panel titles.
        title: the figure title.

    Returns:
        matplotlib Figure (colour: log10 ||dL/dh_t||, median over seeds; grey: no finite value).
    """
    n = len(records)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, rec, label in zip(axes.flat, records, labels, strict=False):
        per = rec["result"]["per_seed"]
        steps = sorted({s["step"] for p in per for s in p.get("flow_snapshots", [])})
        grid = [_median_log10(per, st) for st in steps]
        grid = [g for g in grid if g is not None]
        if not grid:
            ax.set_title(f"{label}: no snapshot")
            continue
        img = np.stack(grid)
        cmap = plt.get_cmap("viridis").copy()
        cmap.set_bad("0.75")
        mesh = ax.imshow(
            np.ma.masked_invalid(img),
            aspect="auto",
            origin="lower",
            cmap=cmap,
            extent=(0, img.shape[1], -0.5, len(steps) - 0.5),
        )
        ticks = np.linspace(0, len(steps) - 1, min(5, len(steps))).round().astype(int)
        ax.set_yticks(ticks, [str(steps[i]) for i in ticks])
        ax.set_xlabel("steps back from T")
        ax.set_ylabel("training step")
        ax.set_title(label, fontsize=10)
        fig.colorbar(mesh, ax=ax, label="log10 ||dL/dh_t||")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def flow_half_life(rows: Sequence[Mapping], title: str) -> Any:
    """Half-life of ||dL/dh_t|| against training step, one line per training cell.

    Args:
        rows: `rows.flow_rows` entries (variant, T, steps, half_life, half_life_ci).
        title: the figure title.

    Returns:
        matplotlib Figure; log y axis; an infinite half-life (growing gradient) is drawn at the
        top edge as a triangle.
    """
    fig, ax = plt.subplots(figsize=(8, 4.6))
    top = 1.0
    for r in rows:
        finite = [h for h in r["half_life"] if math.isfinite(h)]
        top = max([top, *finite, r["T"]])
    for i, r in enumerate(rows):
        x = np.asarray(r["steps"], float)
        hl = np.asarray(r["half_life"], float)
        lo = np.asarray([c[1] for c in r["half_life_ci"]], float)
        hi = np.asarray([c[2] for c in r["half_life_ci"]], float)
        col = colour(i)
        shown = np.where(np.isfinite(hl), hl, np.nan)
        ax.plot(x, shown, color=col, lw=1.8, marker="o", ms=3, label=f"{r['variant']} (T={r['T']})")
        ax.fill_between(
            x, np.minimum(lo, 2 * top), np.minimum(hi, 2 * top), color=col, alpha=0.15, lw=0
        )
        inf = ~np.isfinite(hl)
        if inf.any():
            ax.plot(x[inf], np.full(inf.sum(), 2 * top), "^", color=col, ms=6)
        ax.axhline(r["T"], color=col, ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("half-life of ||dL/dh_t|| (steps)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def length_figure(lrows: Sequence[Mapping], title: str) -> Any:
    """Solve rate (with Wilson 95% interval) against sequence length, one line per variant.

    Args:
        lrows: `rows.length_rows` entries; title: the figure title.

    Returns:
        matplotlib Figure, log2 x axis.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for i, lr in enumerate(lrows):
        pts = [(t, r) for t, r in sorted(lr["by_length"].items()) if r is not None]
        if not pts:
            continue
        t = np.asarray([p[0] for p in pts], float) * (1 + 0.03 * (i - len(lrows) / 2))
        rate = np.asarray([p[1]["solve_rate_ci"][0] for p in pts])
        lo = rate - np.asarray([p[1]["solve_rate_ci"][1] for p in pts])
        hi = np.asarray([p[1]["solve_rate_ci"][2] for p in pts]) - rate
        ax.errorbar(
            t, rate, yerr=[lo, hi], color=colour(i), marker="o", capsize=3, label=lr["variant"]
        )
    ax.set_xscale("log", base=2)
    lengths = sorted({t for lr in lrows for t, r in lr["by_length"].items() if r is not None})
    ax.set_xticks(lengths, [str(t) for t in lengths])
    ax.minorticks_off()
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("sequence length T (adding problem)")
    ax.set_ylabel("share of seeds that solved it")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
