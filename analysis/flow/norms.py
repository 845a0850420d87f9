"""Per-step gradient norms of the LSTM: ||dL/dh_t||, ||dL/dc_t|| and their logs, one pass.

For a loss L(hs) the total derivatives dL/dh_t and dL/dc_t (through every later step) all come
from the one reverse sweep that ordinary backprop does. `per_step_grads` gets them with JAX's
own AD of the plain scan (zero perturbations ride along as inputs); `per_step_grad_norms` gets
their norms from the fused backward (`analysis.cells.lstm.norms`), which renormalises its
carried cotangent every step, so the log-norms stay finite at any T in any dtype.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells import lstm
from analysis.cells.lstm import norms as lstm_norms
from analysis.flow.losses import Loss, resolve_loss

__all__ = ["GradNorms", "frobenius_per_step", "per_step_grad_norms", "per_step_grads"]

Array = jax.Array


class GradNorms(NamedTuple):
    """h[t] = ||dL/dh_t||_F and c[t] = ||dL/dc_t||_F over (batch, hidden), each (T,), in the
    cell's dtype (0 where it underflows); log_h[t], log_c[t] their natural logs, (T,), float32
    (float64 for float64 cells), finite unless the gradient is exactly 0 (-inf) or not finite."""

    h: Array
    c: Array
    log_h: Array
    log_c: Array


def frobenius_per_step(g: Array) -> Array:
    """||g_t||_F over all axes but the first, each g_t scaled by max|g_t| first so squares
    cannot underflow or overflow before the norm itself would; inf / nan entries give inf / nan.

    Args:
      g: (T, ...).
    Returns:
      (T,) in g.dtype.
    """
    axes = tuple(range(1, g.ndim))
    finite = jnp.isfinite(g)
    a = jnp.where(finite, jnp.abs(g), jnp.zeros_like(g))
    m = jnp.max(a, axis=axes, keepdims=True)
    safe = jnp.where(m > 0, m, jnp.ones_like(m))
    norm = jnp.where(m > 0, safe * jnp.sqrt(jnp.sum((a / safe) ** 2, axis=axes, keepdims=True)), 0)
    # Non-finite entries are flagged explicitly: a max-reduction need not propagate nan.
    norm = jnp.where(jnp.any(jnp.isinf(g), axis=axes, keepdims=True), jnp.inf, norm)
    norm = jnp.where(jnp.any(jnp.isnan(g), axis=axes, keepdims=True), jnp.nan, norm)
    return norm.astype(g.dtype).reshape(g.shape[0])


@functools.partial(jax.jit, static_argnames=("cfg", "loss"))
def _per_step_grads(params, xs, cfg, loss, h0, c0) -> tuple[Array, Array]:
    t_len, batch = xs.shape[1], xs.shape[0]
    zeros = jnp.zeros((t_len, batch, cfg.hidden_size), cfg.jnp_dtype)

    def loss_of_perturbations(dc: Array, dh: Array) -> Array:
        hs, _, _ = lstm.scan_steps(params, xs, cfg, h0=h0, c0=c0, dc=dc, dh=dh)
        return loss(hs)

    return jax.grad(loss_of_perturbations, argnums=(0, 1))(zeros, zeros)


def per_step_grads(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    loss: str | Loss | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> tuple[Array, Array]:
    """(dL/dc_t, dL/dh_t) for all t, total derivatives from one backward pass of the plain scan.

    Zero perturbations dc_t, dh_t ride along the scan as inputs: dc_t is added to c_t before
    h_t is computed from it, dh_t to h_t after (`lstm.step`). L depends on them only through
    the states, so dL/d(dc_t) = dL/dc_t and dL/d(dh_t) = dL/dh_t.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; loss: as `resolve_loss`;
      h0, c0: broadcastable to (B, H).
    Returns:
      (dL/dc (T, B, H), dL/dh (T, B, H)) in ``cfg.dtype``.
    """
    xs = lstm.prepare_inputs(xs, cfg, "gradients.per_step_grads")
    return _per_step_grads(params, xs, cfg, resolve_loss(loss), h0, c0)


def per_step_grad_norms(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    loss: str | Loss | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> GradNorms:
    """||dL/dh_t||_F, ||dL/dc_t||_F over (batch, hidden) and their logs, t = 0..T-1.

    One fused forward and one renormalised backward (`lstm_norms.grad_log_norms`):
    ln||g_t|| = k_t ln 2 + ln||g~_t|| with g_t = g~_t 2^k_t, max|g~| ~ 1 and k_t an exact
    integer, so log_h, log_c are finite at T = 10^5 in float32 (and float16); h = exp(log_h)
    in ``cfg.dtype``, so dtype underflow still shows as 0 there. Concrete xs with NaN or inf
    raise ValueError naming the first bad index.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; loss: None or "last"
        (0.5 mean_b ||h_T||^2), "mean" (0.5 mean_{b,t} ||h_t||^2) or hs (B, T, H) -> scalar;
      h0, c0: broadcastable to (B, H), default zeros.
    Returns:
      GradNorms(h (T,), c (T,), log_h (T,), log_c (T,)).
    """
    xs = lstm.prepare_inputs(xs, cfg, "gradients.per_step_grad_norms")
    log_h, log_c = lstm_norms.grad_log_norms(params, xs, cfg, resolve_loss(loss), h0, c0)
    dt = cfg.jnp_dtype
    return GradNorms(jnp.exp(log_h).astype(dt), jnp.exp(log_c).astype(dt), log_h, log_c)
