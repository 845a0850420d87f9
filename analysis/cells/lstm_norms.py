"""Per-step gradient log-norms from the fused LSTM's backward recursion, renormalised each step.

For a loss L(hs) the backward recursion of the cell (`analysis.cells.lstm_fused`) holds, at
every step t, the total derivatives dh_t = dL/dh_t and dc_t = dL/dc_t. Going back, their size
changes by a factor per step (ln f per step for a forget gate f), so over 10^4 steps they
underflow float32. Here the carried pair is kept as (dh~, dc~, k) with

    dh_t = dh~ * 2^k,   dc_t = dc~ * 2^k,   max(|dh~|, |dc~|) in [1/2, 1)

renormalised after every step by an exact power of two (``frexp``), with the integer exponent
k accumulated exactly; the external cotangent g_t = dL/dh_t|direct enters in the same frame.
The log-norms are then ln||dh_t||_F = k ln 2 + ln||dh~||_F (likewise dc), finite at any T in
any dtype unless the gradient itself is exactly 0 (-inf), infinite (inf) or NaN (nan).

Only norms are formed: no dZ is stored and no weight gradient is computed, so this costs one
fused forward plus a backward scan without the (T*B, 4H) products.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells import lstm_fused as fused
from analysis.cells.lstm_step import LSTMConfig, LSTMParams, initial_carry, prepare_inputs

__all__ = ["grad_log_norms", "log_dtype", "pow2", "scale_pow2"]

Array = jax.Array
# The exponent of an all-zero vector: far below any real one, and its differences stay in int32.
NO_SCALE = -(2**30)
_LN2 = math.log(2.0)


def log_dtype(dtype: jnp.dtype) -> jnp.dtype:
    """float64 for float64 runs, else float32: ln of a norm needs the range half floats lack."""
    return jnp.dtype(jnp.float64) if jnp.dtype(dtype) == jnp.float64 else jnp.dtype(jnp.float32)


def pow2(n: Array, dtype: jnp.dtype) -> Array:
    """2^n exactly, built from its bits: n (int32, any shape) clipped to the normal range.

    Args:
      n: integer exponents, any shape.
      dtype: a floating dtype (float16, bfloat16, float32, float64).
    Returns:
      2^clip(n, minexp, maxexp - 1) in ``dtype``, same shape as n.
    """
    fi = jnp.finfo(dtype)
    int_t = {2: jnp.int16, 4: jnp.int32, 8: jnp.int64}[jnp.dtype(dtype).itemsize]
    n = jnp.clip(n, fi.minexp, fi.maxexp - 1)
    bits = (n - fi.minexp + 1).astype(int_t) << fi.nmant
    return jax.lax.bitcast_convert_type(bits, dtype)


def scale_pow2(x: Array, n: Array) -> Array:
    """x * 2^n, exact while the result is normal; 2^n in two halves so no factor overflows.

    Args:
      x: float array (..., H); n: int32 exponent broadcastable to x (e.g. a scalar).
    Returns:
      x * 2^n in x.dtype (0 when far below the dtype's range).
    """
    fi = jnp.finfo(x.dtype)
    n = jnp.clip(n, 2 * fi.minexp, 2 * (fi.maxexp - 1))
    a = n // 2
    return x * pow2(a, x.dtype) * pow2(n - a, x.dtype)


def _exponent(m: Array) -> Array:
    """e with m = mantissa * 2^e, mantissa in [1/2, 1); 0 for m = 0 or non-finite m."""
    return jnp.where(jnp.isfinite(m) & (m > 0), jnp.frexp(m)[1], 0).astype(jnp.int32)


def _log_norm(v: Array, k: Array, out_dt: jnp.dtype) -> Array:
    """ln(||v||_F * 2^k): v scaled by its own max first, squares summed in ``out_dt``."""
    e = _exponent(jnp.max(jnp.abs(v)))
    s = scale_pow2(v, -e).astype(out_dt)
    return (k + e).astype(out_dt) * _LN2 + 0.5 * jnp.log(jnp.sum(s * s))


def _split_cotangents(ghs: Array) -> tuple[Array, Array]:
    """ghs (T, B, H) -> (g~ (T, B, H), kg (T,)) with ghs_t = g~_t 2^kg_t; kg = NO_SCALE if 0."""
    m = jnp.max(jnp.abs(ghs), axis=(1, 2))
    e = _exponent(m)
    g = scale_pow2(ghs, -e[:, None, None])
    return g, jnp.where(m == 0, NO_SCALE, e).astype(jnp.int32)


def _norm_backward(spec: fused.Spec, w_hh: Array, res: tuple, g: Array, kg: Array, state):
    """Reverse scan over one stretch, carry (dh~, dc~, k); returns (state_0, (log_h, log_c))."""
    layout = fused.layout(spec)
    out = fused.act(spec.output).fn
    w_hh_t = w_hh.T
    out_dt = log_dtype(w_hh.dtype)

    def body(carry, xs):
        dh, dc, k = carry
        g_t, kg_t, r_t = xs
        kk = jnp.maximum(k, kg_t)
        dh = scale_pow2(dh, k - kk) + scale_pow2(g_t, kg_t - kk)
        dc = scale_pow2(dc, k - kk)
        v = dict(zip(layout, r_t, strict=True))
        c = v["f"] * v["c_prev"] + v["i"] * v["g"]
        y = out(c)
        dc = dc + dh * v["o"] * fused.deriv(spec.output, y, c)
        logs = (_log_norm(dh, kk, out_dt), _log_norm(dc, kk, out_dt))
        dz = fused.gate_cotangents(spec, v, y, dh, dc)
        dh, dc = dz @ w_hh_t, dc * v["f"]
        m = jnp.maximum(jnp.max(jnp.abs(dh)), jnp.max(jnp.abs(dc)))
        e = _exponent(m)
        k = jnp.where(m == 0, NO_SCALE, kk + e).astype(jnp.int32)
        return (scale_pow2(dh, -e), scale_pow2(dc, -e), k), logs

    return jax.lax.scan(body, state, (g, kg, res), reverse=True, unroll=spec.unroll)


def _forward_all(spec, w_ih, w_hh, b, x_tm, h0, c0):
    """hs (T, B, H) and what the backward needs: every step's residuals, or chunk starts."""
    t = x_tm.shape[0]
    k, n, r = fused.split_chunks(spec, t)
    if k == t:
        _, hs, res, _ = fused.forward(spec, w_ih, w_hh, b, x_tm, h0, c0, save=True)
        return hs, res, None
    hs, c_starts, _ = fused.forward_chunked(spec, w_ih, w_hh, b, x_tm, h0, c0)
    return hs, None, c_starts


@functools.partial(jax.jit, static_argnames=("cfg", "loss", "checkpoint_every"))
def _log_norms(params, xs, cfg, loss, h0, c0, checkpoint_every):
    spec = fused.make_spec(cfg, xs.shape[0], xs.shape[1], checkpoint_every)
    w_ih, w_hh, b = (jnp.asarray(p).astype(cfg.jnp_dtype) for p in params)
    h0, c0 = initial_carry(cfg, xs.shape[0], h0, c0)
    x_tm = jnp.swapaxes(xs, 0, 1)
    hs, res, c_starts = _forward_all(spec, w_ih, w_hh, b, x_tm, h0, c0)
    _, pull = jax.vjp(lambda h: loss(jnp.swapaxes(h, 0, 1)), hs)
    (ghs,) = pull(jnp.ones((), hs.dtype))
    g, kg = _split_cotangents(ghs)
    zeros = jnp.zeros_like(h0)
    state = (zeros, zeros, jnp.int32(NO_SCALE))
    if res is not None:
        _, (log_h, log_c) = _norm_backward(spec, w_hh, res, g, kg, state)
        return log_h, log_c
    h_prev = fused.shift(h0, hs)

    def chunk(state, xs_c):
        x_c, hp_c, c_start, g_c, kg_c = xs_c
        _, _, res_c, _ = fused.forward(spec, w_ih, w_hh, b, x_c, hp_c[0], c_start, save=True)
        return _norm_backward(spec, w_hh, res_c, g_c, kg_c, state)

    seqs = (x_tm, h_prev, g, kg)
    _, (log_h, log_c) = fused.scan_chunks_reverse(spec, chunk, state, seqs, c_starts)
    return log_h, log_c


def grad_log_norms(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    loss: Callable[[Array], Array],
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Array, Array]:
    """(ln||dL/dh_t||_F, ln||dL/dc_t||_F) over (batch, hidden) for t = 0..T-1, one pass.

    dh_t, dc_t are the total derivatives of L(hs) with respect to the states step t produces
    (dc_t with respect to c_t before h_t is computed from it), as in
    `analysis.flow.norms.per_step_grads`, carried renormalised (module docstring).

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; loss: hs (B, T, H) -> scalar;
      h0, c0: broadcastable to (B, H), default 0; checkpoint_every: as `fast_lstm.apply_fused`.
    Returns:
      (log_h (T,), log_c (T,)) in float32 (float64 for float64 cells).
    """
    xs = prepare_inputs(xs, cfg, "fast_lstm.grad_log_norms")
    return _log_norms(params, xs, cfg, loss, h0, c0, checkpoint_every)
