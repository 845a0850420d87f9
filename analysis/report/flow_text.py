"""One half-life estimator and one flow sentence for every table, legend and sentence of the
report that describes a cell's gradient flow at initialisation (the decay table, its prose,
"Why gating?"), so a cell reused across sections reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from analysis._util import stats
from analysis.flow import classify

__all__ = [
    "Spread",
    "describe_flow",
    "half_life",
    "half_life_interval",
    "non_finite_seeds",
    "rate_spread",
]


def half_life(rate: float) -> float:
    """Steps for ||dL/dh_t|| to halve going back at a fitted rate per step.

    Args:
        rate: ln-norm change per step back (< 0: fading).

    Returns:
        ln 2 / -rate; inf for a rate >= 0 (the gradient does not fade), nan for nan.
    """
    return math.log(2) / -rate if rate < 0 else (math.nan if math.isnan(rate) else math.inf)


def non_finite_seeds(reasons: Sequence[str | None]) -> int:
    """Seeds of a decay record whose gradient or state went non-finite.

    Args:
        reasons: the record's ``exploded_reasons``, one per seed (None: nothing exploded).

    Returns:
        how many name a non-finite value.
    """
    return sum("non-finite" in (r or "") for r in reasons)


def describe_flow(rate: float, hl: float, unbounded: bool, non_finite: int, seeds: int) -> str:
    """`classify.describe`, saying how many seeds were non-finite (one of eight is enough to
    make a cell "exploding", and the page says so) or that no rate could be fitted.

    Args:
        rate: the median fitted rate; hl: its half-life; unbounded: max |state| > T;
        non_finite: seeds with a non-finite gradient or state; seeds: seeds measured.

    Returns:
        e.g. "vanishing (half-life 24.8 steps)", "exploding (non-finite in 2/8 seeds)".
    """
    text = classify.describe(rate, hl, not non_finite, unbounded)
    if non_finite:
        return text.replace("(non-finite)", f"(non-finite in {non_finite}/{seeds} seeds)")
    return text.replace("(non-finite)", "(no rate fitted: fewer than 2 finite points)")


def half_life_interval(rates: Sequence[float]) -> list[float]:
    """The half-life of a cell at initialisation with its interval, one estimator for the
    decay table, its prose and "Why gating?" (ln 2 / -r rises with r, so the rate interval's
    ends bound it; a median of per-seed half-lives would differ from ln 2 / -median rate for
    an even number of seeds).

    Args:
        rates: per-seed fitted rates.

    Returns:
        [ln 2 / -r, ln 2 / -lo, ln 2 / -hi] for the median r and its bootstrap 95% interval.
    """
    iv = stats.bootstrap_ci(rates)
    return [half_life(iv.estimate), half_life(iv.low), half_life(iv.high)]


class Spread(NamedTuple):
    """The slowest and fastest fading decay rows, their rate ratio, whether their half-life
    intervals separate."""

    slow: Mapping[str, Any]
    fast: Mapping[str, Any]
    ratio: float
    separated: bool


def rate_spread(rows: Sequence[Mapping[str, Any]]) -> Spread | None:
    """How far the activations move the decay rate among decay rows of one setting.

    Args:
        rows: decay rows (``rate``, ``flow``, ``half_life_ci``); only "vanishing" ones count.

    Returns:
        a Spread, or None with fewer than two fading rows.
    """
    fading = [r for r in rows if r.get("flow") == "vanishing" and float(r["rate"]) < 0]
    if len(fading) < 2:
        return None
    slow = max(fading, key=lambda r: float(r["rate"]))
    fast = min(fading, key=lambda r: float(r["rate"]))
    a, b = (stats.Interval(*(float(v) for v in r["half_life_ci"])) for r in (slow, fast))
    return Spread(slow, fast, float(fast["rate"]) / float(slow["rate"]), stats.separated(a, b))

