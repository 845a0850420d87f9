"""The fused LSTM (hand-written backward) against plain scans: values, every gradient, float64."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from analysis.cells import lstm
from analysis.cells.lstm import jvp, vjp

B, T, IN, H = 2, 11, 3, 4

# (gate, candidate, output): kernels with grad_from_output (derivative from the saved output)
# and without it (gelu, silu: derivative from the saved pre-activation) in every slot.
PAIRS = [
    ("sigmoid", "tanh", "tanh"),
    ("sigmoid", "relu", "relu"),
    ("sigmoid", "hard_tanh", "leaky_relu"),
    ("sigmoid", "identity", "sigmoid"),
    ("hard_sigmoid", "gelu", "silu"),
    ("silu", "softsign", "elu"),
]


def plain_lstm(params, xs, cfg, h0, c0):
    """The textbook loop: z = x W_ih + h W_hh + b per step, no hoisting, no custom rules."""
    gate, cand, out = (kernels.get(n).fn for n in (cfg.gate, cfg.candidate, cfg.output))

    def step(carry, x):
        h, c = carry
        z = x @ params.w_ih + h @ params.w_hh + params.b
        zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        c = gate(zf) * c + gate(zi) * cand(zg)
        h = gate(zo) * out(c)
        return (h, c), h

    (h, c), hs = jax.lax.scan(step, (h0, c0), jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(hs, 0, 1), (h, c)


def make(gate, cand, out, dtype="float64", remat=False, seed=0):
    cfg = lstm.LSTMConfig(
        input_size=IN,
        hidden_size=H,
        gate=gate,
        candidate=cand,
        output=out,
        dtype=dtype,
        remat=remat,
        init="uniform",
    )
    k = jax.random.split(jax.random.PRNGKey(seed), 4)
    params = lstm.init(k[0], cfg)
    # A larger scale than the default init so that saturated and negative regions are hit.
    params = jax.tree.map(lambda p: 2.0 * p, params)
    dt = jnp.dtype(dtype)
    xs = jax.random.normal(k[1], (B, T, IN), dt)
    h0 = 0.5 * jax.random.normal(k[2], (B, H), dt)
    c0 = 0.5 * jax.random.normal(k[3], (B, H), dt)
    return cfg, params, xs, h0, c0


def loss_of(apply):
    """A loss that sends a different cotangent into every h_t, into h_T and into c_T."""

    def loss(params, xs, h0, c0, cfg):
        hs, (h, c) = apply(params, xs, cfg, h0, c0)
        w = jnp.linspace(0.5, 1.5, hs.shape[1], dtype=hs.dtype)[None, :, None]
        return jnp.sum(w * hs**2) + jnp.sum(jnp.sin(h)) + jnp.sum(c**3) / 3

    return loss


def grads(apply, cfg, params, xs, h0, c0):
    return jax.grad(loss_of(apply), argnums=(0, 1, 2, 3))(params, xs, h0, c0, cfg)


def assert_trees_close(a, b, rtol, atol):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


CASES = [(p, 0) for p in PAIRS] + [(PAIRS[0], 3), (PAIRS[4], 3)]


def auto(checkpoint_every):
    """`lstm.apply`'s default body (custom_jvp of `lstm_dispatch`) at a fixed interval."""

    @functools.partial(jax.jit, static_argnums=2)
    def run(p, x, c, h0_, c0_):
        return jvp.apply_auto(p, x, c, h0_, c0_, checkpoint_every=checkpoint_every)

    return run


@pytest.mark.parametrize(
    ("pair", "checkpoint_every"), CASES, ids=[f"{'-'.join(p)}-k{k}" for p, k in CASES]
)
def test_fused_paths_match_plain_scan_float64(pair, checkpoint_every):
    """Both fast paths, the custom_vjp (`apply_fused`) and the default of `lstm.apply` (the
    custom_jvp whose transpose is the fused backward), against the plain scan."""
    cfg, params, xs, h0, c0 = make(*pair)

    def fused(p, x, c, h0_, c0_):
        return vjp.apply_fused(p, x, c, h0_, c0_, checkpoint_every=checkpoint_every)

    ref = plain_lstm(params, xs, cfg, h0, c0)
    g_ref = grads(plain_lstm, cfg, params, xs, h0, c0)
    paths = [fused, auto(checkpoint_every)]
    if pair == PAIRS[0] and checkpoint_every == 0:
        assert cfg.fused  # the default config: lstm.apply itself takes the fused path
        paths.append(lstm.apply)
    for run in paths:
        assert_trees_close(run(params, xs, cfg, h0, c0), ref, rtol=1e-12, atol=1e-12)
        assert_trees_close(grads(run, cfg, params, xs, h0, c0), g_ref, rtol=1e-10, atol=1e-11)


