"""The medians and bands over seeds that the decay summary and the figures share."""

import math

import pytest

from analysis.util import stats


def test_median_skips_nan_and_keeps_inf():
    assert stats.median([1.0, float("nan"), 3.0]) == pytest.approx(2.0)
    assert stats.median(["inf", 1.0, 2.0]) == pytest.approx(2.0)
    assert math.isnan(stats.median([float("nan")]))


def test_band_pads_ragged_rows_and_ignores_non_finite_values():
    x, med, lo, hi = stats.band([[1.0, 2.0, 3.0], [3.0, float("inf")]])
    assert x.tolist() == [0, 1, 2]
    assert med.tolist() == [2.0, 2.0, 3.0] and lo.tolist() == [1.0, 2.0, 3.0]
    assert hi.tolist() == [3.0, 2.0, 3.0]
