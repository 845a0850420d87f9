"""The figures of the training reproductions (copy, adding, parity): each takes the result a
reproduction's ``compare`` returns and draws one Axes on a new matplotlib Figure (made
directly, not through pyplot: nothing global changes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis import plot

__all__ = ["adding", "copy", "parity"]


def _axes(size: tuple[float, float] = (6.0, 3.6)) -> Any:
    return plot.new_axes(size)


def copy(result: dict) -> Any:
    """Test cross-entropy over the memoryless baseline against training steps, one colour per
    delay T and one line per seed, with the baseline (1) and the "below" line (0.9).

    Args:
        result: `copy_arjovsky.compare`'s result.

    Returns:
        the Axes.
    """
    ax = _axes()
    for i, (delay, curve) in enumerate(result["curves"].items()):
        for j, ratios in enumerate(curve["ratios"]):
            label = f"T = {delay}" if j == 0 else None
            ax.plot(curve["steps"], ratios, color=plot.PALETTE[i % 9], label=label, lw=1.2)
    ax.axhline(1.0, color="0.4", ls="--", lw=0.8, label="memoryless baseline")
    ax.axhline(0.9, color="0.6", ls=":", lw=0.8, label="below (0.9)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("test cross-entropy / 10 ln 8 / (T + 20)")
    ax.set_title("copy task, LSTM (Arjovsky et al. 2016 setting)", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def adding(result: dict) -> Any:
    """Test MSE against training steps, one colour per initializer, one line per seed, with the baseline MSE and the MSE
    that an error of 0.04 on every sequence would give (0.04^2).

    Args:
        result: `adding_hochreiter.compare`'s result.

    Returns:
        the Axes.
    """
    ax = _axes()
    for i, (init, curves) in enumerate(result["curves"].items()):
        for j, curve in enumerate(curves["test_loss"]):
            label = init if j == 0 else None
            ax.plot(curves["steps"], curve, color=plot.PALETTE[i % 9], lw=1.2, label=label)
    ax.axhline(result["baseline"], color="0.4", ls="--", lw=0.8, label="predict 0.5")
    ax.axhline(0.04**2, color="0.6", ls=":", lw=0.8, label="0.04 squared")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("test MSE")
    ax.set_title("adding problem, T = 100 (Hochreiter & Schmidhuber 1997 form)", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def parity(result: dict) -> Any:
    """Accuracy against string length for each variant's best run, with the longest training
    length marked and chance (0.5).

    Args:
        result: `parity_deletang.compare`'s result.

    Returns:
        the Axes.
    """
    ax = _axes()
    for i, (name, acc) in enumerate(result["curves"].items()):
        lengths = np.arange(1, len(acc) + 1)
        ax.plot(lengths, acc, color=plot.PALETTE[i % 9], lw=1.2, label=name)
    first = result["test_lengths"][0]
    ax.axvline(first - 0.5, color="0.4", ls="--", lw=0.8, label="longest training length")
    ax.axhline(0.5, color="0.6", ls=":", lw=0.8, label="chance")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("string length")
    ax.set_ylabel("test accuracy (best run)")
    ax.set_title("parity (Delétang et al. 2023): train 1-40, test longer", fontsize=9)
    ax.legend(fontsize=7)
    return ax
