"""Per-step gradient log-norms from the fused LSTM's backward recursion, renormalised each step.

For a loss L(hs) the backward recursion of the cell (`analysis.cells.lstm.fused`) holds, at
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

from analysis.cells.lstm import fused
from analysis.cells.lstm.config import LSTMConfig, LSTMParams
from analysis.cells.lstm.scan import initial_carry, prepare_inputs

__all__ = ["grad_log_norms", "log_dtype", "log_norms", "pow2"]

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


def _pow2_or_zero(n: Array, dtype: jnp.dtype) -> Array:
    """2^n for n >= minexp, else 0: a term that small beside one of size ~1 is below rounding."""
    return jnp.where(n < jnp.finfo(dtype).minexp, jnp.zeros((), dtype), pow2(n, dtype))


def _normalise(v: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(v 2^-e, e) with e the exponent of max|v| over ``axes`` (max|v 2^-e| in [1/2, 1)).

    e is clipped so that 2^-e stays a normal number (then v 2^-e is exact and merely not fully
    normalised for subnormal or huge v); e = 0 where max|v| is 0 or not finite.
    """
    fi = jnp.finfo(v.dtype)
    m = jnp.max(jnp.abs(v), axis=axes, keepdims=True)
    e = jnp.where(jnp.isfinite(m) & (m > 0), jnp.frexp(m)[1], 0)
    e = jnp.clip(e, 1 - fi.maxexp, -fi.minexp).astype(jnp.int32)
    return v * pow2(-e, v.dtype), e


def log_norms(v: Array, k: Array, out_dt: jnp.dtype) -> Array:
    """ln(||v_t||_F 2^k_t) per t: each v_t scaled by its own max first, squares in ``out_dt``.

    Args:
      v: (T, B, H) scaled vectors; k: (T,) int32 exponents; out_dt: float32 or float64.
    Returns:
      (T,) in ``out_dt``: -inf for an all-zero v_t, inf / nan for non-finite entries.
    """
    s, e = _normalise(v, (1, 2))
    s = s.astype(out_dt)
    ss = jnp.sum(s * s, axis=(1, 2))
    return (k + e[:, 0, 0]).astype(out_dt) * _LN2 + 0.5 * jnp.log(ss)


def _norm_backward(spec: fused.Spec, w_hh: Array, res: tuple, g: Array, kg: Array, state):
    """Reverse scan over one stretch, carry (dh~, dc~, k); returns (state_0, (log_h, log_c)).

    The loop only rescales by exact scalar powers of two; the norms of the stacked scaled
    (dh~_t, dc~_t) are formed after it, vectorised (the loop stays latency-bound at B = 1).
    """
    names = fused.layout(spec)
    out = fused.act(spec.output).fn
    w_hh_t = w_hh.T
    dt = w_hh.dtype

    def body(carry, xs):
        dh, dc, k = carry
        g_t, kg_t, r_t = xs
        kk = jnp.maximum(k, kg_t)
        dh = dh * _pow2_or_zero(k - kk, dt) + g_t * _pow2_or_zero(kg_t - kk, dt)
        dc = dc * _pow2_or_zero(k - kk, dt)
        v = dict(zip(names, r_t, strict=True))
        c = v["f"] * v["c_prev"] + v["i"] * v["g"]
        y = out(c)
        dc = dc + dh * v["o"] * fused.deriv(spec.output, y, c)
        dz = fused.gate_cotangents(spec, v, y, dh, dc)
        dh_p, dc_p = dz @ w_hh_t, dc * v["f"]
        both = jnp.stack([jnp.max(jnp.abs(dh_p)), jnp.max(jnp.abs(dc_p))])
        _, e = _normalise(both, (0,))
        zero = jnp.max(both) == 0
        scale = pow2(-e[0], dt)
        new = (dh_p * scale, dc_p * scale, jnp.where(zero, NO_SCALE, kk + e[0]))
        return new, (dh, dc, kk)

    state, (dhs, dcs, ks) = jax.lax.scan(
        body, state, (g, kg, res), reverse=True, unroll=spec.unroll
    )
    out_dt = log_dtype(dt)
    return state, (log_norms(dhs, ks, out_dt), log_norms(dcs, ks, out_dt))


def _forward_all(spec, w_ih, w_hh, b, x_tm, h0, c0):
    """hs (T, B, H) and what the backward needs: every step's residuals, or chunk starts."""
    t = x_tm.shape[0]
    if fused.split_chunks(spec, t)[0] == t:
        _, hs, res, _ = fused.forward(spec, w_ih, w_hh, b, x_tm, h0, c0, save=True)
        return hs, res, None
    hs, c_starts, _, _ = fused.forward_chunked(spec, w_ih, w_hh, b, x_tm, h0, c0)
    return hs, None, c_starts


@functools.partial(jax.jit, static_argnames=("cfg", "loss", "checkpoint_every"))
def _log_norms(params, xs, cfg, loss, h0, c0, checkpoint_every):
    spec = fused.make_spec(cfg, xs.shape[0], xs.shape[1], checkpoint_every)
    w_ih, w_hh, b = (jnp.asarray(p).astype(cfg.jnp_dtype) for p in params)
    h0, c0 = initial_carry(cfg, xs.shape[0], h0, c0)
    x_tm = jnp.swapaxes(xs, 0, 1)
    hs, res, c_starts = _forward_all(spec, w_ih, w_hh, b, x_tm, h0, c0)
    value, pull = jax.vjp(lambda h: loss(jnp.swapaxes(h, 0, 1)), hs)
    (ghs,) = pull(jnp.ones_like(value))
    g, kg = _normalise(ghs, (1, 2))
    zero = jnp.max(jnp.abs(ghs), axis=(1, 2)) == 0
    kg = jnp.where(zero, NO_SCALE, kg[:, 0, 0]).astype(jnp.int32)
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
      h0, c0: broadcastable to (B, H), default 0; checkpoint_every: as `vjp.apply_fused`.
    Returns:
      (log_h (T,), log_c (T,)) in float32 (float64 for float64 cells).
    """
    xs = prepare_inputs(xs, cfg, "lstm.norms.grad_log_norms")
    return _log_norms(params, xs, cfg, loss, h0, c0, checkpoint_every)
