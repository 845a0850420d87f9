"""Small statistics over seeds: Wilson intervals, bootstrap intervals, medians and IQRs.

One home for what the report, the training figures and the decay summary each used to write
for themselves (a median that skips NaN, a min-max band over ragged seed curves, a number
formatter). Pure numpy; nothing here imports JAX.

References:
    Wilson (1927), "Probable inference, the law of succession, and statistical inference",
    JASA 22(158); Brown, Cai & DasGupta (2001), "Interval estimation for a binomial
    proportion", Statistical Science 16(2) (why Wilson, not the normal interval, at small n);
    Efron & Tibshirani (1993), "An Introduction to the Bootstrap", ch. 13 (percentile interval).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "Z95",
    "Interval",
    "band",
    "bootstrap_ci",
    "fmt",
    "median",
    "median_iqr",
    "separated",
    "wilson",
]

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


class Interval(NamedTuple):
    """A point estimate with a lower and an upper bound (nan where undefined)."""

    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for a binomial proportion.

    Formula: with p = k/n, centre = (p + z^2/(2n)) / (1 + z^2/n) and half-width
    z sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n); the interval is centre -/+ half-width.

    Args:
        successes: k, an integer in [0, n].
        n: trials, an integer >= 0 (n = 0 gives nan bounds).
        z: the normal quantile (1.96 for 95%).

    Returns:
        Interval(estimate=k/n, low, high), bounds inside [0, 1].
    """
    if isinstance(successes, bool) or isinstance(n, bool) or not 0 <= successes <= n:
        raise ValueError(f"wilson: need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact 0 and 1 at the ends: rounding would otherwise leave 1e-17 above 0 at k = 0.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high)


def median(values: Sequence[float]) -> float:
    """Median of the non-NaN values (inf counts); nan when none is left.

    Args:
        values: (N,) numbers; the JSON strings "inf"/"nan" convert.

    Returns:
        float median.
    """
    arr = np.asarray([float(v) for v in values], np.float64)
    arr = arr[~np.isnan(arr)]
    return float(np.median(arr)) if arr.size else math.nan


def median_iqr(values: Sequence[float]) -> Interval:
    """Median with the interquartile range (25th and 75th percentiles, linear), NaN skipped.

    Args:
        values: (N,) numbers.

    Returns:
        Interval(median, q25, q75); all nan for no usable value.
    """
    arr = np.asarray([float(v) for v in values], np.float64)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return Interval(math.nan, math.nan, math.nan)
    q25, q50, q75 = np.percentile(arr, [25, 50, 75])
    return Interval(float(q50), float(q25), float(q75))


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[np.ndarray], float] = np.median,
    *,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``stat`` over seeds.

    Formula: draw n_resamples resamples of the N values with replacement, compute stat on
    each; the interval is their (1-level)/2 and (1+level)/2 quantiles. NaN values are
    dropped first; inf values stay (a median of half-lives may be inf).

    Args:
        values: (N,) per-seed numbers.
        stat: reduces a (N,) array to a number (default the median).
        n_resamples: bootstrap draws (fixed seed: the same values give the same interval).
        level: coverage, in (0, 1).
        seed: numpy Generator seed.

    Returns:
        Interval(stat(values), low, high); nan for no usable value; low = high for N = 1.
    """
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_ci: level must be in (0, 1), got {level}")
    arr = np.asarray([float(v) for v in values], np.float64)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return Interval(math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_resamples, arr.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf inside a median of infs
        if stat is np.median:  # one call over all resamples: 2000 calls cost ~0.13 s each use
            draws = np.median(arr[idx], axis=1)
        else:
            draws = np.asarray([stat(arr[i]) for i in idx], np.float64)
        est = float(stat(arr))
    draws = draws[~np.isnan(draws)]
    if not draws.size:
        return Interval(est, math.nan, math.nan)
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], method="lower")
    return Interval(est, float(lo), float(hi))


def separated(a: Interval, b: Interval) -> bool:
    """True when the two intervals do not overlap (and both are defined).

    Args:
        a, b: intervals.

    Returns:
        a.high < b.low or b.high < a.low.
    """
    vals = (a.low, a.high, b.low, b.high)
    if any(math.isnan(v) for v in vals):
        return False
    return a.high < b.low or b.high < a.low


def band(rows: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median and min-max over seeds of curves that may stop early (a diverged seed).

    Args:
        rows: S sequences of lengths L_s; shorter rows are padded with NaN, non-finite
            values count as missing.

    Returns:
        (x (L,), median (L,), min (L,), max (L,)) with L = max L_s, x = 0..L-1; a column with
        no value is NaN (a gap when plotted).
    """
    length = max((len(r) for r in rows), default=0)
    ys = np.full((len(rows), length), np.nan)
    for i, r in enumerate(rows):
        y = np.asarray([float(v) for v in r], np.float64)
        ys[i, : y.size] = np.where(np.isfinite(y), y, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
        return (
            np.arange(length),
            np.nanmedian(ys, 0) if len(rows) else ys[:0],
            np.nanmin(ys, 0) if len(rows) else ys[:0],
            np.nanmax(ys, 0) if len(rows) else ys[:0],
        )


def fmt(x: float, digits: int = 3) -> str:
    """A number for prose and tables: ``digits`` significant digits; inf/nan spelled out.

    Args:
        x: the number.
        digits: significant digits.

    Returns:
        e.g. "0.123", "1.2e+17", "inf", "nan".
    """
    x = float(x)
    return f"{x:.{digits}g}" if math.isfinite(x) else str(x)
