"""The LSTM of `analysis.cells.lstm` with a hand-written backward pass over the whole sequence.

`apply_fused` computes exactly what `lstm.apply` computes (same equations, gate order i, f, g, o,
same dtype rules) but differentiates through one ``jax.custom_vjp`` instead of letting JAX
transpose the scan step by step. The backward pass, as cuDNN does it:

* saves only what it needs per step, each block its own (T, B, H) stacked output: the
  activated gates a = (i, f, g, o) and c_{t-1}, plus the pre-activations z only when a kernel
  has no ``grad_from_output`` (for tanh, f'(z) = 1 - y^2 comes from the saved output); c_t and
  y_t = output(c_t) are recomputed in the backward from them;
* runs one reverse scan that does only the per-step work, with carry (dh, dc)::

      dh_t += ghs_t;  dc_t += dh_t * o * output'(c_t)
      dz_t  = [dc_t g gate'(z_i),  dc_t c_{t-1} gate'(z_f),  dc_t i cand'(z_g),  dh_t y_t gate'(z_o)]
      dh_{t-1} = dz_t W_hh^T;  dc_{t-1} = dc_t f

* then forms the weight gradients as ONE large matmul over all T*B rows after the scan:
  dW_hh = H_prev^T dZ, dW_ih = X^T dZ, db = sum dZ, dX = dZ W_ih^T.

The forward computes z = x_t W_ih + h_{t-1} W_hh + b inside the loop (two dots per step, no
hoisted (T, B, 4H) buffer): on XLA:CPU that is faster than one large x W_ih matmul.

With ``cfg.remat``, on CPU for long sequences (`default_chunk`), or with
``checkpoint_every=K`` it is a two-level checkpoint: the forward keeps only h_t (the output)
and the cell state at every K-th step; the backward recomputes one chunk of K steps at a time
and accumulates the weight gradients per chunk. K = round(sqrt(T)) by default, so stored
activations are O(sqrt(T)) chunks instead of O(T) steps.

Forward-mode differentiation (jvp) is not defined for a custom_vjp; use `lstm.apply` for that.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

import kernels
from analysis.cells.lstm import LSTMConfig, LSTMParams, initial_carry

Array = jax.Array
# CPU runs store every step up to these (beyond them, sqrt(T) checkpointing bounds memory).
CPU_STORE_STEPS = 10_000
CPU_STORE_BYTES = 512 * 2**20
# The forward scan runs at least 2 steps per iteration (fewer loop overheads; in-process
# medians on the 2-core CPU: S2 41.9 -> 39.6 ms, S1 166 -> 163, S3 281 -> 277). The backward
# keeps cfg.unroll: unrolling it by 2 cost 7% at S1 and 16% at B=32, H=64, T=100.
FORWARD_MIN_UNROLL = 2


@dataclass(frozen=True)
class _Spec:
    """The static part of one fused LSTM: kernel names, scan unroll, checkpoint chunk (0 = off),
    and whether the forward also tracks max |c_t| (`apply_fused_max_c`)."""

    gate: str
    candidate: str
    output: str
    unroll: int
    chunk: int
    track_c: bool = False


@functools.cache
def _act(name: str) -> kernels.Activation:
    return kernels.get(name)


def _needs_z(spec: _Spec) -> bool:
    """Whether the backward needs pre-activations (a gate or candidate kernel lacks grad_from_output)."""
    return _act(spec.gate).grad_from_output is None or _act(spec.candidate).grad_from_output is None


def _deriv(name: str, a: Array, z: Array | None) -> Array:
    """f'(z) of kernel `name`, from its output a = f(z) when the kernel allows it."""
    act = _act(name)
    return act.grad(z) if act.grad_from_output is None else act.grad_from_output(a)


def _layout(spec: _Spec) -> tuple[str, ...]:
    """The (B, H) residual blocks saved per step, each its own stacked scan output.

    a = (i, f, g, o) activated and c_{t-1}; the pre-activations z only when a gate or
    candidate kernel needs them. c_t = f c_{t-1} + i g and output(c_t) are recomputed in the
    backward (two cheap elementwise ops against a (T, B, 2H) store and load).
    """
    blocks = ["i", "f", "g", "o", "c_prev"]
    if _needs_z(spec):
        blocks += ["zi", "zf", "zg", "zo"]
    return tuple(blocks)


