"""Statistics over seeds: Wilson and bootstrap intervals, median/IQR, bands."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis._util import stats


def test_wilson_matches_a_hand_computed_interval():
    # k = 2, n = 3, z = 1.959964 by hand: z^2 = 3.841459, denominator 1 + z^2/3 = 2.280486,
    # centre (2/3 + z^2/6) / 2.280486 = 0.573084, half-width
    # z sqrt(2/27 + z^2/36) / 2.280486 = 0.365424 -> [0.207660, 0.938508]
    # (the "about 0.2 to 0.94" for 2 of 3 seeds).
    got = stats.wilson(2, 3)
    assert got.estimate == pytest.approx(2 / 3)
    assert got.low == pytest.approx(0.207660, abs=2e-6)
    assert got.high == pytest.approx(0.938508, abs=2e-6)


def test_wilson_ends_are_exact_and_the_upper_bound_at_zero_is_z2_over_n_plus_z2():
    z2 = stats.Z95**2
    zero = stats.wilson(0, 8)
    assert zero.low == 0.0 and zero.high == pytest.approx(z2 / (8 + z2), rel=1e-12)
    full = stats.wilson(8, 8)
    assert full.high == 1.0 and full.low == pytest.approx(8 / (8 + z2), rel=1e-12)
    assert all(math.isnan(v) for v in stats.wilson(0, 0))
    with pytest.raises(ValueError, match="successes <= n"):
        stats.wilson(4, 3)


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate_and_is_symmetric(kn):
    k, n = kn
    a, b = stats.wilson(k, n), stats.wilson(n - k, n)
    assert 0 <= a.low <= a.estimate <= a.high <= 1
    assert a.low == pytest.approx(1 - b.high, abs=1e-12)


def test_median_iqr_and_nan_skipping():
    got = stats.median_iqr([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert got == pytest.approx((2.5, 1.75, 3.25))
    assert stats.median(["inf", 1.0, 2.0]) == 2.0
    assert math.isnan(stats.median([float("nan")]))


def test_bootstrap_ci_brackets_the_median_and_narrows_with_n():
    rng = np.random.default_rng(1)
    small = stats.bootstrap_ci(rng.normal(10.0, 1.0, 8))
    large = stats.bootstrap_ci(rng.normal(10.0, 1.0, 400))
    assert small.low <= small.estimate <= small.high
    assert large.low <= 10.0 <= large.high
    assert (large.high - large.low) < (small.high - small.low)
    # the same values give the same interval (fixed generator)
    assert stats.bootstrap_ci([3.0, 1.0, 2.0]) == stats.bootstrap_ci([3.0, 1.0, 2.0])
    one = stats.bootstrap_ci([5.0])
    assert one == (5.0, 5.0, 5.0)


def test_bootstrap_ci_against_an_explicit_resampling_loop():
    values = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    got = stats.bootstrap_ci(values, n_resamples=500, seed=7)
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 5, size=(500, 5))
    meds = np.sort([np.median(values[i]) for i in idx])
    assert got.low == meds[int(np.floor(0.025 * 499))]
    assert got.high == meds[int(np.floor(0.975 * 499))]


def test_separated_and_band():
    assert stats.separated(stats.Interval(0, 0, 1), stats.Interval(3, 2, 4))
    assert not stats.separated(stats.Interval(0, 0, 2), stats.Interval(3, 1, 4))
    x, med, lo, hi = stats.band([[1.0, 2.0, 3.0], [3.0, float("inf")]])
    assert x.tolist() == [0, 1, 2]
    assert med.tolist() == [2.0, 2.0, 3.0] and lo.tolist() == [1.0, 2.0, 3.0]
    assert hi.tolist() == [3.0, 2.0, 3.0]
    assert stats.fmt(1.23456) == "1.23" and stats.fmt(float("inf")) == "inf"


def test_bootstrap_median_in_one_call_equals_the_per_resample_loop():
    # np.median takes the one-call path; the same median behind a lambda takes the loop
    rng = np.random.default_rng(3)
    for values in (rng.exponential(5.0, 8), [1.0, np.inf, 3.0, np.inf, 2.0, 7.0], [np.inf] * 4):
        fast = stats.bootstrap_ci(values, seed=11)
        loop = stats.bootstrap_ci(values, lambda a: np.median(a), seed=11)
        assert fast == loop
