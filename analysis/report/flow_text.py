"""One half-life estimator and one flow sentence for every table, legend and sentence of the
report that describes a cell's gradient flow at initialisation (the decay table, its prose,
"Why gating?"), so a cell reused across sections reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from analysis._util import stats
from analysis.flow import classify

__all__ = ["describe_flow", "half_life", "half_life_interval"]


def half_life(rate: float) -> float:
    """Steps for ||dL/dh_t|| to halve going back at a fitted rate per step.

    Args:
        rate: ln-norm change per step back (< 0: fading).

    Returns:
        ln 2 / -rate; inf for a rate >= 0 (the gradient does not fade), nan for nan.
    """
    return math.log(2) / -rate if rate < 0 else (math.nan if math.isnan(rate) else math.inf)


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
