"""gradients.flossing_loss: its gradient against central finite differences, the Jacobian it
propagates against jax.jacfwd of the step, and flossing with optax on a chaotic tanh RNN and on
an LSTM's (h, c) carry (its two largest exponents), measured afterwards on fresh inputs over
10x the flossing window."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from analysis import cells, gradients
from analysis.flow import cell_stats


def _rnn(n, seed, g=2.0):
    """A random tanh RNN, recurrent W ~ N(0, g^2 / N), in float64."""
    cell = cells.get("rnn", input_size=1, hidden_size=n, dtype="float64")
    p = cell.init(jax.random.key(seed))
    return cell, dict(p, u=g * jax.random.normal(jax.random.key(seed + 100), (n, n)) / n**0.5)


def test_gradient_matches_central_differences():
    cell, params = _rnn(3, 0, g=1.5)
    xs = jax.random.normal(jax.random.key(1), (12, 1))
    carry0 = {"h": jnp.array([0.3, -0.2, 0.1])}

    def loss(p):
        return gradients.flossing_loss(cell.step, p, xs, carry0, 2, target=-0.1, burn_in=2)

    grad = jax.grad(loss)(params)
    # one random direction through every parameter at once
    v = {
        n: jax.random.normal(jax.random.fold_in(jax.random.key(7), i), a.shape)
        for i, (n, a) in enumerate(sorted(params.items()))
    }
    eps = 1e-6
    up = loss({n: params[n] + eps * v[n] for n in params})
    down = loss({n: params[n] - eps * v[n] for n in params})
    fd = (up - down) / (2 * eps)
    analytic = sum(jnp.vdot(grad[n], v[n]) for n in params)
    assert abs(float(analytic)) > 1e-3  # a direction the loss does depend on
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)


def test_propagated_jacobian_is_jacfwd_of_the_step():
    cell = cells.get("lstm", input_size=2, hidden_size=3, dtype="float64")
    params = cell.init(jax.random.key(0))
    carry = {"h": jnp.array([0.1, -0.4, 0.2]), "c": jnp.array([1.0, -0.5, 0.3])}
    x = jnp.array([0.7, -1.2])
    fn, s0 = cell_stats.flat_step(cell.step, params, carry)
    # what lyapunov_qr propagates: the linearized step applied to each column of a frame
    _, jvp = jax.linearize(lambda s: fn(s, x), s0)
    ours = jax.vmap(jvp, in_axes=1, out_axes=1)(jnp.eye(6))
    # independent: jacfwd of the dict step, blocks d new[a] / d carry[b] assembled by hand
    jac = jax.jacfwd(lambda c: cell.step(params, {k: v[None] for k, v in c.items()}, x[None])[0])(
        carry
    )
    want = jnp.block([[jac[a][b][0] for b in ("h", "c")] for a in ("h", "c")])
    np.testing.assert_allclose(ours, want, rtol=1e-12, atol=1e-14)


def _floss(cell, init, k, target, *, window=50, steps=200, batch=16, lr=1e-2):
    """Adam on the flossing loss (fresh inputs and initial states each step), then the k
    largest exponents before and after, on fresh inputs over 10 x the window."""
    n_states = len(cell.state_names)

    def sample(key, t_len, b):
        k_x, k_c = jax.random.split(key)
        xs = jax.random.normal(k_x, (b, t_len, 1))
        c0 = jax.random.normal(k_c, (n_states, b, cell.hidden_size)) * 0.5
        return xs, dict(zip(cell.state_names, c0, strict=True))

    def run(seed):
        params = init(seed)
        opt = optax.adam(optax.cosine_decay_schedule(lr, steps, 0.03))

        def body(carry, i):
            p, st = carry
            key = jax.random.fold_in(jax.random.key(seed), i)
            xs, c0 = sample(key, window, batch)
            g = jax.grad(gradients.flossing_loss, argnums=1)(
                cell.step, p, xs, c0, k, target=target, key=key, burn_in=window // 5
            )
            upd, st = opt.update(g, st, p)
            return (optax.apply_updates(p, upd), st), None

        (p, _), _ = jax.lax.scan(body, (params, opt.init(params)), jnp.arange(steps))
        xs, c0 = sample(jax.random.key(10_000 + seed), 10 * window, 1)

        def measure(q):
            return cell_stats.carry_lyapunov(cell.step, q, xs, c0, k, burn_in=window)

        return measure(params), measure(p)

    return jax.jit(jax.vmap(run))(jnp.arange(3))


def test_flossing_brings_a_chaotic_rnn_to_the_edge():
    cell, _ = _rnn(32, 0)
    before, after = _floss(cell, lambda s: _rnn(32, s)[1], k=1, target=0.0)
    assert float(jnp.median(before[:, 0])) > 0.05  # chaotic to begin with
    assert float(jnp.median(jnp.max(jnp.abs(after), axis=1))) <= 0.02


def test_flossing_the_lstm_carry_reaches_a_negative_target():
    cell = cells.get("lstm", input_size=1, hidden_size=16, dtype="float64")

    def init(seed):
        p = cell.init(jax.random.key(seed))
        w = 2.0 * jax.random.normal(jax.random.key(seed + 100), p.w_hh.shape) / 4.0
        return p._replace(w_hh=w)

    before, after = _floss(cell, init, k=2, target=-0.1, steps=80, batch=8)
    assert float(jnp.median(jnp.max(jnp.abs(before + 0.1), axis=1))) > 0.05
    assert float(jnp.median(jnp.max(jnp.abs(after + 0.1), axis=1))) <= 0.02


@pytest.mark.parametrize(
    ("k", "target", "match"),
    [
        (0, 0.0, "k must be an integer in \\[1, 3\\]"),
        (4, 0.0, "k must be an integer in \\[1, 3\\]"),
        (1, float("nan"), "target must be a finite real"),
        (1, float("inf"), "target must be a finite real"),
    ],
)
def test_bad_input_names_the_function(k, target, match):
    cell, params = _rnn(3, 0)
    xs, carry0 = jnp.zeros((5, 1)), {"h": jnp.zeros(3)}
    with pytest.raises(ValueError, match=f"flossing_loss: {match}"):
        gradients.flossing_loss(cell.step, params, xs, carry0, k, target=target)


def test_negative_target_and_batch_are_valid():
    cell, params = _rnn(3, 0)
    xs = jax.random.normal(jax.random.key(3), (2, 8, 1))
    carry0 = {"h": jnp.zeros((2, 3))}
    lam = cell_stats.carry_lyapunov(cell.step, params, xs, carry0, 2, jax.random.key(0), burn_in=0)
    got = gradients.flossing_loss(cell.step, params, xs, carry0, 2, target=-0.5)
    np.testing.assert_allclose(got, jnp.mean((lam + 0.5) ** 2), rtol=1e-12)
    with pytest.raises(ValueError, match="flossing_loss: with xs"):
        gradients.flossing_loss(cell.step, params, xs, {"h": jnp.zeros((3, 3))}, 1)
