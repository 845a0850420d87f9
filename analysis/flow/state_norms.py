"""Per-step gradient norms for ANY recurrent step with a dict carry, from one backward pass.

For ``step(params, carry, x_t) -> (carry_t, y_t)``, carry {name: (B, ...)} and a loss L of the
outputs ys (B, T, ...), `state_grad_norms` gives for every named state and every t::

    norms[name][t]        = ||dL/d state_t||_F       over (batch, features)      (T,)
    norms["log_" + name][t] = ln ||dL/d state_t||_F, finite at any T in any dtype  (T,)

dL/d state_t is the total derivative: a zero perturbation d_t rides along the scan and is added
to the state where step t produces it (`analysis.cells` cells take ``perturb=``; any other step
gets it added to its returned carry, `analysis.cells.base.perturb_after`), so dL/d(d_t) is the
derivative through everything that reads state_t afterwards. The plain norms come from one
``jax.grad`` through the scan, in the step's dtype (float32 underflow shows as 0). The log norms
come from one reverse scan of per-step VJPs that renormalises the cotangent of the whole carry
to norm in [1/2, 1) at every step by an exact power of two and accumulates the integer
exponent::

    g = 0;  k = 0
    step t = T-1..0:   (g, k) <- the cotangent 2^k g + dL/dy_t, as g' 2^k' (k' the larger exponent)
                       (g_prev, g_d) = vjp(step_t)(g)     ln||dL/d state_t|| = ln||g_d|| + k ln 2
                       e = exponent(||g_prev||);  g <- g_prev 2^-e;  k <- k + e

so nothing under- or overflows unless a single step's Jacobian does. The default loss is
L = 0.5 * mean_b ||y_T||^2.

References: Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013 (the per-step view).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells.lstm.cell import LSTMCell
from analysis.cells.lstm.config import LSTMConfig
from analysis.cells.lstm.norms import grad_log_norms
from analysis.flow.losses import resolve_loss
from analysis.flow.steps import StaticStep, static_step

Array = jax.Array
Carry = dict[str, Array]

__all__ = ["state_grad_log_norms", "state_grad_norms", "state_grads"]


def _check(xs: ArrayLike, carry0: Any) -> tuple[Array, Carry]:
    xs = jnp.asarray(xs)
    if xs.ndim < 3:
        raise ValueError(f"state_grad_norms: xs must be (B, T, ...), got shape {tuple(xs.shape)}")
    if not isinstance(carry0, dict) or not carry0:
        raise ValueError("state_grad_norms: carry0 must be a non-empty dict of named states")
    return xs, {k: jnp.asarray(v) for k, v in carry0.items()}


def _zeros_like_seq(carry: Carry, t_len: int) -> Carry:
    return {k: jnp.zeros((t_len, *v.shape), v.dtype) for k, v in carry.items()}


@functools.partial(jax.jit, static_argnames=("wrapped", "loss"))
def _grads(wrapped: StaticStep, params: Any, xs: Array, carry0: Carry, loss: Callable) -> Carry:
    xs_tm = jnp.swapaxes(xs, 0, 1)
    zeros = _zeros_like_seq(carry0, xs_tm.shape[0])

    def loss_of(d: Carry) -> Array:
        def body(c: Carry, inp: tuple[Array, Carry]) -> tuple[Carry, Any]:
            new, y = wrapped(params, c, *inp)
            return {k: new[k] for k in c}, y

        _, ys = jax.lax.scan(body, carry0, (xs_tm, d))
        return loss(jnp.swapaxes(ys, 0, 1))

    return jax.grad(loss_of)(zeros)


def state_grads(
    step: Callable, params: Any, xs: ArrayLike, carry0: Carry, loss: Callable | str | None = None
) -> Carry:
    """dL/d state_t for every named state and t: {name: (T, B, ...)}, from one jax.grad.

    Args: step(params, carry, x_t) -> (carry, y_t); params: its parameters; xs (B, T, I);
        carry0 {name: (B, ...)}; loss: ys (B, T, ...) -> scalar, or "last" (default,
        `last_output_loss`) or "mean" (`mean_output_loss`).
    Returns: {name: (T, B, ...)} in the states' dtypes.
    """
    xs, carry0 = _check(xs, carry0)
    return _grads(static_step(step), params, xs, carry0, resolve_loss(loss, "state_grad_norms"))


def _norm(g: Array) -> Array:
    """||g||_F over all axes, scaled by max|g| so that the squares cannot under/overflow.

    Computed in float32 at least (float64 for float64): half-precision squares underflow, and
    XLA:CPU flushes subnormals to zero, so a max below the smallest normal counts as 0.
    """
    a = jnp.abs(g.astype(jnp.result_type(g.dtype, jnp.float32)))
    m = jnp.max(a)
    ok = m >= jnp.finfo(a.dtype).tiny
    safe = jnp.where(ok, m, jnp.ones_like(m))
    return jnp.where(ok, safe * jnp.sqrt(jnp.sum((a / safe) ** 2)), jnp.zeros_like(m))


def _norm_per_step(g: Array) -> Array:
    """(T, ...) -> (T,) in g's dtype: `_norm` of each step, nan or inf where the step has them."""
    n = jax.vmap(_norm)(jnp.where(jnp.isfinite(g), g, jnp.zeros_like(g))).astype(g.dtype)
    axes = tuple(range(1, g.ndim))
    n = jnp.where(jnp.any(jnp.isinf(g), axis=axes), jnp.inf, n)
    return jnp.where(jnp.any(jnp.isnan(g), axis=axes), jnp.nan, n)


