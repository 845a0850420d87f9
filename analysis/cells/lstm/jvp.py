"""The default LSTM: the fused forward, and a tangent whose transpose is the fused backward.

A ``jax.custom_vjp`` (`vjp.apply_fused`) has no forward mode. `apply_auto` is a
``jax.custom_jvp`` instead, so jvp, jacfwd, vmap and grad all work, and reverse mode is still
the fused backward: its JVP rule runs the fused forward (`fused.forward`, saving the
residuals) and returns a tangent that is an explicitly linear recurrence in per-step
coefficients of those residuals::

    tz_t = [dx_t W_ih + x_t dW_ih + h_{t-1} dW_hh + db]  +  th_{t-1} W_hh
    tc_t = f_t tc_{t-1} + A_t . tz_t[i, f, g]            A = (g gate'(z_i), c_prev gate'(z_f), i cand'(z_g))
    th_t = P_t tc_t + Q_t tz_t[o]                        P = o output'(c_t), Q = output(c_t) gate'(z_o)

The bracket is one (T*B, .) matmul per term outside the scan, and the scan body is linear
in (tz, th, tc) with coefficients recomputed from the saved blocks (under ``jax.checkpoint``),
so JAX's transpose of it (what grad runs) is the hand-written fused backward: a reverse scan
forming dz_t and dz_t W_hh^T, then dW = X^T dZ as one matmul. With checkpointing
(`fused.default_chunk`) the tangent runs per chunk under ``jax.checkpoint``, so the
backward recomputes a chunk's residuals instead of storing all T.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from analysis.cells.lstm import fused
from analysis.cells.lstm.scan import initial_carry

__all__ = ["apply_auto", "cell"]

Array = jax.Array


def _coefficients(spec: fused.Spec, res: tuple) -> tuple[Array, Array, Array]:
    """(D (..., 4H) = concat(A, Q), f (..., H), P (..., H)) from one step's residual blocks."""
    v = dict(zip(fused.layout(spec), res, strict=True))
    c = v["f"] * v["c_prev"] + v["i"] * v["g"]
    y = fused.act(spec.output).fn(c)
    d = jnp.concatenate(
        [
            v["g"] * fused.deriv(spec.gate, v["i"], v.get("zi")),
            v["c_prev"] * fused.deriv(spec.gate, v["f"], v.get("zf")),
            v["i"] * fused.deriv(spec.candidate, v["g"], v.get("zg")),
            y * fused.deriv(spec.gate, v["o"], v.get("zo")),
        ],
        axis=-1,
    )
    return d, v["f"], v["o"] * fused.deriv(spec.output, y, c)


def _input_tangent(w_ih, x_tm, h_prev, tw_ih, tw_hh, tb, tx) -> Array:
    """dx W_ih + x dW_ih + h_prev dW_hh + db, (K, B, 4H); rows merged so each transposes to one
    (K*B)-row matmul (dW = X^T dZ) in the backward."""
    k, bsz = x_tm.shape[:2]
    rows = k * bsz
    tz = x_tm.reshape(rows, -1) @ tw_ih + h_prev.reshape(rows, -1) @ tw_hh
    tz = tz + tx.reshape(rows, -1) @ w_ih
    return tz.reshape(k, bsz, -1) + tb


