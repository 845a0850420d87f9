"""One LSTM step as a pure function, and the one scan over time with a per-step observer.

Gate order i, f, g, o; carry (h, c)::

    z   = x_t W_ih + h_{t-1} W_hh + b              i, f, g, o = split(z, 4)   (each (B, H))
    c_t = gate(f) * c_{t-1} + gate(i) * candidate(g)
    h_t = gate(o) * output(c_t)

`scan_steps` is the plain `lax.scan` of `step`, the reference every fast path is tested
against; its ``observe`` hook returns per-step side outputs (telemetry, max |c|) without a
second scan. `prepare_inputs` is the one input check (shape, dtype, finiteness).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

import kernels
from analysis.cells.lstm.config import LSTMConfig, LSTMParams

__all__ = [
    "Carry",
    "Gates",
    "cell_update",
    "check_finite",
    "gate_values",
    "initial_carry",
    "input_projection",
    "prepare_inputs",
    "scan_steps",
    "step",
]

Array = jax.Array
Carry = tuple[Array, Array]
Gates = tuple[Array, Array, Array, Array]
Observer = Callable[[Gates, Carry], Any]


@functools.cache
def _fn(name: str) -> Callable[[Array], Array]:
    return kernels.get(name).fn


def check_finite(x: Any, what: str) -> None:
    """ValueError naming the first non-finite entry of a concrete array; nothing under tracing.

    Args:
      x: an array (any shape), or a tracer (then nothing is checked: no value to look at).
      what: the caller and argument named in the message, e.g. "lstm.apply: xs".
    Returns:
      None.
    """
    if x is None or isinstance(x, jax.core.Tracer):
        return
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.floating) and a.dtype.kind != "V":
        return
    a = a.astype(np.float64) if a.dtype.kind == "V" else a  # bfloat16 arrives as void
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{what} has a non-finite value {float(a[idx])} at index {idx}")


def prepare_inputs(xs: ArrayLike, cfg: LSTMConfig, owner: str) -> Array:
    """xs as a (B, T, I) array in ``cfg.dtype``; ValueError on a wrong shape or non-finite value.

    Args:
      xs: (B, T, I) inputs; cfg: the cell; owner: the public function named in errors.
    Returns:
      xs (B, T, I) in ``cfg.jnp_dtype``.
    """
    check_finite(xs, f"{owner}: xs")
    xs = jnp.asarray(xs, cfg.jnp_dtype)
    if xs.ndim != 3 or xs.shape[-1] != cfg.input_size:
        raise ValueError(
            f"{owner}: xs must have shape (B, T, {cfg.input_size}), got {tuple(xs.shape)}"
        )
    return xs


def input_projection(params: LSTMParams, xs: ArrayLike, cfg: LSTMConfig) -> Array:
    """z_x = x W_ih + b for all steps at once, time-major.

    Args:
      params: the cell's parameters; xs: (B, T, I); cfg: the cell.
    Returns:
      z_x (T, B, 4H) in ``cfg.dtype``.
    """
    xs = jnp.asarray(xs, cfg.jnp_dtype)
    if xs.ndim != 3 or xs.shape[-1] != cfg.input_size:
        raise ValueError(
            f"lstm.apply: xs must have shape (B, T, {cfg.input_size}), got {tuple(xs.shape)}"
        )
    zx = jnp.einsum("bti,ig->tbg", xs, params.w_ih.astype(xs.dtype))
    return zx + params.b.astype(xs.dtype)


def gate_values(params: LSTMParams, cfg: LSTMConfig, h: Array, z_x: Array) -> Gates:
    """Activated gates: z = z_x + h W_hh; (gate(z_i), gate(z_f), candidate(z_g), gate(z_o)).

    Args:
      params: the cell's parameters; cfg: the cell; h: h_{t-1} (..., H);
      z_x: x_t W_ih + b (..., 4H).
    Returns:
      (i, f, g, o), each (..., H).
    """
    z = z_x + h @ params.w_hh.astype(h.dtype)
    zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
    gate = _fn(cfg.gate)
    return gate(zi), gate(zf), _fn(cfg.candidate)(zg), gate(zo)


def cell_update(
    cfg: LSTMConfig,
    gates: Gates,
    c: Array,
    *,
    dc: Array | None = None,
    dh: Array | None = None,
) -> Carry:
    """c_t = f c_{t-1} + i g (+ dc), h_t = o output(c_t) (+ dh); perturbations as in `step`.

    Args:
      cfg: the cell; gates: (i, f, g, o), each (..., H); c: c_{t-1} (..., H);
      dc, dh: optional perturbations (..., H).
    Returns:
      (h_t, c_t), each (..., H).
    """
    i, f, g, o = gates
    c = f * c + i * g
    if dc is not None:
        c = c + dc
    h = o * _fn(cfg.output)(c)
    if dh is not None:
        h = h + dh
    return h, c


def step(
    params: LSTMParams,
    cfg: LSTMConfig,
    carry: Carry,
    z_x: Array,
    *,
    dc: Array | None = None,
    dh: Array | None = None,
) -> tuple[Carry, Array]:
    """One cell step as a pure function: ((h, c), z_x) -> ((h_t, c_t), h_t).

    The optional ``dc`` is added to c_t before h_t is computed from it and ``dh`` to h_t
    afterwards; the gradient with respect to them is the total derivative with respect to the
    state (`analysis.flow.norms.per_step_grads`).

    Args:
      params: the cell's parameters; cfg: the cell; carry: (h_{t-1}, c_{t-1}), each (..., H);
      z_x: this step's x_t W_ih + b (..., 4H); dc, dh: optional perturbations (..., H).
    Returns:
      ((h_t, c_t), h_t), each (..., H).
    """
    h, c = carry
    h, c = cell_update(cfg, gate_values(params, cfg, h, z_x), c, dc=dc, dh=dh)
    return (h, c), h


def initial_carry(
    cfg: LSTMConfig, batch: int, h0: ArrayLike | None = None, c0: ArrayLike | None = None
) -> Carry:
    """(h_0, c_0) broadcast to (batch, H) in ``cfg.dtype``; zeros where not given.

    Args:
      cfg: the cell; batch: B; h0, c0: None or broadcastable to (B, H).
    Returns:
      (h_0 (B, H), c_0 (B, H)).
    """
    shape, dt = (batch, cfg.hidden_size), cfg.jnp_dtype
    h = jnp.zeros(shape, dt) if h0 is None else jnp.broadcast_to(jnp.asarray(h0, dt), shape)
    c = jnp.zeros(shape, dt) if c0 is None else jnp.broadcast_to(jnp.asarray(c0, dt), shape)
    return h, c


def scan_steps(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    *,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    observe: Observer | None = None,
    dc: Array | None = None,
    dh: Array | None = None,
) -> tuple[Array, Carry, Any]:
    """The plain `lax.scan` of `step` over xs, with an optional observer of every step.

    ``observe(gates, (h_t, c_t))`` gets the activated gates (i, f, g, o) and the new state of
    each step and returns any pytree; the per-step results are stacked along a leading T axis.
    Honors ``cfg.unroll`` and ``cfg.remat`` (``jax.checkpoint`` of each step); ``dc``, ``dh``
    are per-step perturbations as in `step`.

    Args:
      params: the cell's parameters; xs: (B, T, I); cfg: the cell;
      h0, c0: broadcastable to (B, H), default 0; observe: None or (gates, carry) -> pytree;
      dc, dh: None or time-major (T, B, H).
    Returns:
      (hs (B, T, H), (h_T (B, H), c_T (B, H)), observed: pytree of (T, ...) or None).
    """
    zx = input_projection(params, xs, cfg)
    carry = initial_carry(cfg, zx.shape[1], h0, c0)

    def body(carry: Carry, inp: tuple) -> tuple[Carry, tuple]:
        z, dc_t, dh_t = inp
        gates = gate_values(params, cfg, carry[0], z)
        h, c = cell_update(cfg, gates, carry[1], dc=dc_t, dh=dh_t)
        seen = None if observe is None else observe(gates, (h, c))
        return (h, c), (h, seen)

    if cfg.remat:
        body = jax.checkpoint(body)
    carry, (hs, seen) = jax.lax.scan(body, carry, (zx, dc, dh), unroll=cfg.unroll)
    return jnp.swapaxes(hs, 0, 1), carry, seen