def _log(x: Array) -> Array:
    """ln x with ln 0 = -inf, and no nan for x = 0 (x >= 0)."""
    pos = x > 0
    return jnp.where(pos, jnp.log(jnp.where(pos, x, jnp.ones_like(x))), -jnp.inf)


def _forward(wrapped: StaticStep, params: Any, xs_tm: Array, carry0: Carry, zeros: Carry):
    """Run the scan, keeping the carry that enters every step: (carries (T, ...), ys (T, ...))."""

    def body(c: Carry, inp: tuple[Array, Carry]) -> tuple[Carry, tuple[Carry, Any]]:
        new, y = wrapped(params, c, *inp)
        return {k: new[k] for k in c}, (c, y)

    _, (carries, ys) = jax.lax.scan(body, carry0, (xs_tm, zeros))
    return carries, ys


def _exponent(x: Array) -> Array:
    """e with x = m 2^e, m in [1/2, 1), for x > 0 finite; 0 otherwise (int32)."""
    ok = jnp.isfinite(x) & (x > 0)
    return jnp.where(ok, jnp.frexp(jnp.where(ok, x, jnp.ones_like(x)))[1], 0).astype(jnp.int32)


def _combine(g: Carry, k: Array, gy: Array) -> tuple[Carry, Array, Array]:
    """The cotangent 2^k g + dL/dy_t as (g', y') 2^k' with k' = the larger exponent.

    Scaling by powers of two is exact, and the integer k' cannot drift as a float sum would.
    """
    ky = _exponent(_norm(gy))
    g_zero = sum(jnp.sum(jnp.abs(v)) for v in g.values()) == 0
    y_zero = jnp.all(gy == 0)
    k_new = jnp.where(g_zero, ky, jnp.where(y_zero, k, jnp.maximum(k, ky)))
    g = {n: jnp.ldexp(v, (k - k_new).astype(jnp.int32)) for n, v in g.items()}
    return g, jnp.ldexp(gy, -k_new), k_new


