"""fit_decay on log-norms: the same fit as on norms, zeros and non-finite points reported."""

import math

import numpy as np
import pytest

from analysis.flow import gradients


def test_log_norms_give_the_norms_fit_and_reach_past_underflow():
    t_len, rate = 400, -0.7
    s = np.arange(t_len)[::-1].astype(np.float64)
    logs = math.log(3.0) + rate * s  # down to e^-279: float32 norms would be 0 there
    from_logs = gradients.fit_decay(log_norms=logs)
    assert from_logs.rate == pytest.approx(rate, abs=1e-12) and from_logs.n_used == t_len
    assert from_logs.half_life == pytest.approx(math.log(2) / 0.7, rel=1e-12)
    norms32 = np.exp(logs).astype(np.float32)  # what a float32 norm keeps
    from_norms = gradients.fit_decay(norms32)
    assert from_norms.underflow_at is not None and from_norms.n_used < t_len
    assert from_logs.underflow_at is None and from_logs.first_nonfinite is None


def test_grad_norms_tuple_fits_its_log_h():
    s = np.arange(20)[::-1].astype(np.float64)
    log_h, log_c = -0.2 * s, -0.5 * s
    norms = gradients.GradNorms(np.exp(log_h), np.exp(log_c), log_h, log_c)
    assert gradients.fit_decay(norms) == gradients.fit_decay(log_norms=log_h)
    assert gradients.fit_decay(norms.h).rate == pytest.approx(-0.2, abs=1e-12)


def test_minus_inf_is_underflow_and_nan_or_inf_is_nonfinite():
    logs = -0.1 * np.arange(30)[::-1].astype(np.float64)
    logs[:3] = -np.inf  # exactly zero gradients at the oldest steps (s = 27..29)
    logs[20] = np.nan  # s = 9
    logs[25] = np.inf  # s = 4
    fit = gradients.fit_decay(log_norms=logs)
    assert fit.underflow_at == 27 and fit.first_nonfinite == 4 and fit.n_used == 25
    assert fit.rate == pytest.approx(-0.1, abs=1e-12)
    empty = gradients.fit_decay(log_norms=np.full(4, np.nan))
    assert math.isnan(empty.rate) and empty.first_nonfinite == 0 and empty.n_used == 0


def test_bad_arguments():
    with pytest.raises(TypeError, match="exactly one"):
        gradients.fit_decay(np.ones(3), log_norms=np.zeros(3))
    with pytest.raises(TypeError, match="exactly one"):
        gradients.fit_decay()
    with pytest.raises(ValueError, match="1-D"):
        gradients.fit_decay(log_norms=np.zeros((2, 2)))