def _forward(
    spec: _Spec,
    w_ih: Array,
    w_hh: Array,
    b: Array,
    x_tm: Array,
    h: Array,
    c: Array,
    save: bool,
    peak: Array | None = None,
):
    """Run the cell over time-major x (K, B, I) from (h, c).

    Returns ((h_K, c_K), hs (K, B, H), residuals or None, peak); residuals is a tuple of
    (K, B, H) arrays, the `_layout` blocks of every step. Given a scalar ``peak``, the returned
    one is max(peak, max_t |c_t|); else None.

    x_t W_ih is computed inside the loop rather than hoisted as one (K B, I) @ (I, 4H) matmul:
    on XLA:CPU the two per-step dots are cheaper than the large one plus its (K, B, 4H) buffer
    (S3: 328 against 369 ms).
    """
    gate, cand, out = _act(spec.gate).fn, _act(spec.candidate).fn, _act(spec.output).fn
    layout = _layout(spec) if save else ()

    def body(carry, x_t):
        (h, c_prev), m = carry
        z = x_t @ w_ih + h @ w_hh + b
        zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        i, f, g, o = gate(zi), gate(zf), cand(zg), gate(zo)
        c = f * c_prev + i * g
        h = o * out(c)
        if m is not None:
            m = jnp.maximum(m, jnp.max(jnp.abs(c)))
        if not save:
            return ((h, c), m), h
        named = dict(i=i, f=f, g=g, o=o, c_prev=c_prev, zi=zi, zf=zf, zg=zg, zo=zo)
        # Separate stacked outputs, not one concatenated row: XLA:CPU writes each block in
        # place, where a concatenate is one more copy per step (S3: 293 against 325 ms).
        return ((h, c), m), (h, tuple(named[k] for k in layout))

    unroll = max(spec.unroll, FORWARD_MIN_UNROLL)
    ((h, c), peak), ys = jax.lax.scan(body, ((h, c), peak), x_tm, unroll=unroll)
    if not save:
        return (h, c), ys, None, peak
    hs, res = ys
    return (h, c), hs, res, peak


def _backward(spec: _Spec, w_hh: Array, res: tuple, ghs: Array, dh: Array, dc: Array):
    """Reverse scan over one stretch: only dz_t and the carried (dh, dc) per step.

    `res` from `_forward`, ghs (K, B, H) the cotangents of h_t from outside.
    Returns ((dh_0, dc_0), dZ (K, B, 4H)).
    """
    layout = _layout(spec)
    out = _act(spec.output).fn
    w_hh_t = w_hh.T

    def body(carry, xs):
        dh, dc = carry
        g_t, r_t = xs
        v = dict(zip(layout, r_t, strict=True))
        i, f, g, o = v["i"], v["f"], v["g"], v["o"]
        c = f * v["c_prev"] + i * g
        y = out(c)
        dh = dh + g_t
        dc = dc + dh * o * _deriv(spec.output, y, c)
        dz = jnp.concatenate(
            [
                dc * g * _deriv(spec.gate, i, v.get("zi")),
                dc * v["c_prev"] * _deriv(spec.gate, f, v.get("zf")),
                dc * i * _deriv(spec.candidate, g, v.get("zg")),
                dh * y * _deriv(spec.gate, o, v.get("zo")),
            ],
            axis=-1,
        )
        return (dz @ w_hh_t, dc * f), dz

    return jax.lax.scan(body, (dh, dc), (ghs, res), reverse=True, unroll=spec.unroll)


def _weight_grads(x_tm: Array, h_prev: Array, dz: Array, w_ih: Array):
    """dW_ih = X^T dZ, dW_hh = H_prev^T dZ, db = sum dZ, dX = dZ W_ih^T: one matmul each.

    The (T, B) axes are merged into one row axis and contracted as axis 0 of both operands:
    XLA:CPU then runs one dot with no copies, where an einsum over "tb" transposes all of
    dZ first (S3: 47 against 68 ms per product).
    """
    rows = dz.shape[0] * dz.shape[1]
    d2 = dz.reshape(rows, dz.shape[-1])
    dims = (((0,), (0,)), ((), ()))
    return (
        jax.lax.dot_general(x_tm.reshape(rows, -1), d2, dims),
        jax.lax.dot_general(h_prev.reshape(rows, -1), d2, dims),
        dz.sum((0, 1)),
        jnp.einsum("tbg,ig->tbi", dz, w_ih),
    )


