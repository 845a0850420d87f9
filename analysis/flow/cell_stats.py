"""Lyapunov spectrum of the whole carry and telemetry, for any cell of `analysis.cells`.

* `carry_lyapunov`: the k largest Lyapunov exponents of the state map carry_{t-1} -> carry_t,
  the carry flattened per sequence into one vector of D = `Cell.state_size` numbers (states in
  the order of ``carry0``'s keys, each (B, ...) row-major), by `gradients.lyapunov_qr`.
* `cell_telemetry`: what the cell does along the sequence: gate means, the share of gate
  values near 0 or 1, and max |state| per named state.

References: Benettin et al. 1980; Vogt et al. 2022, "On Lyapunov exponents for RNNs".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.flow.lyapunov import lyapunov_qr
from analysis.flow.steps import static_step

Array = jax.Array
Carry = dict[str, Array]

SATURATION_EPS = 0.01

__all__ = ["SATURATION_EPS", "carry_lyapunov", "cell_telemetry"]


def _flatten(carry: Carry, names: tuple[str, ...]) -> Array:
    """{name: (...)} of one sequence -> (D,), states in `names` order."""
    return jnp.concatenate([jnp.ravel(carry[k]) for k in names])


def _unflatten(s: Array, shapes: dict[str, tuple[int, ...]], names: tuple[str, ...]) -> Carry:
    out, at = {}, 0
    for k in names:
        n = math.prod(shapes[k])
        out[k] = s[at : at + n].reshape(shapes[k])
        at += n
    return out


@functools.partial(jax.jit, static_argnames=("step", "names", "k", "burn_in"))
def _lyapunov(step, params, xs, carry0, names, k, key, burn_in):
    shapes = {n: carry0[n].shape[1:] for n in names}

    def step_fn(s: Array, x: Array) -> Array:
        carry = {n: v[None] for n, v in _unflatten(s, shapes, names).items()}
        new, _ = step(params, carry, x[None])
        return _flatten({n: new[n][0] for n in names}, names)

    states0 = jax.vmap(lambda c: _flatten(c, names))(carry0)
    one = functools.partial(lyapunov_qr, step_fn, k=k, burn_in=burn_in)
    per_seq = jax.vmap(lambda s0, x, kk: one(s0, x, key=kk), in_axes=(0, 1, 0))(
        states0, jnp.swapaxes(xs, 0, 1), jax.random.split(key, xs.shape[0])
    )
    return jnp.mean(per_seq, axis=0)


def carry_lyapunov(
    step: Callable,
    params: Any,
    xs: ArrayLike,
    carry0: Carry,
    k: int = 8,
    key: ArrayLike | None = None,
    *,
    burn_in: int | None = None,
) -> Array:
    """The k largest Lyapunov exponents (per step, descending) of the whole carry, (k,).

    lambda_j = lim (1/T) ln sigma_j(J_T ... J_1), J_t = d carry_t / d carry_{t-1} (D, D), by
    Benettin's QR method (`gradients.lyapunov_qr`) on each sequence of the batch (own random
    frame, from ``key`` split per sequence, as `gradients.lyapunov_spectrum` does), averaged.

    Args: step(params, carry, x_t) -> (carry, y_t); params; xs (B, T, I); carry0
        {name: (B, ...)}; k in [1, D]; key (default key(0)); burn_in (default T // 10).
    Returns: (k,) exponents, descending.
    """
    xs = jnp.asarray(xs)
    if xs.ndim < 3:
        raise ValueError(f"carry_lyapunov: xs must be (B, T, ...), got shape {tuple(xs.shape)}")
    if not isinstance(carry0, dict) or not carry0:
        raise ValueError("carry_lyapunov: carry0 must be a non-empty dict of named states")
    carry0 = {n: jnp.asarray(v) for n, v in carry0.items()}
    d = sum(math.prod(v.shape[1:]) for v in carry0.values())
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= d:
        raise ValueError(f"carry_lyapunov: k must be an integer in [1, {d}], got {k!r}")
    burn_in = xs.shape[1] // 10 if burn_in is None else burn_in
    key = jax.random.key(0) if key is None else key
    return _lyapunov(static_step(step), params, xs, carry0, tuple(carry0), k, key, burn_in)


def _max_abs(x: Array) -> Array:
    """max |x|, nan if any entry is nan, inf if any is infinite."""
    m = jnp.max(jnp.where(jnp.isfinite(x), jnp.abs(x), jnp.zeros_like(x)))
    m = jnp.where(jnp.any(jnp.isinf(x)), jnp.inf, m)
    return jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, m)


@functools.partial(jax.jit, static_argnames=("cell",))
def _telemetry(cell, params, xs, carry0):
    def body(carry: Carry, x_t: Array) -> tuple[Carry, dict[str, Array]]:
        gates = cell.gates(params, carry, x_t)
        new, _ = cell.step(params, carry, x_t)
        stats = {f"{g}_mean": jnp.mean(v.astype(jnp.float32)) for g, v in gates.items()}
        if gates:
            values = jnp.concatenate([jnp.ravel(v) for v in gates.values()])
            sat = (values < SATURATION_EPS) | (values > 1 - SATURATION_EPS)
            stats["saturated_fraction"] = jnp.mean(sat.astype(jnp.float32))
        stats.update({f"{n}_max": _max_abs(v) for n, v in new.items()})
        return {n: new[n] for n in carry}, stats

    _, stats = jax.lax.scan(body, carry0, jnp.swapaxes(xs, 0, 1))
    return stats


def cell_telemetry(
    cell: Any, params: Any, xs: ArrayLike, carry0: Carry | None = None
) -> dict[str, Array]:
    """Along the sequence, each (T,), over batch and units, for a cell with `gates`:

    ``<gate>_mean``: mean of each gate the cell exposes (`Cell.gates`, values in [0, 1]);
    ``saturated_fraction``: share of all gate values below 0.01 or above 0.99 (there a
    sigmoid's slope y(1 - y) is under 4% of its peak); ``<state>_max``: max |state_t|.
    A cell without gates (rnn) gets only the state maxima.

    Args: cell: an `analysis.cells` cell; params; xs (B, T, I); carry0 (default zeros).
    Returns: {name: (T,)}.
    """
    xs = jnp.asarray(xs, cell.jnp_dtype)
    carry0 = cell.initial_carry(xs.shape[0]) if carry0 is None else dict(carry0)
    return _telemetry(cell, params, xs, carry0)
