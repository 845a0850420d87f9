"""Figures for `actgrad train` and the report: held-out loss and gradient norm per step.

Each takes the variants' results (``{"label", "config", **train.train(...) result}``), draws
the median over seeds with a min-max band, marks divergence with a dotted line, and writes
PNG + SVG with the config beside them (`analysis._util.io.save_figure`).
"""

from __future__ import annotations

from typing import Any

from analysis._util import stats

__all__ = ["plot_grad_norm", "plot_test_loss"]


def _floats(values: list) -> Any:
    import numpy as np

    # Non-finite numbers come back from results.jsonl as the strings "nan", "inf", "-inf".
    return np.asarray([float(v) for v in values], dtype=float)


def _band(series: list[tuple[Any, Any]]) -> tuple[Any, Any, Any, Any]:
    """(x, median, min, max) over seeds of (x, y) series that may stop early (divergence)."""
    longest = max(series, key=lambda s: len(s[0]))[0]
    _, med, lo, hi = stats.band([y for _, y in series])
    return longest, med, lo, hi


def _figure(
    variants: list[dict],
    out: Any,
    stem: str,
    config: dict,
    series_of: Any,
    ylabel: str,
    title: str,
    baselines: bool,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis._util.io import save_figure

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, v in enumerate(variants):
        color = f"C{i % 10}"
        x, mid, lo, hi = _band([series_of(s) for s in v["per_seed"]])
        n = len(v["per_seed"])
        what = "1 seed" if n == 1 else f"median of {n} seeds, band min-max"
        ax.plot(x, mid, color=color, lw=1.4, label=f"{v['label']} ({what})")
        if n > 1:
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
        for s in v["per_seed"]:
            if s["diverged_at"] is not None:
                ax.axvline(s["diverged_at"], color=color, ls=":", lw=1)
    if baselines:
        seen = set()
        for v in variants:
            key = (v["task"]["name"], v["task"]["T"])
            if key not in seen:
                seen.add(key)
                ax.axhline(
                    v["baseline"],
                    color="0.3",
                    ls="--",
                    lw=1,
                    label=f"baseline {key[0]} T={key[1]}: {v['baseline']:.3g}",
                )
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, out, stem, config)


def plot_test_loss(variants: list[dict], out: Any, config: dict) -> None:
    """OUT/train.png|svg: held-out loss per variant (median, min-max band), task baseline.

    Args:
        variants: [{"label", "config", **train.train result}]; out: the folder;
        config: written beside the figure.
    """
    _figure(
        variants,
        out,
        "train",
        config,
        lambda s: (_floats(s["test_steps"]), _floats(s["test_loss"])),
        "test loss (held-out batch)",
        "test loss; dotted: divergence",
        baselines=True,
    )


def plot_grad_norm(variants: list[dict], out: Any, config: dict) -> None:
    """OUT/grad_norm.png|svg: global gradient norm per step per variant.

    Args:
        variants: as `plot_test_loss`; out: the folder; config: written beside the figure.
    """
    _figure(
        variants,
        out,
        "grad_norm",
        config,
        lambda s: (_floats(range(len(s["grad_norm"]))), _floats(s["grad_norm"])),
        "global gradient norm ||g||_2 (before clipping)",
        "gradient norm per training step",
        baselines=False,
    )
