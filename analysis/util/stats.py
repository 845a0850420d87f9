"""Statistics over seeds: the intervals and exact tests of the report, medians and bands.

Everything the report's one rule (`analysis.report.compare`) and its rows need, on scipy.stats:
Wilson intervals on proportions (``binomtest(...).proportion_ci``), percentile-bootstrap
intervals on medians (``bootstrap``), Fisher's exact test (``fisher_exact``), a permutation
test on medians (``permutation_test``) and Holm's adjustment (written out: scipy has none);
then a NaN-skipping median and a min-max band over ragged seed curves for the figures.
tests/report/test_compare.py checks each against an independent computation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "HALF_LIFE_METHOD",
    "PERMUTATIONS",
    "Estimate",
    "Proportion",
    "band",
    "fisher_p",
    "half_life",
    "half_life_of",
    "holm",
    "median",
    "median_bootstrap",
    "median_iqr",
    "permutation_p",
    "rank_correlation_p",
    "wilson",
]

BOOTSTRAP_RESAMPLES = 2000
PERMUTATIONS = 20_000  # C(16, 8) = 12,870: 8 seeds against 8 are tested exactly
HALF_LIFE_METHOD = "ln 2 / -rate, from the rate's bootstrap 95%"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval.

    ``method``: "median, bootstrap 95%" (percentile bootstrap over seeds), "median, IQR"
    (interquartile range), "ln 2 / -rate, from the rate's bootstrap 95%" (a half-life, whose
    interval ends are the rate interval's ends mapped through ln 2 / -r).
    """

    value: float
    low: float
    high: float
    n: int
    method: str


@dataclass(frozen=True)
class Proportion:
    """k of n with a Wilson 95% interval on k/n (scipy.stats.binomtest(...).proportion_ci)."""

    k: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        """k / n (nan for n = 0)."""
        return self.k / self.n if self.n else math.nan


def wilson(k: int, n: int) -> Proportion:
    """k of n with its Wilson 95% interval.

    Args:
        k: successes; n: trials (n = 0 gives a nan interval).

    Returns:
        the Proportion.
    """
    if n == 0:
        return Proportion(k, n, math.nan, math.nan)
    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Proportion(k, n, float(ci.low), float(ci.high))


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray([float(v) for v in values], np.float64)
    return arr[np.isfinite(arr)]


def median_bootstrap(values: Sequence[float], seed: int = 0) -> Estimate:
    """The median over seeds with a percentile-bootstrap 95% interval (non-finite dropped).

    Args:
        values: per-seed numbers; seed: the resampling seed (same values, same interval).

    Returns:
        the Estimate (nan without a finite value; low = high = value for one).
    """
    arr = _finite(values)
    method = "median, bootstrap 95%"
    if arr.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, method)
    med = float(np.median(arr))
    if arr.size == 1 or np.all(arr == arr[0]):
        return Estimate(med, med, med, int(arr.size), method)
    res = scipy.stats.bootstrap(
        (arr,),
        np.median,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return Estimate(med, float(ci.low), float(ci.high), int(arr.size), method)


def median_iqr(values: Sequence[float]) -> Estimate:
    """The median and interquartile range (non-finite dropped; nan for none)."""
    arr = _finite(values)
    if arr.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, "median, IQR")
    q25, q50, q75 = np.percentile(arr, [25, 50, 75])
    return Estimate(float(q50), float(q25), float(q75), int(arr.size), "median, IQR")


def half_life(rate: float) -> float:
    """ln 2 / -rate: steps for ||dL/dh_t|| to halve going back; inf when rate >= 0."""
    if math.isnan(rate):
        return math.nan
    return math.log(2) / -rate if rate < 0 else math.inf


def half_life_of(rate: Estimate) -> Estimate:
    """The half-life of a rate estimate: ln 2 / -r is increasing in r, so the rate interval's
    ends bound it (the one half-life estimator of the page)."""
    return Estimate(
        half_life(rate.value),
        half_life(rate.low),
        half_life(rate.high),
        rate.n,
        HALF_LIFE_METHOD,
    )


def fisher_p(a: Proportion, b: Proportion) -> float:
    """Two-sided Fisher's exact test of k_a/n_a against k_b/n_b."""
    table = [[a.k, a.n - a.k], [b.k, b.n - b.k]]
    return float(scipy.stats.fisher_exact(table, alternative="two-sided").pvalue)


def _median_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis) - np.median(y, axis=axis)


def permutation_p(x: Sequence[float], y: Sequence[float], seed: int = 0) -> float:
    """Two-sided permutation test of median(x) - median(y) (non-finite values dropped).

    Returns:
        the p-value; nan with fewer than two finite values on a side.
    """
    xs, ys = _finite(x), _finite(y)
    if xs.size < 2 or ys.size < 2:
        return math.nan
    res = scipy.stats.permutation_test(
        (xs, ys),
        _median_difference,
        permutation_type="independent",
        alternative="two-sided",
        n_resamples=PERMUTATIONS,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(res.pvalue)


def rank_correlation_p(
    x: Sequence[float], y: Sequence[float], seed: int = 0
) -> tuple[float, float]:
    """Spearman's rank correlation of x and y with a two-sided permutation p-value (y's order
    shuffled against x's; non-finite pairs dropped).

    Returns:
        (rho, p); (nan, nan) with fewer than three finite pairs or a constant side.
    """
    pairs = [(float(a), float(b)) for a, b in zip(x, y, strict=True)]
    pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return math.nan, math.nan
    xs, ys = (np.asarray(v, np.float64) for v in zip(*pairs, strict=True))
    if np.all(xs == xs[0]) or np.all(ys == ys[0]):
        return math.nan, math.nan  # a constant side has no ranks to correlate

    def rho(y_perm: np.ndarray) -> float:
        return float(scipy.stats.spearmanr(xs, y_perm).statistic)

    res = scipy.stats.permutation_test(
        (ys,),
        rho,
        permutation_type="pairings",
        alternative="two-sided",
        n_resamples=PERMUTATIONS,
        rng=np.random.default_rng(seed),
    )
    return float(res.statistic), float(res.pvalue)


def holm(ps: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (nan p-values are left out of the count and stay nan).

    Formula: with the m finite p-values sorted, p_(i) becomes max over j <= i of
    min(1, (m - j + 1) p_(j)).
    """
    order = sorted((p, i) for i, p in enumerate(ps) if not math.isnan(p))
    m = len(order)
    out = [math.nan] * len(ps)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


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