@functools.cache
def _remat_case():
    """One remat config and its plain-scan gradients, shared by the interval cases."""
    cfg, params, xs, h0, c0 = make("sigmoid", "gelu", "tanh", remat=True)
    return cfg, params, xs, h0, c0, grads(plain_lstm, cfg, params, xs, h0, c0)


@pytest.mark.parametrize("checkpoint_every", [None, 1, 4, 50])
def test_checkpoint_intervals_give_the_same_gradients(checkpoint_every):
    # T = 11: K = 4 leaves a tail chunk, None is round(sqrt(11)) = 3; K = 1 and K >= T are edges.
    cfg, params, xs, h0, c0, g_ref = _remat_case()

    def fused(p, x, c, h0_, c0_):
        return vjp.apply_fused(p, x, c, h0_, c0_, checkpoint_every=checkpoint_every)

    assert_trees_close(grads(fused, cfg, params, xs, h0, c0), g_ref, rtol=1e-10, atol=1e-11)
    got = grads(auto(checkpoint_every), cfg, params, xs, h0, c0)
    assert_trees_close(got, g_ref, rtol=1e-10, atol=1e-11)


def test_float32_keeps_dtype_and_agrees_with_float64():
    cfg64, params, xs, h0, c0 = make("sigmoid", "relu", "tanh")
    cfg32 = lstm.LSTMConfig(**{**cfg64.__dict__, "dtype": "float32"})
    to32 = lambda tree: jax.tree.map(lambda a: a.astype(jnp.float32), tree)  # noqa: E731
    p32, x32, h32, c32 = to32((params, xs, h0, c0))
    hs, (h, c) = vjp.apply_fused(p32, x32, cfg32, h32, c32)
    assert hs.dtype == h.dtype == c.dtype == jnp.float32
    g32 = grads(vjp.apply_fused, cfg32, p32, x32, h32, c32)
    assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(g32))
    g64 = grads(plain_lstm, cfg64, params, xs, h0, c0)
    assert_trees_close(jax.tree.map(lambda a: a.astype(jnp.float64), g32), g64, 2e-4, 2e-5)


def test_default_state_and_vmap_over_seeds():
    cfg, params, xs, _, _ = make("sigmoid", "tanh", "tanh")
    zeros = jnp.zeros((B, H))
    g_ref = grads(plain_lstm, cfg, params, xs, zeros, zeros)[0]

    def loss(p):
        hs, (h, c) = vjp.apply_fused(p, xs, cfg)
        return loss_of(lambda *a: (hs, (h, c)))(p, xs, None, None, cfg)

    assert_trees_close(jax.grad(loss)(params), g_ref, rtol=1e-10, atol=1e-11)
    stacked = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a]), params)
    batched = jax.vmap(jax.grad(loss))(stacked)
    half = jax.tree.map(lambda a: 0.5 * a, params)
    second = grads(plain_lstm, cfg, half, xs, zeros, zeros)[0]
    assert_trees_close(jax.tree.map(lambda a: a[1], batched), second, rtol=1e-10, atol=1e-11)


def test_bad_input_shape_raises():
    cfg, params, xs, _, _ = make("sigmoid", "tanh", "tanh")
    with pytest.raises(ValueError, match="apply_fused"):
        vjp.apply_fused(params, xs[..., :2], cfg)
    with pytest.raises(ValueError, match="checkpoint_every"):
        vjp.apply_fused(params, xs, cfg, checkpoint_every=-1)


# ------------------------------------------------------------------ the default: forward mode


