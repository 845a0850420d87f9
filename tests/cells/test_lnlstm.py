"""The layer-normalised LSTM against a plain numpy loop of Ba et al.'s equations in float64, and
its parameter gradient against central finite differences of that loop."""

import jax
import jax.numpy as jnp
import numpy as np

from analysis import cells

B, T, IN, H = 2, 5, 3, 4


def _ln(v, s, b):
    mu = v.mean(-1, keepdims=True)
    return s * (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + 1e-5) + b


def _numpy_loop(p, xs, relu_out=False):
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    out = (lambda v: np.maximum(v, 0)) if relu_out else np.tanh
    h, c, hs = np.zeros((B, H)), np.zeros((B, H)), []
    for t in range(xs.shape[1]):
        z = _ln(xs[:, t] @ p["w_ih"], p["s_x"], p["b_x"]) + _ln(h @ p["w_hh"], p["s_h"], p["b_h"])
        i, f, g, o = np.split(z + p["b"], 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * out(_ln(c, p["s_c"], p["b_c"]))
        hs.append(h)
    return np.stack(hs, 1), c


def _params(cell):
    p = cell.init(jax.random.key(0))
    keys = jax.random.split(jax.random.key(1), len(p))
    # move gains and LN biases off 1 and 0 so that a swapped one would show
    return {
        k: v + 0.3 * jax.random.normal(kk, v.shape, v.dtype)
        for (k, v), kk in zip(sorted(p.items()), keys, strict=True)
    }


def test_apply_matches_a_numpy_loop():
    xs = np.asarray(jax.random.normal(jax.random.key(2), (B, T, IN), jnp.float64))
    for out in ("tanh", "relu"):
        cell = cells.get("lnlstm", input_size=IN, hidden_size=H, output=out, dtype="float64")
        p = _params(cell)
        hs, carry = cell.apply(p, xs)
        want_hs, want_c = _numpy_loop(p, xs, relu_out=out == "relu")
        np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(carry["c"], want_c, rtol=1e-12, atol=1e-14)


def test_gradient_matches_finite_differences_of_the_loop():
    cell = cells.get("lnlstm", input_size=IN, hidden_size=H, dtype="float64")
    p = _params(cell)
    xs = np.asarray(jax.random.normal(jax.random.key(3), (B, T, IN), jnp.float64))
    grad = jax.grad(lambda q: 0.5 * jnp.sum(cell.apply(q, xs)[0][:, -1] ** 2))(p)
    loss = lambda q: 0.5 * np.sum(_numpy_loop(q, xs)[0][:, -1] ** 2)  # noqa: E731
    rng = np.random.default_rng(0)
    v = {k: rng.standard_normal(a.shape) for k, a in p.items()}
    eps = 1e-6
    up = loss({k: np.asarray(p[k]) + eps * v[k] for k in p})
    down = loss({k: np.asarray(p[k]) - eps * v[k] for k in p})
    analytic = sum(float(jnp.vdot(grad[k], v[k])) for k in p)
    np.testing.assert_allclose(analytic, (up - down) / (2 * eps), rtol=1e-7)
