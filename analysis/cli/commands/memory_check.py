"""The memory guard of `actgrad decay` and `actgrad train`: refuse a sweep that cannot fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["check_sweep"]


def check_sweep(
    configs: Sequence[Any], n_seeds: int, describe: Callable[[Any, int], str], advice: str
) -> None:
    """UsageError (one line) if the cells of a sweep that may run at once cannot fit in memory.

    Formula: `memory.sweep_bytes` of every config's ``estimated_bytes(n_seeds)``, with k =
    min(cells, max(worker processes, compile threads)) cells at once (`sweep.run`).

    Args:
        configs: the cells' DecayConfig or TrainConfig, not empty; n_seeds: seeds per cell.
        describe: (the largest cell's config, k) -> the run named by its sizes.
        advice: what to reduce, e.g. "reduce --length or --seeds".
    """
    from analysis.runtime import memory, pool
    from analysis.util.constants import DEFAULT_COMPILE_WORKERS
    from analysis.util.errors import as_usage_error

    sizes = [c.estimated_bytes(n_seeds) for c in configs]
    k = min(len(sizes), max(pool.default_processes(), DEFAULT_COMPILE_WORKERS))
    big = configs[sizes.index(max(sizes))]
    with as_usage_error():  # a malformed ACTGRAD_MEMORY_LIMIT is a user's mistake too
        memory.require(memory.sweep_bytes(sizes, k), describe(big, k), advice)