def _shift(first: Array, seq: Array) -> Array:
    """(first, seq[0], ..., seq[K-2]): the values before each step."""
    return jnp.concatenate([first[None], seq[:-1]], axis=0)


def _split_chunks(spec: _Spec, t: int) -> tuple[int, int, int]:
    """(K, n, r): n chunks of K steps, then a tail of r < K steps; K = T when not checkpointing."""
    k = spec.chunk if 0 < spec.chunk < t else t
    return k, t // k, t % k


def _peak0(spec: _Spec, c0: Array) -> Array | None:
    """The running max |c_t| starts at 0 (|c| >= 0; a NaN still propagates through maximum)."""
    return jnp.zeros((), c0.dtype) if spec.track_c else None


def _peak_out(peak: Array | None, c0: Array) -> Array:
    return jnp.zeros((), c0.dtype) if peak is None else peak


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _core(spec: _Spec, w_ih: Array, w_hh: Array, b: Array, x_tm: Array, h0: Array, c0: Array):
    (h, c), hs, _, peak = _forward(
        spec, w_ih, w_hh, b, x_tm, h0, c0, save=False, peak=_peak0(spec, c0)
    )
    return hs, h, c, _peak_out(peak, c0)


def _core_fwd(spec, w_ih, w_hh, b, x_tm, h0, c0):
    t = x_tm.shape[0]
    k, n, r = _split_chunks(spec, t)
    if k == t:  # no checkpoint: keep every step's residuals
        (h, c), hs, res, peak = _forward(
            spec, w_ih, w_hh, b, x_tm, h0, c0, save=True, peak=_peak0(spec, c0)
        )
        out = (hs, h, c, _peak_out(peak, c0))
        return out, (w_ih, w_hh, b, x_tm, h0, hs, res, None)

    def chunk_body(carry, x_chunk):
        hc, peak = carry
        new, hs, _, peak = _forward(spec, w_ih, w_hh, b, x_chunk, *hc, save=False, peak=peak)
        return (new, peak), (hs, hc[1])

    main = x_tm[: n * k].reshape(n, k, *x_tm.shape[1:])
    ((h, c), peak), (hs_main, c_starts) = jax.lax.scan(
        chunk_body, ((h0, c0), _peak0(spec, c0)), main
    )
    hs = hs_main.reshape(n * k, *hs_main.shape[2:])
    if r:
        c_starts = jnp.concatenate([c_starts, c[None]], axis=0)
        (h, c), hs_tail, _, peak = _forward(
            spec, w_ih, w_hh, b, x_tm[n * k :], h, c, save=False, peak=peak
        )
        hs = jnp.concatenate([hs, hs_tail], axis=0)
    out = (hs, h, c, _peak_out(peak, c0))
    return out, (w_ih, w_hh, b, x_tm, h0, hs, None, c_starts)


def _core_bwd(spec, saved, cot):
    w_ih, w_hh, b, x_tm, h0, hs, res, c_starts = saved
    g_hs, g_h, g_c, _ = cot  # max |c_t| is a logged metric: no gradient flows through it
    t = x_tm.shape[0]
    ghs = g_hs.at[-1].add(g_h)
    h_prev = _shift(h0, hs)
    if res is not None:
        (dh, dc), dz = _backward(spec, w_hh, res, ghs, jnp.zeros_like(g_h), g_c)
        dw_ih, dw_hh, db, dx = _weight_grads(x_tm, h_prev, dz, w_ih)
        return dw_ih, dw_hh, db, dx, dh, dc

    k, n, r = _split_chunks(spec, t)

    def chunk_grads(x_c, hp_c, c_start, g_c_, dh, dc):
        _, _, res_c, _ = _forward(spec, w_ih, w_hh, b, x_c, hp_c[0], c_start, save=True)
        (dh, dc), dz = _backward(spec, w_hh, res_c, g_c_, dh, dc)
        return (dh, dc), _weight_grads(x_c, hp_c, dz, w_ih)

    dh, dc = jnp.zeros_like(g_h), g_c
    grads = (jnp.zeros_like(w_ih), jnp.zeros_like(w_hh), jnp.zeros_like(b))
    dx_tail = None
    if r:
        sl = slice(n * k, t)
        (dh, dc), (gi, gh, gb, dx_tail) = chunk_grads(
            x_tm[sl], h_prev[sl], c_starts[-1], ghs[sl], dh, dc
        )
        grads = (gi, gh, gb)

    def chunk_body(carry, xs):
        (dh, dc), acc = carry
        (dh, dc), (gi, gh, gb, dx) = chunk_grads(*xs, dh, dc)
        return ((dh, dc), (acc[0] + gi, acc[1] + gh, acc[2] + gb)), dx

    def chunked(a):
        return a[: n * k].reshape(n, k, *a.shape[1:])

    xs = (chunked(x_tm), chunked(h_prev), c_starts[:n], chunked(ghs))
    ((dh, dc), grads), dx = jax.lax.scan(chunk_body, ((dh, dc), grads), xs, reverse=True)
    dx = dx.reshape(n * k, *dx.shape[2:])
    if dx_tail is not None:
        dx = jnp.concatenate([dx, dx_tail], axis=0)
    return (*grads, dx, dh, dc)


