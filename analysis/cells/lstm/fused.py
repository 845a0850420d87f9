"""The fused LSTM's building blocks: forward scan with saved residuals, backward scan, products.

Shared by the custom_vjp of `analysis.cells.lstm.vjp` and the log-norm pass of
`analysis.cells.lstm.norms`. The backward pass, as cuDNN does it:

* saves only what it needs per step, each block its own (T, B, H) stacked output: the
  activated gates a = (i, f, g, o) and c_{t-1}, plus the pre-activations z only when a kernel
  has no ``grad_from_output`` (for tanh, f'(z) = 1 - y^2 comes from the saved output);
* runs one reverse scan that does only the per-step work, with carry (dh, dc)::

      dh_t += ghs_t;  dc_t += dh_t * o * output'(c_t)
      dz_t  = [dc_t g gate'(z_i),  dc_t c_{t-1} gate'(z_f),  dc_t i cand'(z_g),  dh_t y_t gate'(z_o)]
      dh_{t-1} = dz_t W_hh^T;  dc_{t-1} = dc_t f

* forms the weight gradients as ONE matmul over all T*B rows after the scan.

The memory rule (one for the project): store every step's residuals unless that exceeds
`STORE_BYTES`, or on CPU `CPU_STORE_STEPS` steps, or ``remat`` is asked; then checkpoint the
cell state every K = round(sqrt(T)) steps and recompute one chunk at a time (`default_chunk`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

import kernels
from analysis.cells.lstm.config import LSTMConfig

__all__ = [
    "CPU_STORE_STEPS",
    "FORWARD_MIN_UNROLL",
    "STORE_BYTES",
    "Spec",
    "backward",
    "default_chunk",
    "forward",
    "forward_chunked",
    "gate_cotangents",
    "make_spec",
    "scan_chunks_reverse",
    "weight_grads",
]

Array = jax.Array
# Store every step up to this many bytes of residuals per sequence batch (beyond: sqrt(T)
# checkpoints). Storing was faster in training on CPU (3 seeds vmapped, H=32, B=32: T=100
# 106 vs 82 steps/s) and at every benchmark shape (S1 155 vs 167 ms with K=32).
STORE_BYTES = 256 * 2**20
# On CPU also checkpoint beyond this many steps: at T=10^5 (B=1, H=64) K=316 cuts the peak
# RSS from 640 to 477 MB, while at T=10^4 storing is faster (S2: 42 against 55 ms).
CPU_STORE_STEPS = 10_000
# The forward scan runs at least 2 steps per iteration (S2 41.9 -> 39.6 ms on the 2-core CPU);
# the backward keeps cfg.unroll (unrolling it by 2 cost 7% at S1).
FORWARD_MIN_UNROLL = 2


@dataclass(frozen=True)
class Spec:
    """The static part of one fused LSTM: kernel names, scan unroll, checkpoint chunk (0 = off),
    and whether the forward also tracks max |c_t|."""

    gate: str
    candidate: str
    output: str
    unroll: int
    chunk: int
    track_c: bool = False


@functools.cache
def act(name: str) -> kernels.Activation:
    """The registered kernel `name` (cached)."""
    return kernels.get(name)


def deriv(name: str, a: Array, z: Array | None) -> Array:
    """f'(z) of kernel `name`, from its output a = f(z) when the kernel allows it (any shape)."""
    k = act(name)
    return k.grad(z) if k.grad_from_output is None else k.grad_from_output(a)


def layout(spec: Spec) -> tuple[str, ...]:
    """Names of the (B, H) residual blocks saved per step: i, f, g, o, c_prev (+ z's if needed)."""
    blocks = ["i", "f", "g", "o", "c_prev"]
    if act(spec.gate).grad_from_output is None or act(spec.candidate).grad_from_output is None:
        blocks += ["zi", "zf", "zg", "zo"]
    return tuple(blocks)


