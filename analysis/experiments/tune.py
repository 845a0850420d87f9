"""The learning-rate search: every rate of a grid on held-out seeds, in one program, and the
rule that picks one.

A fair comparison gives each variant its own learning rate: each rate of ``grid`` trains on
the same ``seeds`` (the same initialisations and batches at every rate, so rates are compared
on paired seeds), all ``len(grid) * len(seeds)`` models vmapped together with the rate a
traced per-model value (`train.train`'s ``lrs``), so the search compiles one program, and the
evaluation at the chosen rate with as many seeds reuses it. The search's seeds must not be the
evaluation's: `select` never sees an evaluation seed, and `search` refuses seeds that overlap
the ones it is told to keep out.

Rule (`select`): the rate with the most seeds solved; among equals the lowest median final
test loss (a diverged or non-finite loss counts as infinite); among equals the smaller rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.experiments.train import TrainConfig, train

__all__ = ["RateTrial", "search", "select", "trials"]


@dataclass(frozen=True)
class RateTrial:
    """One rate of the grid on the search's seeds.

    Attributes:
        lr: the learning rate.
        solved: seeds that solved the task; seeds: seeds trained at this rate.
        final_test_loss: the median final test loss (inf when half or more are non-finite).
    """

    lr: float
    solved: int
    seeds: int
    final_test_loss: float


def _finite_or_inf(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def trials(per_seed: Sequence[Mapping[str, Any]]) -> tuple[RateTrial, ...]:
    """The search's per-seed results grouped by rate, ascending.

    Args:
        per_seed: `train.train`'s ``per_seed`` entries, each with "lr", "solved_step",
            "diverged_at" and "final_test_loss".

    Returns:
        one RateTrial per distinct rate.
    """
    rates = sorted({float(s["lr"]) for s in per_seed})
    out = []
    for lr in rates:
        mine = [s for s in per_seed if float(s["lr"]) == lr]
        losses = [
            math.inf
            if s["diverged_at"] is not None
            else _finite_or_inf(float(s["final_test_loss"]))
            for s in mine
        ]
        out.append(
            RateTrial(
                lr=lr,
                solved=sum(s["solved_step"] is not None for s in mine),
                seeds=len(mine),
                final_test_loss=float(np.median(losses)),
            )
        )
    return tuple(out)


def select(found: Sequence[RateTrial]) -> float:
    """The rate the rule picks (module docstring): most solved, then lowest median final test
    loss, then the smaller rate.

    Args:
        found: `trials`' rows (at least one).

    Returns:
        the chosen learning rate.

    Example:
        >>> select([RateTrial(0.01, 3, 4, 0.002), RateTrial(0.1, 3, 4, 0.001)])
        0.1
    """
    if not found:
        raise ValueError("select: no rates were tried")
    return min(found, key=lambda t: (-t.solved, t.final_test_loss, t.lr)).lr


def search(
    cfg: TrainConfig,
    grid: Sequence[float],
    seeds: Sequence[int],
    *,
    keep_out: Sequence[int] = (),
    desc: str = "lr search",
) -> dict[str, Any]:
    """Train every rate of `grid` on `seeds` (one program) and pick one.

    Args:
        cfg: the run (its ``lr`` is ignored).
        grid: the learning rates, each finite and > 0, no repeats.
        seeds: the search's seeds.
        keep_out: seeds the search must not use (the evaluation's); an overlap is a
            ValueError before any work.
        desc: progress-bar label.

    Returns:
        `train.train`'s result for the ``len(grid) * len(seeds)`` models (rate-major), with
        "grid", "trials" (each `RateTrial` as a dict) and "chosen_lr" added.
    """
    grid = [float(a) for a in grid]
    if not grid or len(set(grid)) != len(grid):
        raise ValueError(f"search: the grid must list distinct rates, got {grid!r}")
    overlap = sorted(set(int(s) for s in seeds) & set(int(s) for s in keep_out))
    if overlap:
        raise ValueError(f"search: seeds {overlap} are evaluation seeds; use held-out ones")
    models = [(lr, int(s)) for lr in grid for s in seeds]
    result = train(cfg, [s for _, s in models], lrs=[lr for lr, _ in models], desc=desc)
    found = trials(result["per_seed"])
    return {
        **result,
        "grid": grid,
        "trials": [t.__dict__ for t in found],
        "chosen_lr": select(found),
    }
