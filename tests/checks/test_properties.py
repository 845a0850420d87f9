"""Each activation of the property set differs from tanh in exactly the properties it declares,
and the measurements agree with closed forms."""

import math

import pytest

from analysis.checks import properties as P


@pytest.fixture(scope="module")
def tanh():
    return P.measure("tanh")


@pytest.mark.parametrize("name", list(P.PROPERTY_SET))
def test_declared_differences_are_the_measured_ones(name, tanh):
    kernel, declared = P.PROPERTY_SET[name]
    assert set(P.differs_from(P.measure(kernel), tanh)) == set(declared)


def test_measurements_match_closed_forms(tanh):
    assert tanh.curvature == pytest.approx(4 / (3 * math.sqrt(3)), rel=1e-4)
    assert tanh.sup_abs == pytest.approx(1.0) and tanh.slope_left == pytest.approx(1.0, abs=1e-6)
    relu = P.measure("relu")
    # E max(Z, 0) = 1 / sqrt(2 pi); one-sided slopes 0 and 1
    assert relu.mean_normal == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-6)
    assert (relu.slope_left, relu.slope_right) == pytest.approx((0.0, 1.0), abs=1e-6)
    leaky = P.measure(P.PROPERTY_SET["leaky_relu(0.2)"][0])
    assert leaky.mean_normal == pytest.approx(0.8 / math.sqrt(2 * math.pi), rel=1e-6)
    asinh = P.measure(P.PROPERTY_SET["asinh"][0])
    assert asinh.curvature == pytest.approx(2 / (3 * math.sqrt(3)), rel=1e-4)
    assert asinh.sup_abs == pytest.approx(math.asinh(P.Z_FAR), rel=1e-9)
    shifted = P.measure(P.PROPERTY_SET["tanh+1"][0])
    assert shifted.f_at_0 == pytest.approx(1.0) and shifted.mean_normal == pytest.approx(1.0)
    sig = P.measure("sigmoid")
    assert sig.mean_normal == pytest.approx(0.5) and sig.slope_right == pytest.approx(0.25)