def default_chunk(length: int, remat: bool = False, step_bytes: int = 0) -> int:
    """Checkpoint interval K: round(sqrt(T)) if remat, T * step_bytes > STORE_BYTES, or on CPU
    T > CPU_STORE_STEPS; else 0 (store every step).

    Args:
      length: T; remat: the config asks for recomputation; step_bytes: bytes stored per step.
    Returns:
      K >= 1, or 0 for no checkpointing.
    """
    long_on_cpu = jax.default_backend() == "cpu" and length > CPU_STORE_STEPS
    if remat or long_on_cpu or length * step_bytes > STORE_BYTES:
        return max(1, round(math.sqrt(length)))
    return 0


def make_spec(
    cfg: LSTMConfig, batch: int, length: int, chunk: int | None, track_c: bool = False
) -> Spec:
    """The Spec of `cfg` at (batch, length); chunk None picks `default_chunk` (the memory rule).

    Args:
      cfg: the cell; batch: B; length: T; chunk: K >= 0 or None; track_c: track max |c_t|.
    Returns:
      a Spec (hashable, static under jit).
    """
    spec = Spec(cfg.gate, cfg.candidate, cfg.output, cfg.unroll, 0, track_c)
    if chunk is None:
        blocks = len(layout(spec)) + 4  # residual blocks, then dZ's 4H
        step_bytes = blocks * batch * cfg.hidden_size * cfg.jnp_dtype.itemsize
        chunk = default_chunk(length, cfg.remat, step_bytes)
    if chunk < 0:
        raise ValueError(f"lstm.vjp: checkpoint_every must be >= 0, got {chunk}")
    return Spec(cfg.gate, cfg.candidate, cfg.output, cfg.unroll, int(chunk), track_c)


def forward(spec: Spec, w_ih, w_hh, b, x_tm, h, c, save: bool, peak=None):
    """Run the cell over time-major x (K, B, I) from (h, c) (B, H), z computed in the loop.

    Returns ((h_K, c_K), hs (K, B, H), residuals or None, peak): residuals are the `layout`
    blocks of every step, each (K, B, H); given a scalar ``peak`` the returned one is
    max(peak, max_t |c_t|), else None. Two per-step dots beat one hoisted (K B, I) @ (I, 4H)
    matmul on XLA:CPU (S3: 328 against 369 ms).
    """
    gate, cand, out = act(spec.gate).fn, act(spec.candidate).fn, act(spec.output).fn
    names = layout(spec) if save else ()

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
        return ((h, c), m), (h, tuple(named[k] for k in names))

    unroll = max(spec.unroll, FORWARD_MIN_UNROLL)
    ((h, c), peak), ys = jax.lax.scan(body, ((h, c), peak), x_tm, unroll=unroll)
    if not save:
        return (h, c), ys, None, peak
    return (h, c), ys[0], ys[1], peak


def split_chunks(spec: Spec, t: int) -> tuple[int, int, int]:
    """(K, n, r): n chunks of K steps, then a tail of r < K steps; K = T when not checkpointing."""
    k = spec.chunk if 0 < spec.chunk < t else t
    return k, t // k, t % k


def forward_chunked(spec: Spec, w_ih, w_hh, b, x_tm, h0, c0, peak=None):
    """`forward` without residuals, keeping c at every chunk start (K = spec.chunk < T).

    Returns (hs (T, B, H), c_starts (n or n + 1, B, H), (h_T, c_T), peak).
    """
    k, n, r = split_chunks(spec, x_tm.shape[0])

    def chunk_body(carry, x_chunk):
        hc, m = carry
        new, hs, _, m = forward(spec, w_ih, w_hh, b, x_chunk, *hc, save=False, peak=m)
        return (new, m), (hs, hc[1])

    main = x_tm[: n * k].reshape(n, k, *x_tm.shape[1:])
    ((h, c), peak), (hs_main, c_starts) = jax.lax.scan(chunk_body, ((h0, c0), peak), main)
    hs = hs_main.reshape(n * k, *hs_main.shape[2:])
    if r:
        c_starts = jnp.concatenate([c_starts, c[None]], axis=0)
        (h, c), hs_tail, _, peak = forward(
            spec, w_ih, w_hh, b, x_tm[n * k :], h, c, save=False, peak=peak
        )
        hs = jnp.concatenate([hs, hs_tail], axis=0)
    return hs, c_starts, (h, c), peak