@pytest.mark.parametrize("checkpoint_every", [0, 4])
def test_default_apply_forward_mode_vmap_and_second_order(checkpoint_every):
    """jvp, jacfwd, vmap of grad and (stored path) the Hessian of lstm.apply's default body."""
    cfg, params, xs, h0, c0 = make("hard_sigmoid", "gelu", "silu")
    run, loss = auto(checkpoint_every), loss_of(auto(checkpoint_every))
    args = (params, xs, h0, c0)
    tangent = jax.tree.map(lambda a: jnp.cos(jnp.arange(a.size).reshape(a.shape) + 0.0), args)
    _, jvp = jax.jvp(lambda *a: loss(*a, cfg), args, tangent)
    _, jvp_ref = jax.jvp(lambda *a: loss_of(plain_lstm)(*a, cfg), args, tangent)
    np.testing.assert_allclose(jvp, jvp_ref, rtol=1e-11)
    if checkpoint_every:
        jac = jax.jacfwd(lambda x: run(params, x, cfg, h0, c0)[0])(xs)
        jac_ref = jax.jacrev(lambda x: plain_lstm(params, x, cfg, h0, c0)[0])(xs)
        np.testing.assert_allclose(jac, jac_ref, rtol=1e-10, atol=1e-12)
        return
    stacked = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a]), params)
    per_seed = jax.vmap(jax.grad(lambda p: loss(p, xs, h0, c0, cfg)))(stacked)
    half = jax.tree.map(lambda a: 0.5 * a, params)
    assert_trees_close(
        jax.tree.map(lambda a: a[1], per_seed),
        grads(plain_lstm, cfg, half, *args[1:])[0],
        1e-10,
        1e-11,
    )
    hess = jax.hessian(lambda b: loss(params._replace(b=b), xs, h0, c0, cfg))(params.b)
    hess_ref = jax.hessian(lambda b: loss_of(plain_lstm)(params._replace(b=b), xs, h0, c0, cfg))(
        params.b
    )
    np.testing.assert_allclose(hess, hess_ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("checkpoint_every", [0, 4])
@pytest.mark.parametrize("pair", [PAIRS[0], PAIRS[1], PAIRS[4]], ids="-".join)
def test_max_c_variant_tracks_the_peak_and_keeps_gradients(pair, checkpoint_every):
    cfg, params, xs, h0, c0 = make(*pair)
    gate, cand = (kernels.get(n).fn for n in (cfg.gate, cfg.candidate))

    def peak_loop(p):
        """max_{t>=1} |c_t| by a plain Python loop over the textbook equations."""
        h, c, peak = h0, c0, 0.0
        for t in range(T):
            z = xs[:, t] @ p.w_ih + h @ p.w_hh + p.b
            zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
            c = gate(zf) * c + gate(zi) * cand(zg)
            h = gate(zo) * kernels.get(cfg.output).fn(c)
            peak = max(peak, float(jnp.max(jnp.abs(c))))
        return peak

    def run(p, x, c, h0_, c0_):
        hs, carry, _ = vjp.apply_fused_max_c(p, x, c, h0_, c0_, checkpoint_every=checkpoint_every)
        return hs, carry

    _, _, peak = vjp.apply_fused_max_c(params, xs, cfg, h0, c0, checkpoint_every=checkpoint_every)
    assert peak.shape == () and peak.dtype == jnp.float64
    assert float(peak) == pytest.approx(peak_loop(params), rel=1e-12)
    g_ref = grads(plain_lstm, cfg, params, xs, h0, c0)
    assert_trees_close(grads(run, cfg, params, xs, h0, c0), g_ref, rtol=1e-10, atol=1e-11)
    # under vmap (seeds): one peak per parameter set
    stacked = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a]), params)
    peaks = jax.vmap(lambda p: vjp.apply_fused_max_c(p, xs, cfg, h0, c0)[2])(stacked)
    half = jax.tree.map(lambda a: 0.5 * a, params)
    assert float(peaks[1]) == pytest.approx(peak_loop(half), rel=1e-12)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU rule")
def test_default_chunk_stores_unless_long_or_large_on_cpu():
    assert vjp.default_chunk(1000) == 0
    assert vjp.default_chunk(vjp.CPU_STORE_STEPS) == 0
    assert vjp.default_chunk(vjp.CPU_STORE_STEPS + 1) == 100
    # 1000 steps of 1 MiB exceed the store budget: checkpoint every round(sqrt(1000)) steps.
    assert vjp.default_chunk(1000, step_bytes=2**20) == 32
    assert vjp.default_chunk(1000, step_bytes=2**10) == 0
    assert vjp.default_chunk(100, remat=True) == 10