_core.defvjp(_core_fwd, _core_bwd)


def default_chunk(length: int, remat: bool = False, step_bytes: int = 0) -> int:
    """Checkpoint interval K for `length` steps: round(sqrt(T)) with remat, or on CPU when
    T > CPU_STORE_STEPS or T * step_bytes > CPU_STORE_BYTES; else 0 (store every step).

    ``step_bytes`` is what storing costs per step (residuals and dZ). On this project's 2-core
    CPU (in-process medians, float32) storing is faster at every benchmark shape: S1
    (B=32, H=128, T=1000) 155 against 167 ms with K=32, S2 (B=1, H=64, T=10^4) 42 against
    55 ms with K=100; at T=10^5 (B=1, H=64) K=316 cuts the peak RSS from 640 to 477 MB.
    Accelerators keep every step unless remat is asked for.
    """
    if remat:
        return max(1, round(math.sqrt(length)))
    if jax.default_backend() == "cpu" and (
        length > CPU_STORE_STEPS or length * step_bytes > CPU_STORE_BYTES
    ):
        return max(1, round(math.sqrt(length)))
    return 0


def _run(params, xs, cfg, h0, c0, checkpoint_every, track_c: bool):
    dt = cfg.jnp_dtype
    xs = jnp.asarray(xs, dt)
    if xs.ndim != 3 or xs.shape[-1] != cfg.input_size:
        raise ValueError(
            f"fast_lstm.apply_fused: xs must have shape (B, T, {cfg.input_size}), "
            f"got {tuple(xs.shape)}"
        )
    if checkpoint_every is None:
        spec0 = _Spec(cfg.gate, cfg.candidate, cfg.output, cfg.unroll, 0)
        blocks = len(_layout(spec0)) + 4  # residual blocks, then dZ's 4H
        step_bytes = blocks * xs.shape[0] * cfg.hidden_size * dt.itemsize
        checkpoint_every = default_chunk(xs.shape[1], cfg.remat, step_bytes)
    if checkpoint_every < 0:
        raise ValueError(
            f"fast_lstm.apply_fused: checkpoint_every must be >= 0, got {checkpoint_every}"
        )
    spec = _Spec(cfg.gate, cfg.candidate, cfg.output, cfg.unroll, int(checkpoint_every), track_c)
    h, c = initial_carry(cfg, xs.shape[0], h0, c0)
    w_ih, w_hh, b = (jnp.asarray(p).astype(dt) for p in params)
    hs, h_t, c_t, peak = _core(spec, w_ih, w_hh, b, jnp.swapaxes(xs, 0, 1), h, c)
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
    """`lstm.apply` with the fused backward: xs (B, T, I) -> (hs (B, T, H), (h_T, c_T)).

    ``checkpoint_every`` K > 0 keeps the cell state every K steps and recomputes the rest in
    the backward pass; 0 stores every step; None picks `default_chunk` (sqrt(T) with
    ``cfg.remat`` or on CPU beyond 10^4 steps or 512 MiB of stored steps).
    """
    hs, carry, _ = _run(params, xs, cfg, h0, c0, checkpoint_every, track_c=False)
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
    """`apply_fused` that also returns max_{t>=1,b,j} |c_t| (a scalar, NaN if any c_t is NaN).

    The maximum is tracked in the forward scan and carries no gradient (as under
    ``lax.stop_gradient``): it is a logged metric, and the gradients of hs, h_T, c_T are
    exactly those of `apply_fused`.
    """
    return _run(params, xs, cfg, h0, c0, checkpoint_every, track_c=True)
