"""Wall-clock timing done right: warm-up excluded, `block_until_ready`, medians, interleaving."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax

__all__ = ["time_call", "time_interleaved"]


def time_call(fn: Callable[..., Any], *args: Any, repeats: int = 20, warmup: int = 2) -> dict:
    """Median (and min, max) seconds of ``fn(*args)``; compile time measured separately.

    The first call's time is reported as ``first_s`` (it includes compilation); `warmup`
    further calls are discarded before `repeats` timed calls.
    """
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    for _ in range(warmup):
        jax.block_until_ready(fn(*args))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        samples.append(time.perf_counter() - t0)
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "first_s": first,
        "repeats": repeats,
    }


def time_interleaved(
    fns: Mapping[str, Callable[[], Any]], *, repeats: int = 15, warmup: int = 2
) -> dict[str, dict]:
    """Time several zero-argument callables round-robin, so drift in machine load hits all alike.

    Returns name -> {median_s, min_s, max_s, first_s, repeats}.
    """
    first = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        first[name] = time.perf_counter() - t0
        for _ in range(warmup):
            jax.block_until_ready(fn())
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            samples[name].append(time.perf_counter() - t0)
    return {
        name: {
            "median_s": statistics.median(s),
            "min_s": min(s),
            "max_s": max(s),
            "first_s": first[name],
            "repeats": repeats,
        }
        for name, s in samples.items()
    }
