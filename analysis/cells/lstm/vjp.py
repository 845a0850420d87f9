"""The LSTM of `analysis.cells.lstm` with a hand-written backward pass over the whole sequence.

`apply_fused` computes exactly what the plain scan computes (same equations, gate order
i, f, g, o, same dtype rules) but differentiates through one ``jax.custom_vjp`` built from
`analysis.cells.lstm.fused`: a forward scan that saves per-step residuals, one reverse scan
that forms only dz_t and the carried (dh, dc), and the weight gradients as one matmul over
all T*B rows. With ``cfg.remat``, past `fused.STORE_BYTES` or on CPU past
`CPU_STORE_STEPS` steps (`default_chunk`), or with ``checkpoint_every=K`` it is a two-level
checkpoint: the forward keeps only h_t and the cell state every K steps, the backward
recomputes one chunk at a time.

A custom_vjp has no forward mode; `lstm.apply` (the default entry) wraps this one so that
jvp / jacfwd work as well (`analysis.cells.lstm.jvp`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells.lstm import fused
from analysis.cells.lstm.config import LSTMConfig, LSTMParams
from analysis.cells.lstm.fused import CPU_STORE_STEPS, STORE_BYTES, default_chunk
from analysis.cells.lstm.scan import initial_carry, prepare_inputs

__all__ = [
    "CPU_STORE_STEPS",
    "STORE_BYTES",
    "apply_fused",
    "apply_fused_max_c",
    "default_chunk",
    "fused_core",
]

Array = jax.Array


def _peak0(spec: fused.Spec, c0: Array) -> Array | None:
    """The running max |c_t| starts at 0 (|c| >= 0; a NaN still propagates through maximum)."""
    return jnp.zeros((), c0.dtype) if spec.track_c else None


def _peak_out(peak: Array | None, c0: Array) -> Array:
    return jnp.zeros((), c0.dtype) if peak is None else peak


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def fused_core(spec: fused.Spec, w_ih, w_hh, b, x_tm, h0, c0):
    """(hs (T, B, H), h_T, c_T, max |c_t|) of time-major x_tm (T, B, I) from h0, c0 (B, H).

    A ``jax.custom_vjp``: the backward is `fused.backward` (module docstring).
    """
    (h, c), hs, _, peak = fused.forward(
        spec, w_ih, w_hh, b, x_tm, h0, c0, save=False, peak=_peak0(spec, c0)
    )
    return hs, h, c, _peak_out(peak, c0)


def _core_fwd(spec, w_ih, w_hh, b, x_tm, h0, c0):
    k, _, _ = fused.split_chunks(spec, x_tm.shape[0])
    if k == x_tm.shape[0]:  # no checkpoint: keep every step's residuals
        (h, c), hs, res, peak = fused.forward(
            spec, w_ih, w_hh, b, x_tm, h0, c0, save=True, peak=_peak0(spec, c0)
        )
        return (hs, h, c, _peak_out(peak, c0)), (w_ih, w_hh, b, x_tm, h0, hs, res, None)
    hs, c_starts, (h, c), peak = fused.forward_chunked(
        spec, w_ih, w_hh, b, x_tm, h0, c0, peak=_peak0(spec, c0)
    )
    out = (hs, h, c, _peak_out(peak, c0))
    return out, (w_ih, w_hh, b, x_tm, h0, hs, None, c_starts)


def _core_bwd(spec, saved, cot):
    w_ih, w_hh, b, x_tm, h0, hs, res, c_starts = saved
    g_hs, g_h, g_c, _ = cot  # max |c_t| is a logged metric: no gradient flows through it
    ghs = g_hs.at[-1].add(g_h)
    h_prev = fused.shift(h0, hs)
    if res is not None:
        (dh, dc), dz = fused.backward(spec, w_hh, res, ghs, jnp.zeros_like(g_h), g_c)
        dw_ih, dw_hh, db, dx = fused.weight_grads(x_tm, h_prev, dz, w_ih)
        return dw_ih, dw_hh, db, dx, dh, dc

    def chunk(state, xs):
        (dh, dc), acc = state
        x_c, hp_c, c_start, g_c_ = xs
        _, _, res_c, _ = fused.forward(spec, w_ih, w_hh, b, x_c, hp_c[0], c_start, save=True)
        (dh, dc), dz = fused.backward(spec, w_hh, res_c, g_c_, dh, dc)
        gi, gh, gb, dx = fused.weight_grads(x_c, hp_c, dz, w_ih)
        return ((dh, dc), (acc[0] + gi, acc[1] + gh, acc[2] + gb)), dx

    zeros = (jnp.zeros_like(w_ih), jnp.zeros_like(w_hh), jnp.zeros_like(b))
    state = ((jnp.zeros_like(g_h), g_c), zeros)
    ((dh, dc), grads), dx = fused.scan_chunks_reverse(
        spec, chunk, state, (x_tm, h_prev, ghs), c_starts
    )
    return (*grads, dx, dh, dc)


fused_core.defvjp(_core_fwd, _core_bwd)


def run(params, xs, cfg, h0, c0, checkpoint_every, track_c: bool):
    """Shared body of the entry points: validated xs (B, T, I) -> (hs (B, T, H), (h_T, c_T),
    max |c_t|) through `fused_core` (traceable; checkpoint_every None = the memory rule)."""
    xs = prepare_inputs(xs, cfg, "lstm.vjp.apply_fused")
    spec = fused.make_spec(cfg, xs.shape[0], xs.shape[1], checkpoint_every, track_c)
    h, c = initial_carry(cfg, xs.shape[0], h0, c0)
    w_ih, w_hh, b = (jnp.asarray(p).astype(cfg.jnp_dtype) for p in params)
    hs, h_t, c_t, peak = fused_core(spec, w_ih, w_hh, b, jnp.swapaxes(xs, 0, 1), h, c)
    return jnp.swapaxes(hs, 0, 1), (h_t, c_t), peak


@functools.partial(jax.jit, static_argnames=("cfg", "checkpoint_every"))
def apply_fused(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Array, tuple[Array, Array]]:
    """The LSTM with the fused backward (reverse mode only), as `lstm.apply` computes it.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; h0, c0: broadcastable to (B, H);
      checkpoint_every: K > 0 keeps the cell state every K steps and recomputes the rest in
        the backward; 0 stores every step; None picks `default_chunk` (the memory rule).
    Returns:
      (hs (B, T, H), (h_T (B, H), c_T (B, H))).
    """
    hs, carry, _ = run(params, xs, cfg, h0, c0, checkpoint_every, track_c=False)
    return hs, carry


@functools.partial(jax.jit, static_argnames=("cfg", "checkpoint_every"))
def apply_fused_max_c(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Array, tuple[Array, Array], Array]:
    """`apply_fused` that also returns m = max_{t>=1,b,j} |c_t| (NaN if any c_t is NaN).

    The maximum is tracked in the forward scan and carries no gradient (as under
    ``lax.stop_gradient``): it is a logged metric; the gradients of hs, h_T, c_T are those of
    `apply_fused`.

    Args:
      as `apply_fused`.
    Returns:
      (hs (B, T, H), (h_T (B, H), c_T (B, H)), m (scalar)).
    """
    return run(params, xs, cfg, h0, c0, checkpoint_every, track_c=True)
