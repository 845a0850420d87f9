"""Per-step gradient norms, decay fits, Lyapunov exponents and telemetry against oracles."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis.cells import lstm
from analysis.flow import gradients

JNP_ACTS = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ------------------------------------------------------------------ one pass = separate


def _cell(params, cfg, x_t, h, c):
    """The textbook cell in plain jnp (no lstm.step), returning (h, c, o)."""
    hn = cfg.hidden_size
    z = x_t @ params.w_ih + h @ params.w_hh + params.b
    i, f, g, o = (z[:, k * hn : (k + 1) * hn] for k in range(4))
    gate, cand, out = (JNP_ACTS[n] for n in (cfg.gate, cfg.candidate, cfg.output))
    c = gate(f) * c + gate(i) * cand(g)
    return gate(o) * out(c), c, gate(o)


def _separate_grads(params, cfg, xs, loss):
    """dL/dh_t and dL/dc_t for each t by its own jax.grad, re-running the tail from t."""
    bsz, t_len, _ = xs.shape
    out = _cell.__globals__["JNP_ACTS"][cfg.output]
    h = c = jnp.zeros((bsz, cfg.hidden_size), jnp.float64)
    hs, cs, os_ = [], [], []
    for t in range(t_len):
        h, c, o = _cell(params, cfg, xs[:, t], h, c)
        hs.append(h), cs.append(c), os_.append(o)

    def tail(t, h, c):
        seq = [*hs[:t], h]
        for s in range(t + 1, t_len):
            h, c, _ = _cell(params, cfg, xs[:, s], h, c)
            seq.append(h)
        return loss(jnp.stack(seq, axis=1))

    gh = [jax.grad(lambda h_t, t=t: tail(t, h_t, cs[t]))(hs[t]) for t in range(t_len)]
    gc = [jax.grad(lambda c_t, t=t: tail(t, os_[t] * out(c_t), c_t))(cs[t]) for t in range(t_len)]
    return jnp.stack(gh), jnp.stack(gc)


@pytest.mark.parametrize(
    "loss,kw",
    [
        (None, {}),
        ("mean", {"candidate": "relu"}),
        (lambda hs: jnp.sum(jnp.sin(hs[:, ::2])), {"output": "relu", "forget_bias": 0.0}),
    ],
    ids=["last", "mean-relu-candidate", "callable-relu-output"],
)
def test_one_pass_equals_separate_gradients(loss, kw):
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=3, dtype="float64", **kw)
    params = lstm.init(jax.random.key(0), cfg)
    xs = jax.random.normal(jax.random.key(1), (2, 6, 2), jnp.float64)
    gc, gh = gradients.per_step_grads(params, xs, cfg, loss)
    ref_loss = gradients.last_output_loss if loss is None else gradients.resolve_loss(loss)
    ref_gh, ref_gc = _separate_grads(params, cfg, xs, ref_loss)
    np.testing.assert_allclose(gh, ref_gh, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(gc, ref_gc, rtol=1e-11, atol=1e-14)
    norms = gradients.per_step_grad_norms(params, xs, cfg, loss)
    np.testing.assert_allclose(norms.h, np.linalg.norm(ref_gh.reshape(6, -1), axis=1), rtol=1e-11)
    np.testing.assert_allclose(norms.c, np.linalg.norm(ref_gc.reshape(6, -1), axis=1), rtol=1e-11)


def test_norm_is_scaled_against_underflow_and_flags_nonfinite():
    g = jnp.array([[1e-30, 1e-30], [3.0, 4.0], [jnp.inf, 1.0], [jnp.nan, 1.0], [0.0, 0.0]])
    got = gradients.frobenius_per_step(g.astype(jnp.float32))
    # plain float32 sum of squares would give 0 for the first row (1e-60 underflows)
    np.testing.assert_allclose(got[:2], [math.sqrt(2) * 1e-30, 5.0], rtol=1e-6)
    assert got[2] == np.inf and np.isnan(got[3]) and got[4] == 0


# ------------------------------------------------------------------ zero-weight oracle


def _zero_weight_params(hn, b_f, b_g=0.7):
    b = np.zeros(4 * hn)
    b[hn : 2 * hn] = b_f
    b[2 * hn : 3 * hn] = b_g  # a non-zero candidate, so c and h_T (and the loss) are not 0
    z = jnp.zeros
    return lstm.LSTMParams(z((1, 4 * hn), jnp.float64), z((hn, 4 * hn), jnp.float64), jnp.array(b))


@pytest.mark.parametrize("b_f", [-1.0, 0.0, 1.0, 3.0])
def test_zero_weight_oracle_ratio_and_rate(b_f):
    hn, t_len = 4, 60
    cfg = lstm.LSTMConfig(hidden_size=hn, dtype="float64")
    xs = jax.random.normal(jax.random.key(0), (3, t_len, 1), jnp.float64)
    norms = gradients.per_step_grad_norms(_zero_weight_params(hn, b_f), xs, cfg)
    f = _sigmoid(b_f)
    c = np.asarray(norms.c)
    np.testing.assert_allclose(c[:-1] / c[1:], f, rtol=1e-8)
    fit = gradients.fit_decay(norms.c)
    assert abs(fit.rate - math.log(f)) < 1e-8
    assert abs(fit.half_life - math.log(2) / -math.log(f)) < 1e-6 * fit.half_life
    assert fit.r2 > 1 - 1e-12 and fit.n_used == t_len
    assert fit.first_nonfinite is None and fit.underflow_at is None


@pytest.mark.parametrize("b_f", [0.0, 2.0])
def test_zero_weight_oracle_lyapunov(b_f):
    # Started at the fixed point c* = sigma(0) tanh(b_g) / (1 - f), the Jacobian restricted
    # to its image is f * I, so after one step every exponent is ln f up to rounding.
    hn, b_g = 5, 0.7
    f = _sigmoid(b_f)
    c_star = 0.5 * math.tanh(b_g) / (1 - f)
    h_star = 0.5 * math.tanh(c_star)
    cfg = lstm.LSTMConfig(hidden_size=hn, dtype="float64")
    xs = jax.random.normal(jax.random.key(0), (2, 30, 1), jnp.float64)
    params = _zero_weight_params(hn, b_f, b_g)
    for k in (1, hn):
        exps = gradients.lyapunov_spectrum(
            params, xs, cfg, k=k, key=jax.random.key(k), burn_in=1, h0=h_star, c0=c_star
        )
        assert exps.shape == (k,)
        np.testing.assert_allclose(exps, math.log(f), rtol=0, atol=1e-10)


def test_lyapunov_qr_recovers_log_moduli_of_a_linear_map():
    rng = np.random.default_rng(0)
    eig = np.array([1.5, -0.9, 0.5, 0.2, -0.05])
    basis = rng.standard_normal((5, 5))
    m = jnp.asarray(basis @ np.diag(eig) @ np.linalg.inv(basis))  # not normal: a real test
    exps = gradients.lyapunov_qr(
        lambda s, _x: m @ s, jnp.ones(5), jnp.zeros((400, 1)), 4, jax.random.key(3), burn_in=100
    )
    np.testing.assert_allclose(exps, np.log(np.abs(eig[:4])), rtol=0, atol=1e-9)


def test_lyapunov_qr_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        gradients.lyapunov_qr(lambda s, x: s, jnp.ones(3), jnp.zeros((5, 1)), 4, jax.random.key(0))


# ------------------------------------------------------------------ fit_decay


def test_fit_decay_exact_geometric_and_reports_gaps():
    t_len, rate = 50, -0.3
    s = np.arange(t_len)[::-1]  # steps back from the end, in time order
    g = 2.0 * np.exp(rate * s)
    fit = gradients.fit_decay(g)
    assert abs(fit.rate - rate) < 1e-12 and abs(fit.r2 - 1) < 1e-12
    g[:5] = 0.0  # the oldest steps underflowed
    g[10] = np.inf
    fit = gradients.fit_decay(g)
    assert fit.underflow_at == t_len - 5 and fit.first_nonfinite == t_len - 11
    assert fit.n_used == t_len - 6 and abs(fit.rate - rate) < 1e-12
    growing = gradients.fit_decay(np.exp(0.1 * s))
    assert growing.rate > 0 and growing.half_life == math.inf
    empty = gradients.fit_decay(np.full(5, np.nan))
    assert math.isnan(empty.rate) and empty.first_nonfinite == 0 and empty.n_used == 0


def test_fit_decay_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        gradients.fit_decay(np.ones((2, 2)))
    with pytest.raises(ValueError, match=">= 0"):
        gradients.fit_decay(np.array([1.0, -1.0]))


# ------------------------------------------------------------------ behaviour


def _run(cfg, t_len=120, seed=0):
    params = lstm.init(jax.random.key(seed), cfg)
    xs = jax.random.normal(jax.random.key(100 + seed), (8, t_len, 1), jnp.float32)
    return gradients.per_step_grad_norms(params, xs, cfg), gradients.telemetry(params, xs, cfg)


def test_decay_slows_as_forget_bias_grows():
    # init adds forget_bias to b[H:2H] and nothing else (test_lstm), so one compiled
    # program serves all three biases: the default init with b_f = 0, shifted.
    hn = 32
    cfg = lstm.LSTMConfig(hidden_size=hn, forget_bias=0.0)
    base = lstm.init(jax.random.key(0), cfg)
    xs = jax.random.normal(jax.random.key(100), (8, 120, 1), jnp.float32)
    rates = []
    for b_f in (0.0, 1.0, 3.0):
        params = base._replace(b=base.b.at[hn : 2 * hn].add(b_f))
        norms = gradients.per_step_grad_norms(params, xs, cfg)
        rates.append(gradients.fit_decay(norms.h).rate)
    assert rates[0] < rates[1] < rates[2], rates
    # with b_f = 0 the forget gate is about sigmoid(0) = 1/2: decay close to ln 1/2 per step
    assert rates[0] < -0.2


def test_relu_cell_explodes_past_tanh_bound_without_crashing():
    b_f = 3.0
    bound = 1 / (1 - _sigmoid(b_f))  # |c| <= 1/(1-f) for a tanh candidate and constant f
    _, tel_tanh = _run(lstm.LSTMConfig(hidden_size=32, forget_bias=b_f))
    norms, tel = _run(
        lstm.LSTMConfig(hidden_size=32, candidate="relu", output="relu", forget_bias=b_f)
    )
    assert float(jnp.max(tel_tanh["c_max"])) < 2 * bound
    c_max = float(jnp.max(tel["c_max"]))
    assert not c_max < 100 * bound  # far past, or inf/nan: never hidden as a small number
    fit = gradients.fit_decay(norms.h)  # must not raise on inf / nan / zeros
    exploded = fit.first_nonfinite is not None or fit.rate > 0
    assert exploded, fit


def test_telemetry_zero_weights():
    hn, b_f = 3, 2.0
    cfg = lstm.LSTMConfig(hidden_size=hn, dtype="float64")
    tel = gradients.telemetry(_zero_weight_params(hn, b_f), jnp.ones((2, 40, 1)), cfg)
    f = _sigmoid(b_f)
    np.testing.assert_allclose(tel["forget_mean"], f, rtol=1e-6)
    # c_t = 0.5 tanh(0.7) (1 - f^t) / (1 - f) for t = 1..T
    c_ref = 0.5 * math.tanh(0.7) * (1 - f ** np.arange(1, 41)) / (1 - f)
    np.testing.assert_allclose(tel["c_max"], c_ref, rtol=1e-12)
    np.testing.assert_allclose(tel["h_max"], 0.5 * np.tanh(c_ref), rtol=1e-12)
    # i = o = 0.5, f = 0.88: nothing saturated
    np.testing.assert_array_equal(tel["saturated_fraction"], 0)