def _tangent_scan(spec: fused.Spec, w_hh, res, tz_in, th0, tc0):
    """The linear recurrence of the module docstring over one stretch; returns ((th, tc), ths).

    The body is a ``jax.checkpoint``: under reverse mode its coefficients are recomputed from
    the saved residual blocks inside the backward loop (as the hand-written backward does),
    not stored as a second set of (T, B, 6H) arrays by partial evaluation.
    """

    @jax.checkpoint
    def body(carry, xs):
        th, tc = carry
        tz_t, r_t = xs
        d_t, f_t, p_t = _coefficients(spec, r_t)
        ui, uf, ug, uo = jnp.split((tz_t + th @ w_hh) * d_t, 4, axis=-1)
        tc = f_t * tc + ui + uf + ug
        th = p_t * tc + uo
        return (th, tc), th

    return jax.lax.scan(body, (th0, tc0), (tz_in, res), unroll=spec.unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def cell(spec: fused.Spec, w_ih, w_hh, b, x_tm, h0, c0):
    """(hs (T, B, H), h_T, c_T) of time-major x_tm (T, B, I) from h0, c0 (B, H); custom_jvp."""
    (h, c), hs, _, _ = fused.forward(spec, w_ih, w_hh, b, x_tm, h0, c0, save=False)
    return hs, h, c


@cell.defjvp
def _cell_jvp(spec, primals, tangents):
    w_ih, w_hh, b, x_tm, h0, c0 = primals
    tw_ih, tw_hh, tb, tx, th0, tc0 = tangents
    k, _, _ = fused.split_chunks(spec, x_tm.shape[0])
    if k == x_tm.shape[0]:
        (h, c), hs, res, _ = fused.forward(spec, w_ih, w_hh, b, x_tm, h0, c0, save=True)
        tz_in = _input_tangent(w_ih, x_tm, fused.shift(h0, hs), tw_ih, tw_hh, tb, tx)
        (th, tc), ths = _tangent_scan(spec, w_hh, res, tz_in, th0, tc0)
        return (hs, h, c), (ths, th, tc)
    hs, c_starts, (h, c), _ = fused.forward_chunked(spec, w_ih, w_hh, b, x_tm, h0, c0)
    h_prev = fused.shift(h0, hs)

    @jax.checkpoint
    def chunk(carry, xs):
        x_c, hp_c, c_start, tx_c = xs
        _, _, res_c, _ = fused.forward(spec, w_ih, w_hh, b, x_c, hp_c[0], c_start, save=True)
        tz_in = _input_tangent(w_ih, x_c, hp_c, tw_ih, tw_hh, tb, tx_c)
        return _tangent_scan(spec, w_hh, res_c, tz_in, *carry)

    (th, tc), ths = _scan_chunks(spec, chunk, (th0, tc0), (x_tm, h_prev, tx), c_starts)
    return (hs, h, c), (ths, th, tc)


def _scan_chunks(spec, chunk_fn, carry, seqs, c_starts):
    """``chunk_fn(carry, (x_c, h_prev_c, c_start, tx_c))`` over the chunks, first to last;
    returns (carry, ys joined back to (T, ...))."""
    t = seqs[0].shape[0]
    k, n, r = fused.split_chunks(spec, t)
    main = tuple(s[: n * k].reshape(n, k, *s.shape[1:]) for s in seqs)

    def body(cr, xs):
        c_start, chunks = xs
        return chunk_fn(cr, (chunks[0], chunks[1], c_start, chunks[2]))

    carry, ys = jax.lax.scan(body, carry, (c_starts[:n], main))
    ys = ys.reshape(n * k, *ys.shape[2:])
    if r:
        sl = slice(n * k, t)
        carry, tail = chunk_fn(carry, (seqs[0][sl], seqs[1][sl], c_starts[-1], seqs[2][sl]))
        ys = jnp.concatenate([ys, tail], axis=0)
    return carry, ys


def apply_auto(params, xs, cfg, h0=None, c0=None, checkpoint_every=None):
    """The default `lstm.apply` body (traceable): xs (B, T, I) -> (hs (B, T, H), (h_T, c_T)).

    Args:
      params: LSTMParams; xs: (B, T, I) in ``cfg.dtype``; cfg: the cell;
      h0, c0: broadcastable to (B, H); checkpoint_every: K >= 0, or None for the memory rule.
    Returns:
      (hs (B, T, H), (h_T (B, H), c_T (B, H))), differentiable in forward and reverse mode.
    """
    spec = fused.make_spec(cfg, xs.shape[0], xs.shape[1], checkpoint_every)
    h, c = initial_carry(cfg, xs.shape[0], h0, c0)
    w_ih, w_hh, b = (jnp.asarray(p).astype(cfg.jnp_dtype) for p in params)
    hs, h_t, c_t = cell(spec, w_ih, w_hh, b, jnp.swapaxes(xs, 0, 1), h, c)
    return jnp.swapaxes(hs, 0, 1), (h_t, c_t)
