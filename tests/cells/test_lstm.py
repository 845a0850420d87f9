"""The scanned LSTM against a plain numpy loop, PyTorch, and its own init/config contracts."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis.cells import lstm

NP_ACTS = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
}


def numpy_lstm(params, xs, cfg, h0=None, c0=None):
    """The textbook equations, one Python loop step at a time, in numpy float64."""
    w_ih, w_hh, b = (np.asarray(a, np.float64) for a in params)
    xs = np.asarray(xs, np.float64)
    bsz, t_len, _ = xs.shape
    hn = cfg.hidden_size
    h = np.zeros((bsz, hn)) if h0 is None else np.array(h0, np.float64)
    c = np.zeros((bsz, hn)) if c0 is None else np.array(c0, np.float64)
    gate, cand, out = (NP_ACTS[n] for n in (cfg.gate, cfg.candidate, cfg.output))
    hs = []
    for t in range(t_len):
        z = xs[:, t] @ w_ih + h @ w_hh + b
        i, f, g, o = (z[:, k * hn : (k + 1) * hn] for k in range(4))
        c = gate(f) * c + gate(i) * cand(g)
        h = gate(o) * out(c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


CASES = [
    dict(),
    dict(candidate="relu"),
    dict(output="relu"),
    dict(candidate="relu", output="relu"),
    dict(candidate="identity", output="identity"),  # NIAF + NOAF
    dict(init="uniform", unroll=3),
    dict(remat=True, forget_bias=3.0),
    dict(fused=False),
    dict(fused=False, candidate="relu", output="relu", remat=True),
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_scan_equals_numpy_loop_float64(kw):
    cfg = lstm.LSTMConfig(input_size=3, hidden_size=6, dtype="float64", **kw)
    params = lstm.init(jax.random.key(1), cfg)
    xs = jax.random.normal(jax.random.key(2), (4, 11, 3), jnp.float64)
    h0 = 0.3 * jax.random.normal(jax.random.key(3), (4, 6), jnp.float64)
    c0 = 0.3 * jax.random.normal(jax.random.key(4), (4, 6), jnp.float64)
    hs, (h_t, c_t) = lstm.apply(params, xs, cfg, h0, c0)
    ref_hs, ref_h, ref_c = numpy_lstm(params, xs, cfg, h0, c0)
    assert hs.shape == (4, 11, 6) and hs.dtype == jnp.float64
    np.testing.assert_allclose(hs, ref_hs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_t, ref_h, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c_t, ref_c, rtol=1e-12, atol=1e-13)


def test_step_is_one_scan_iteration():
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=4, dtype="float64")
    params = lstm.init(jax.random.key(0), cfg)
    xs = jax.random.normal(jax.random.key(1), (3, 5, 2), jnp.float64)
    zx = lstm.input_projection(params, xs, cfg)
    carry = lstm.initial_carry(cfg, 3)
    for t in range(5):
        carry, _ = lstm.step(params, cfg, carry, zx[t])
    _, (h_t, c_t) = lstm.apply(params, xs, cfg)
    np.testing.assert_allclose(carry[0], h_t, rtol=1e-14, atol=0)
    np.testing.assert_allclose(carry[1], c_t, rtol=1e-14, atol=0)


@pytest.mark.parametrize("slots", [("tanh", "tanh"), ("relu", "relu")])
def test_fused_apply_has_the_plain_gradients_float64(slots):
    kw = dict(input_size=3, hidden_size=5, candidate=slots[0], output=slots[1], dtype="float64")
    plain, fused = lstm.LSTMConfig(**kw, fused=False), lstm.LSTMConfig(**kw)
    params = lstm.init(jax.random.key(5), plain)
    xs = jax.random.normal(jax.random.key(6), (2, 9, 3), jnp.float64)
    c0 = 0.4 * jax.random.normal(jax.random.key(7), (2, 5), jnp.float64)

    def loss(p, x, c, cfg):
        hs, (h, c_t) = lstm.apply(p, x, cfg, None, c)
        return jnp.sum(jnp.cos(hs)) + jnp.sum(h * c_t)

    ref = jax.grad(loss, argnums=(0, 1, 2))(params, xs, c0, plain)
    got = jax.grad(loss, argnums=(0, 1, 2))(params, xs, c0, fused)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("with_state", [False, True])
def test_pytorch_parity_float64(with_state):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(input_size=3, hidden_size=7, batch_first=True).double()
    xs = np.random.default_rng(0).standard_normal((5, 13, 3))
    h0 = np.random.default_rng(1).standard_normal((5, 7)) if with_state else None
    c0 = np.random.default_rng(2).standard_normal((5, 7)) if with_state else None
    with torch.no_grad():
        state = (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]) if with_state else None
        ref_hs, (ref_h, ref_c) = net(torch.from_numpy(xs), state)
    params = lstm.params_from_torch(net.state_dict())  # torch tensors accepted
    cfg = lstm.LSTMConfig(input_size=3, hidden_size=7, dtype="float64")
    hs, (h_t, c_t) = lstm.apply(params, xs, cfg, h0, c0)
    np.testing.assert_allclose(hs, ref_hs.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(h_t, ref_h[0].numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(c_t, ref_c[0].numpy(), rtol=0, atol=1e-10)


def test_params_from_torch_numpy_layout_and_errors():
    rng = np.random.default_rng(0)
    sd = {
        "weight_ih_l0": rng.standard_normal((8, 3)),
        "weight_hh_l0": rng.standard_normal((8, 2)),
        "bias_ih_l0": rng.standard_normal(8),
        "bias_hh_l0": rng.standard_normal(8),
    }
    p = lstm.params_from_torch(sd)
    np.testing.assert_array_equal(p.w_ih, sd["weight_ih_l0"].T)
    np.testing.assert_array_equal(p.w_hh, sd["weight_hh_l0"].T)
    np.testing.assert_array_equal(p.b, sd["bias_ih_l0"] + sd["bias_hh_l0"])
    no_bias = lstm.params_from_torch({k: sd[k] for k in ("weight_ih_l0", "weight_hh_l0")})
    np.testing.assert_array_equal(no_bias.b, np.zeros(8))
    with pytest.raises(ValueError, match="one-layer"):
        lstm.params_from_torch({**sd, "weight_ih_l1": sd["weight_ih_l0"]})
    with pytest.raises(ValueError, match="missing"):
        lstm.params_from_torch({"weight_ih_l0": sd["weight_ih_l0"]})


def test_uniform_init_statistics():
    hn = 256
    cfg = lstm.LSTMConfig(input_size=64, hidden_size=hn, init="uniform", forget_bias=0.0)
    p = lstm.init(jax.random.key(0), cfg)
    k = 1 / math.sqrt(hn)
    for w in (p.w_ih, p.w_hh):
        w = np.asarray(w, np.float64)
        assert np.abs(w).max() <= k
        # variance of U(-k, k) is k^2/3; n >= 65536 samples -> relative std error < 1%
        assert abs(w.var() / (k * k / 3) - 1) < 0.03
        assert abs(w.mean()) < 4 * k / math.sqrt(3 * w.size)
    b = np.asarray(p.b, np.float64)
    assert np.abs(b).max() <= 2 * k
    assert abs(b.var() / (2 * k * k / 3) - 1) < 0.15  # sum of two U(-k, k), n = 1024


def test_orthogonal_init_statistics():
    i_n, hn = 5, 32
    cfg = lstm.LSTMConfig(input_size=i_n, hidden_size=hn, dtype="float64", forget_bias=0.0)
    p = lstm.init(jax.random.key(3), cfg)
    for k in range(4):
        block = np.asarray(p.w_hh[:, k * hn : (k + 1) * hn])
        np.testing.assert_allclose(block.T @ block, np.eye(hn), atol=1e-12)
    limit = math.sqrt(6 / (i_n + 4 * hn))
    w = np.asarray(p.w_ih)
    assert np.abs(w).max() <= limit
    assert abs(w.var() / (limit * limit / 3) - 1) < 0.15
    np.testing.assert_array_equal(p.b, np.zeros(4 * hn))
    assert p.w_ih.dtype == jnp.float64


def test_chrono_init():
    hn, t_max = 200, 50
    cfg = lstm.LSTMConfig(hidden_size=hn, init="chrono", t_max=t_max, forget_bias=0.0)
    b = np.asarray(lstm.init(jax.random.key(0), cfg).b, np.float64)
    b_i, b_f, rest = b[:hn], b[hn : 2 * hn], b[2 * hn :]
    assert b_f.min() >= 0 and b_f.max() <= math.log(t_max - 1) + 1e-6
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(rest, 0)
    # exp(b_f) ~ U[1, t_max - 1]: its mean is t_max / 2
    assert abs(np.exp(b_f).mean() - t_max / 2) < 4 * (t_max - 2) / math.sqrt(12 * hn)


@pytest.mark.parametrize("scheme", ["orthogonal", "uniform", "chrono"])
def test_forget_bias_goes_into_f_slice_only(scheme):
    base = lstm.LSTMConfig(hidden_size=8, init=scheme, t_max=20, forget_bias=0.0, dtype="float64")
    shifted = lstm.LSTMConfig(
        hidden_size=8, init=scheme, t_max=20, forget_bias=2.5, dtype="float64"
    )
    b0 = np.asarray(lstm.init(jax.random.key(7), base).b)
    b1 = np.asarray(lstm.init(jax.random.key(7), shifted).b)
    expected = np.zeros(32)
    expected[8:16] = 2.5
    np.testing.assert_allclose(b1 - b0, expected, atol=1e-15)


def test_forget_bias_is_not_added_at_run_time():
    cfg0 = lstm.LSTMConfig(hidden_size=4, forget_bias=0.0, dtype="float64")
    cfg3 = lstm.LSTMConfig(hidden_size=4, forget_bias=3.0, dtype="float64")
    params = lstm.init(jax.random.key(0), cfg0)
    xs = jnp.ones((2, 5, 1), jnp.float64)
    np.testing.assert_array_equal(lstm.apply(params, xs, cfg0)[0], lstm.apply(params, xs, cfg3)[0])


BAD_CONFIGS = [
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(input_size=-1), ValueError, "input_size"),
    (dict(hidden_size=2.5), TypeError, "integer"),
    (dict(hidden_size=True), TypeError, "integer"),
    (dict(candidate="tanhh"), ValueError, "valid names: .*tanh"),
    (dict(gate="nope"), ValueError, "valid names"),
    (dict(output=3), ValueError, "valid names"),
    (dict(dtype="float8"), ValueError, "float16, bfloat16, float32, float64"),
    (dict(init="xavier"), ValueError, "orthogonal, uniform, chrono"),
    (dict(init="chrono"), ValueError, "t_max"),
    (dict(forget_bias=float("nan")), ValueError, "finite"),
    (dict(unroll=0), ValueError, "unroll"),
    (dict(remat="yes"), TypeError, "remat"),
    (dict(fused=1), TypeError, "fused"),
]


@pytest.mark.parametrize("kw,err,match", BAD_CONFIGS)
def test_config_validation(kw, err, match):
    with pytest.raises(err, match=match):
        lstm.LSTMConfig(**kw)


def test_bad_input_shape():
    cfg = lstm.LSTMConfig(input_size=3, hidden_size=4)
    params = lstm.init(jax.random.key(0), cfg)
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        lstm.apply(params, jnp.ones((2, 5, 2), jnp.float32), cfg)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_dtype_kept(dtype):
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=4, dtype=dtype)
    params = lstm.init(jax.random.key(0), cfg)
    assert params.w_hh.dtype == jnp.dtype(dtype)
    hs, (h_t, c_t) = lstm.apply(params, jnp.ones((2, 5, 2), jnp.float64), cfg)
    assert hs.dtype == h_t.dtype == c_t.dtype == jnp.dtype(dtype)
    assert bool(jnp.all(jnp.isfinite(hs)))


def test_jitted_apply_does_not_recompile():
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=4)
    params = lstm.init(jax.random.key(0), cfg)
    xs = jnp.ones((3, 6, 2), jnp.float32)
    lstm.apply(params, xs, cfg)
    before = lstm._apply._cache_size()
    params2 = lstm.init(jax.random.key(1), lstm.LSTMConfig(input_size=2, hidden_size=4))
    lstm.apply(params2, 2 * xs, lstm.LSTMConfig(input_size=2, hidden_size=4))
    assert lstm._apply._cache_size() == before


def test_nonfinite_input_raises_naming_the_index_and_propagates_when_traced():
    cfg = lstm.LSTMConfig(input_size=2, hidden_size=3)
    params = lstm.init(jax.random.key(0), cfg)
    xs = np.ones((2, 4, 2), np.float32)
    xs[0, 2, 1] = np.inf
    with pytest.raises(
        ValueError, match=r"lstm\.apply: xs has a non-finite value inf at index \(0, 2, 1\)"
    ):
        lstm.apply(params, xs, cfg)
    # traced (jit, grad of xs, vmap): no value to check; a NaN propagates from step 2 on
    xs[0, 2, 1] = np.nan
    hs, _ = jax.jit(lambda x: lstm.apply(params, x, cfg))(xs)
    assert np.isfinite(hs[0, :2]).all() and not np.isfinite(hs[0, 2:]).any()
    assert np.isfinite(hs[1]).all()


def test_scan_steps_observer_sees_gates_and_new_state():
    cfg = lstm.LSTMConfig(input_size=3, hidden_size=4, dtype="float64", fused=False)
    params = lstm.init(jax.random.key(1), cfg)
    xs = jax.random.normal(jax.random.key(2), (2, 7, 3), jnp.float64)

    def observe(gates, state):
        return {"f": gates[1], "c_max": jnp.max(jnp.abs(state[1])), "h": state[0]}

    hs, (_, c_t), seen = lstm.scan_steps(params, xs, cfg, observe=observe)
    ref_hs, _, ref_c = numpy_lstm(params, xs, cfg)
    np.testing.assert_allclose(hs, ref_hs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c_t, ref_c, rtol=1e-12, atol=1e-13)
    assert seen["f"].shape == (7, 2, 4) and seen["c_max"].shape == (7,)
    np.testing.assert_allclose(np.swapaxes(seen["h"], 0, 1), ref_hs, rtol=1e-12, atol=1e-13)
    # f_t = sigmoid(z_f) with z = x_t W_ih + h_{t-1} W_hh + b, from the reference's h_{t-1}
    h_prev = np.concatenate([np.zeros((2, 1, 4)), ref_hs[:, :-1]], axis=1)
    z = np.asarray(xs) @ np.asarray(params.w_ih) + h_prev @ np.asarray(params.w_hh)
    f_ref = NP_ACTS["sigmoid"](z + np.asarray(params.b))[..., 4:8]
    np.testing.assert_allclose(np.swapaxes(seen["f"], 0, 1), f_ref, rtol=1e-12)
    _, _, none = lstm.scan_steps(params, xs, cfg)
    assert none is None
