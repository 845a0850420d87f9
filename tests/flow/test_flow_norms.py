"""Log-space per-step gradient norms: against float64 AD of the plain scan, and at T = 10^5."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis.cells import lstm
from analysis.cells.lstm import norms as lstm_norms
from analysis.flow import gradients


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _plain_log_norms(params, xs, cfg, loss, h0=None, c0=None):
    """ln of the float64 Frobenius norms of JAX's own gradients through the plain scan."""
    gc, gh = gradients.per_step_grads(params, xs, cfg, loss, h0, c0)
    with np.errstate(divide="ignore"):
        return (
            np.log(np.asarray(gradients.frobenius_per_step(gh))),
            np.log(np.asarray(gradients.frobenius_per_step(gc))),
        )


def test_log_norms_equal_float64_logs_at_t2000():
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=8, dtype="float64", forget_bias=0.0)
    params = lstm.init(jax.random.key(0), cfg)
    xs = jax.random.normal(jax.random.key(1), (2, 2000, 2), jnp.float64)
    norms = gradients.per_step_grad_norms(params, xs, cfg)
    ref_h, ref_c = _plain_log_norms(params, xs, cfg, None)
    assert norms.log_h.dtype == jnp.float64 and norms.log_h.shape == (2000,)
    # where the oracle's entries are normal float64 numbers: near e^-708 its own gradients go
    # subnormal and lose digits (and then underflow to 0, log -inf)
    normal = np.log(np.finfo(np.float64).tiny) + 60
    finite = (ref_h > normal) & (ref_c > normal)
    assert finite.sum() > 1000 and not finite.all()  # the oracle reaches far, not to the end
    np.testing.assert_allclose(norms.log_h[finite], ref_h[finite], rtol=1e-6)
    np.testing.assert_allclose(norms.log_c[finite], ref_c[finite], rtol=1e-6)
    assert np.isfinite(norms.log_h).all() and np.isfinite(norms.log_c).all()
    np.testing.assert_allclose(norms.h[finite], np.exp(ref_h[finite]), rtol=1e-9)
    assert (norms.h == 0).any()  # even float64 underflows here; its log does not


@pytest.mark.parametrize("checkpoint_every", [0, 3])
@pytest.mark.parametrize(
    "loss,kw",
    [
        (None, {"candidate": "gelu"}),
        ("mean", {"output": "relu", "gate": "hard_sigmoid"}),
        (lambda hs: jnp.sum(jnp.sin(hs[:, ::2])), {"candidate": "relu"}),
    ],
    ids=["last-gelu", "mean-relu-hard-sigmoid", "callable-relu"],
)
def test_fused_log_norms_match_plain_scan_float64(loss, kw, checkpoint_every):
    # T = 11 with K = 3: three chunks and a tail of two steps; h0, c0 non-zero.
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=3, dtype="float64", **kw)
    params = jax.tree.map(lambda p: 2.0 * p, lstm.init(jax.random.key(0), cfg))
    xs = jax.random.normal(jax.random.key(1), (2, 11, 2), jnp.float64)
    h0, c0 = 0.3 * jnp.ones((2, 3)), -0.4 * jnp.ones((2, 3))
    fn = gradients.resolve_loss(loss)
    log_h, log_c = lstm_norms.grad_log_norms(params, xs, cfg, fn, h0, c0, checkpoint_every)
    ref_h, ref_c = _plain_log_norms(params, xs, cfg, loss, h0, c0)
    np.testing.assert_allclose(log_h, ref_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(log_c, ref_c, rtol=1e-12, atol=1e-12)


def test_zero_weights_t100000_float32_finite_with_slope_ln_f():
    hn, b_f, t_len = 8, 1.0, 100_000
    b = np.zeros(4 * hn, np.float32)
    b[hn : 2 * hn], b[2 * hn : 3 * hn] = b_f, 0.7
    z = jnp.zeros
    params = lstm.LSTMParams(z((1, 4 * hn), jnp.float32), z((hn, 4 * hn), jnp.float32), b)
    cfg = lstm.LSTMConfig(hidden_size=hn)
    xs = jnp.zeros((1, t_len, 1), jnp.float32)
    norms = gradients.per_step_grad_norms(params, xs, cfg)
    assert norms.log_c.dtype == jnp.float32
    assert np.isfinite(norms.log_c).all()
    assert (norms.c == 0).sum() > 0.9 * t_len  # the plain float32 norm underflows
    f = float(jax.nn.sigmoid(jnp.float32(b_f)))  # the float32 gate the cell computes with
    fit = gradients.fit_decay(log_norms=norms.log_c)
    assert fit.rate == pytest.approx(math.log(f), rel=1e-6) and fit.n_used == t_len
    # log||dL/dc_0|| = log||dL/dc_{T-1}|| + (T-1) ln f, to float32 resolution of the value
    expect = float(norms.log_c[-1]) + (t_len - 1) * math.log(f)
    assert float(norms.log_c[0]) == pytest.approx(expect, rel=1e-6)
    # with W_hh = 0, h_t reaches the loss only at t = T-1: dL/dh_t = 0 exactly before it
    assert np.isfinite(norms.log_h[-1]) and (norms.log_h[:-1] == -np.inf).all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_log_norms_stay_finite(dtype):
    cfg = lstm.LSTMConfig(hidden_size=4, dtype=dtype, forget_bias=0.0)
    cfg64 = lstm.LSTMConfig(hidden_size=4, dtype="float64", forget_bias=0.0)
    params = lstm.init(jax.random.key(0), cfg)
    xs = jax.random.normal(jax.random.key(1), (2, 300, 1), jnp.float32)
    norms = gradients.per_step_grad_norms(params, xs, cfg)
    assert norms.h.dtype == jnp.dtype(dtype) and norms.log_h.dtype == jnp.float32
    assert (norms.h == 0).any() and np.isfinite(norms.log_h).all()
    params64 = jax.tree.map(lambda a: a.astype(jnp.float64), params)
    ref = gradients.per_step_grad_norms(params64, xs.astype(cfg.jnp_dtype), cfg64)
    fit, fit64 = (gradients.fit_decay(log_norms=n.log_h) for n in (norms, ref))
    assert fit.rate == pytest.approx(fit64.rate, rel=0.05)


def test_nonfinite_input_raises_with_index_and_propagates_under_tracing():
    cfg = lstm.LSTMConfig(hidden_size=3)
    params = lstm.init(jax.random.key(0), cfg)
    xs = np.zeros((2, 5, 1), np.float32)
    xs[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"per_step_grad_norms: xs .* at index \(1, 3, 0\)"):
        gradients.per_step_grad_norms(params, xs, cfg)
    with pytest.raises(ValueError, match=r"index \(1, 3, 0\)"):
        gradients.telemetry(params, xs, cfg)
    # traced (under jit or vmap there is no value to check): NaN propagates and is reported
    norms = jax.jit(lambda x: gradients.per_step_grad_norms(params, x, cfg))(xs)
    assert np.isnan(norms.log_h).all()  # h_T is NaN in one sequence, so is every dL/dh_t
    fit = gradients.fit_decay(log_norms=norms.log_h)
    assert fit.first_nonfinite == 0 and fit.n_used == 0 and math.isnan(fit.rate)