def gate_cotangents(spec: Spec, v: dict, y: Array, dh: Array, dc: Array) -> Array:
    """dz = [dc g gate'(z_i), dc c_prev gate'(z_f), dc i cand'(z_g), dh y gate'(z_o)] (B, 4H).

    ``v``: one step's residual blocks by `layout` name; y = output(c_t); dh, dc (B, H) total.
    """
    return jnp.concatenate(
        [
            dc * v["g"] * deriv(spec.gate, v["i"], v.get("zi")),
            dc * v["c_prev"] * deriv(spec.gate, v["f"], v.get("zf")),
            dc * v["i"] * deriv(spec.candidate, v["g"], v.get("zg")),
            dh * y * deriv(spec.gate, v["o"], v.get("zo")),
        ],
        axis=-1,
    )


def backward(spec: Spec, w_hh: Array, res: tuple, ghs: Array, dh: Array, dc: Array):
    """Reverse scan over one stretch: only dz_t and the carried (dh, dc) per step.

    `res` from `forward`, ghs (K, B, H) the cotangents of h_t from outside.
    Returns ((dh_0, dc_0), dZ (K, B, 4H)).
    """
    names = layout(spec)
    out = act(spec.output).fn
    w_hh_t = w_hh.T

    def body(carry, xs):
        dh, dc = carry
        g_t, r_t = xs
        v = dict(zip(names, r_t, strict=True))
        c = v["f"] * v["c_prev"] + v["i"] * v["g"]
        y = out(c)
        dh = dh + g_t
        dc = dc + dh * v["o"] * deriv(spec.output, y, c)
        dz = gate_cotangents(spec, v, y, dh, dc)
        return (dz @ w_hh_t, dc * v["f"]), dz

    return jax.lax.scan(body, (dh, dc), (ghs, res), reverse=True, unroll=spec.unroll)


def weight_grads(x_tm: Array, h_prev: Array, dz: Array, w_ih: Array):
    """dW_ih = X^T dZ, dW_hh = H_prev^T dZ, db = sum dZ, dX = dZ W_ih^T: one matmul each.

    The (T, B) axes are merged into one row axis and contracted as axis 0 of both operands:
    XLA:CPU then runs one dot with no copies (S3: 47 against 68 ms per product).
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


def shift(first: Array, seq: Array) -> Array:
    """(first, seq[0], ..., seq[K-2]): the values before each step, (K, ...)."""
    return jnp.concatenate([first[None], seq[:-1]], axis=0)


def scan_chunks_reverse(
    spec: Spec, chunk_fn: Callable, state: Any, seqs: tuple, c_starts: Array
) -> tuple[Any, Any]:
    """Run ``chunk_fn(state, (x_c, h_prev_c, c_start, *rest_c)) -> (state, ys_c)`` over the
    chunks of `split_chunks` from the last to the first; ``seqs = (x, h_prev, *rest)``, each
    (T, ...). Returns (state, ys) with the per-chunk ys joined back to (T, ...)."""
    t = seqs[0].shape[0]
    k, n, r = split_chunks(spec, t)
    tail = None
    if r:
        sl = slice(n * k, t)
        state, tail = chunk_fn(
            state, (seqs[0][sl], seqs[1][sl], c_starts[-1], *(s[sl] for s in seqs[2:]))
        )

    def body(st, xs):
        c_start, chunks = xs
        return chunk_fn(st, (chunks[0], chunks[1], c_start, *chunks[2:]))

    main = tuple(s[: n * k].reshape(n, k, *s.shape[1:]) for s in seqs)
    state, ys = jax.lax.scan(body, state, (c_starts[:n], main), reverse=True)
    ys = jax.tree.map(lambda a: a.reshape(n * k, *a.shape[2:]), ys)
    if tail is not None:
        ys = jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=0), ys, tail)
    return state, ys
