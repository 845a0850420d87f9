"""Singular values of the per-step Jacobian and the long-term condition number, against
jnp.linalg on linear cells whose Jacobian is an explicit matrix."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from analysis import cells, gradients

H = 4


def _linear_rnn(u):
    cell = cells.get("rnn", input_size=1, hidden_size=H, candidate="identity", dtype="float64")
    return cell, dict(cell.init(jax.random.key(0)), u=u)


def test_singular_values_of_an_explicit_jacobian():
    # h_t = x W + h U + b: J_t = U^T at every step, whatever the state
    u = jax.random.normal(jax.random.key(1), (H, H), jnp.float64)
    cell, p = _linear_rnn(u)
    xs = jax.random.normal(jax.random.key(2), (2, 6, 1), jnp.float64)
    out = gradients.jacobian_singular_values(cell.step, p, xs, cell.initial_carry(2))
    sv = jnp.linalg.svd(u, compute_uv=False)
    np.testing.assert_allclose(out["sigma_max"], np.full((2, 6), sv[0]), rtol=1e-12)
    np.testing.assert_allclose(out["sigma_min"], np.full((2, 6), sv[-1]), rtol=1e-12)
    np.testing.assert_allclose(out["median_max"], sv[0], rtol=1e-12)


def test_nonlinear_cell_singular_values_are_those_of_jacfwd():
    cell = cells.get("gru", input_size=1, hidden_size=H, dtype="float64")
    p = cell.init(jax.random.key(0))
    xs = jax.random.normal(jax.random.key(2), (1, 3, 1), jnp.float64)
    out = gradients.jacobian_singular_values(cell.step, p, xs, cell.initial_carry(1))
    h = jnp.zeros((1, H))
    for t in range(3):
        jac = jax.jacfwd(lambda v, x=xs[:, t]: cell.step(p, {"h": v}, x)[0]["h"])(h)[0, :, 0, :]
        sv = jnp.linalg.svd(jac, compute_uv=False)
        np.testing.assert_allclose(out["sigma_max"][0, t], sv[0], rtol=1e-10)
        np.testing.assert_allclose(out["sigma_min"][0, t], sv[-1], rtol=1e-10)
        h = cell.step(p, {"h": h}, xs[:, t])[0]["h"]


def test_condition_number_of_a_long_product():
    # a symmetric U with well separated |eigenvalues| (the frame aligns within the burn-in):
    # the product of n steps is U^n, kappa(U^n) = (|e|_max / |e|_min)^n
    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(3), (H, H), jnp.float64))
    cell, p = _linear_rnn(q @ jnp.diag(jnp.array([1.5, 0.8, -0.4, 0.15])) @ q.T)
    t_len, burn = 30, 20  # n = 10 steps: kappa = 1e10, within float64 for jnp.linalg.cond
    xs = jnp.zeros((1, t_len, 1))
    out = gradients.log10_condition(cell.step, p, xs, cell.initial_carry(1), burn_in=burn)
    n = t_len - burn
    want = math.log10(float(jnp.linalg.cond(jnp.linalg.matrix_power(p["u"], n))))
    np.testing.assert_allclose(out["log10_condition"], want, rtol=1e-6)
    eig = jnp.sort(jnp.log(jnp.abs(jnp.linalg.eigvalsh(p["u"]))))[::-1]
    np.testing.assert_allclose(out["spectrum"], eig, rtol=1e-6, atol=1e-8)