@functools.partial(jax.jit, static_argnames=("wrapped", "loss"))
def _log_norms(wrapped: StaticStep, params: Any, xs: Array, carry0: Carry, loss: Callable):
    xs_tm = jnp.swapaxes(xs, 0, 1)
    zeros = _zeros_like_seq(carry0, xs_tm.shape[0])
    carries, ys = _forward(wrapped, params, xs_tm, carry0, zeros)
    gys = jnp.swapaxes(jax.grad(loss)(jnp.swapaxes(ys, 0, 1)), 0, 1)
    zero_d = {n: v[0] for n, v in zeros.items()}
    # ln of a norm needs more range than half floats have: float32, or float64 for float64.
    out_dt = jnp.result_type(jnp.float32, *carry0.values())

    def body(state: tuple[Carry, Array], inp: tuple) -> tuple[tuple[Carry, Array], Carry]:
        g, k = state
        x_t, c_prev, gy = inp
        g, gy, k = _combine(g, k, gy)

        def f(c: Carry, d: Carry) -> tuple[Carry, Any]:
            new, y = wrapped(params, c, x_t, d)
            return {n: new[n] for n in c}, y

        _, vjp = jax.vjp(f, c_prev, zero_d)
        g_prev, g_d = vjp((g, gy))
        scale = k.astype(out_dt) * math.log(2.0)
        logs = {n: _log(_norm(v).astype(out_dt)) + scale for n, v in g_d.items()}
        e = _exponent(_norm(jnp.stack([_norm(v) for v in g_prev.values()])))
        return ({n: jnp.ldexp(v, -e) for n, v in g_prev.items()}, k + e), logs

    init = ({n: jnp.zeros_like(v) for n, v in carry0.items()}, jnp.zeros((), jnp.int32))
    _, logs = jax.lax.scan(body, init, (xs_tm, carries, gys), reverse=True)
    return logs


def _fused_lstm(step: Callable, carry0: Carry) -> LSTMConfig | None:
    """The config of a fused LSTM cell whose ``step`` this is (the fast case), else None."""
    owner = getattr(step, "__self__", None)
    if (
        isinstance(owner, LSTMCell)
        and getattr(step, "__func__", None) is LSTMCell.step
        and owner.lstm_config.fused
        and set(carry0) == {"h", "c"}
    ):
        return owner.lstm_config
    return None


def state_grad_log_norms(
    step: Callable, params: Any, xs: ArrayLike, carry0: Carry, loss: Callable | str | None = None
) -> Carry:
    """ln ||dL/d state_t||_F for every named state: {name: (T,)}, finite at any T.

    One forward scan and one renormalised reverse scan of per-step VJPs (module docstring).
    The fused LSTM cell (``cells.get("lstm")``, ``fused=True``) is this pass's fast case: its
    hand-written renormalised backward (`analysis.cells.lstm.norms`, what
    `gradients.per_step_grad_norms` runs), the same quantities without a VJP per step.
    -inf means an exact zero. Args and loss as `state_grads`. Returns: {name: (T,)}.
    """
    xs, carry0 = _check(xs, carry0)
    fn = resolve_loss(loss, "state_grad_norms")
    cfg = _fused_lstm(step, carry0)
    if cfg is not None:
        log_h, log_c = grad_log_norms(params, xs, cfg, fn, carry0["h"], carry0["c"])
        return {n: {"h": log_h, "c": log_c}[n] for n in carry0}
    return _log_norms(static_step(step), params, xs, carry0, fn)


def state_grad_norms(
    step: Callable,
    params: Any,
    xs: ArrayLike,
    carry0: Carry,
    loss: Callable | str | None = None,
    *,
    log_space: bool = True,
) -> dict[str, Array]:
    """||dL/d state_t||_F for every named state and t, and (``log_space``) their logs.

    Args: step(params, carry, x_t) -> (carry, y_t), carry a dict; params; xs (B, T, I);
        carry0 {name: (B, ...)}; loss: ys (B, T, ...) -> scalar, "last" (default,
        0.5 mean_b ||y_T||^2) or "mean" (0.5 mean_{b,t} ||y_t||^2).
    Returns: {name: (T,)} (one jax.grad, in the states' dtype) and, if ``log_space``,
        {"log_" + name: (T,)} (`state_grad_log_norms`).
    """
    grads = state_grads(step, params, xs, carry0, loss)
    out = {k: _norm_per_step(v) for k, v in grads.items()}
    if log_space:
        logs = state_grad_log_norms(step, params, xs, carry0, loss)
        out.update({f"log_{k}": v for k, v in logs.items()})
    return out
