"""A one-layer LSTM with pluggable activations, as one `lax.scan` over time.

Gate order i, f, g, o (as PyTorch and Keras); carry ``(h, c)``; xs batch-major (B, T, I)::

    z   = x_t W_ih + h_{t-1} W_hh + b              i, f, g, o = split(z, 4)   (each (B, H))
    c_t = gate(f) * c_{t-1} + gate(i) * candidate(g)
    h_t = gate(o) * output(c_t)

``gate``, ``candidate`` and ``output`` are kernel names (``kernels.get``); the candidate and
output slots are separate, so "ReLU in the candidate only" and "ReLU in the output only" are
different configurations, and ``identity`` gives Greff et al.'s NIAF / NOAF variants.

The input projection ``x W_ih + b`` for all T steps is one matmul hoisted out of the scan;
each step does one fused (B, H) @ (H, 4H) recurrent matmul. ``forget_bias`` is an
initialisation (added to ``b[H:2H]`` by `init`); `apply` adds nothing at run time.

References:
    Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000 (forget gate);
    Jozefowicz, Zaremba & Sutskever 2015 (forget bias 1); Tallec & Ollivier 2018 (chrono);
    Greff et al. 2017, "LSTM: A Search Space Odyssey" (NIAF / NOAF variants).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

import kernels

Array = jax.Array
Carry = tuple[Array, Array]

DTYPES = ("float16", "bfloat16", "float32", "float64")
INITS = ("orthogonal", "uniform", "chrono")


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class LSTMConfig:
    """Everything that defines an LSTM cell; validated on construction, hashable (jit-static).

    Fields: ``input_size`` I, ``hidden_size`` H (ints > 0); ``gate`` (for i, f, o),
    ``candidate`` (g) and ``output`` (applied to c_t): kernel names; ``forget_bias``: added to
    b_f by `init`; ``init``: "orthogonal" (default), "uniform" or "chrono" (needs ``t_max``);
    ``dtype``: float16 | bfloat16 | float32 | float64; ``unroll``: steps per scan iteration;
    ``remat``: recompute each step in the backward pass (``jax.checkpoint``) instead of
    storing its activations, for long sequences; ``fused``: `apply` runs
    `analysis.cells.fast_lstm.apply_fused` (same values and gradients, hand-written backward, faster;
    reverse mode only: no jvp). `step` and `scan_steps` ignore it.
    """

    input_size: int = 1
    hidden_size: int = 64
    gate: str = "sigmoid"
    candidate: str = "tanh"
    output: str = "tanh"
    forget_bias: float = 1.0
    init: str = "orthogonal"
    dtype: str = "float32"
    unroll: int = 1
    remat: bool = False
    t_max: int | None = None
    fused: bool = False

    def __post_init__(self) -> None:
        owner = "LSTMConfig"
        _check_int(owner, "input_size", self.input_size, 1)
        _check_int(owner, "hidden_size", self.hidden_size, 1)
        _check_int(owner, "unroll", self.unroll, 1)
        for slot in ("gate", "candidate", "output"):
            name = getattr(self, slot)
            if not isinstance(name, str) or name not in kernels.names():
                raise ValueError(
                    f"{owner}: unknown {slot} activation {name!r}; "
                    f"valid names: {', '.join(kernels.names())}"
                )
        if self.dtype not in DTYPES:
            raise ValueError(
                f"{owner}: unknown dtype {self.dtype!r}; valid dtypes: {', '.join(DTYPES)}"
            )
        if self.init not in INITS:
            raise ValueError(
                f"{owner}: unknown init {self.init!r}; valid inits: {', '.join(INITS)}"
            )
        fb = self.forget_bias
        if isinstance(fb, bool) or not isinstance(fb, int | float | np.floating | np.integer):
            raise TypeError(f"{owner}: forget_bias must be a real number, got {fb!r}")
        if not math.isfinite(fb):
            raise ValueError(f"{owner}: forget_bias must be finite, got {fb!r}")
        if not isinstance(self.remat, bool):
            raise TypeError(f"{owner}: remat must be a bool, got {self.remat!r}")
        if not isinstance(self.fused, bool):
            raise TypeError(f"{owner}: fused must be a bool, got {self.fused!r}")
        if self.t_max is not None:
            _check_int(owner, "t_max", self.t_max, 2)
        if self.init == "chrono" and self.t_max is None:
            raise ValueError(f"{owner}: init 'chrono' needs t_max (the longest dependency, >= 2)")

    @property
    def jnp_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.dtype)


class LSTMParams(NamedTuple):
    """w_ih (I, 4H), w_hh (H, 4H), b (4H,); columns in gate order i, f, g, o."""

    w_ih: Array
    w_hh: Array
    b: Array


@functools.cache
def _fn(name: str) -> Callable[[Array], Array]:
    return kernels.get(name).fn


def init(key: ArrayLike, cfg: LSTMConfig) -> LSTMParams:
    """Initial parameters for `cfg`, in ``cfg.dtype``; ``cfg.forget_bias`` is added to b[H:2H].

    * ``uniform``: PyTorch's nn.LSTM: every weight ~ U(-k, k), k = 1/sqrt(H); b is the sum of
      PyTorch's two bias vectors (b_ih + b_hh), each ~ U(-k, k).
    * ``orthogonal`` (default, as Keras and Flax): w_ih Glorot-uniform, U(+-sqrt(6/(I + 4H)));
      each gate's (H, H) block of w_hh an independent random orthogonal matrix; b = 0.
    * ``chrono`` (Tallec & Ollivier 2018): weights as ``orthogonal``; b_f ~ log U[1, t_max - 1],
      b_i = -b_f, other biases 0 (``forget_bias`` is still added; use 0 to get pure chrono).
    """
    i_n, h_n = cfg.input_size, cfg.hidden_size
    # Sample in float32 (float64 when asked) and cast: LAPACK's QR has no half-precision kernel.
    dt = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    k_ih, k_hh, k_b1, k_b2 = jax.random.split(jnp.asarray(key), 4)
    if cfg.init == "uniform":
        k = 1.0 / math.sqrt(h_n)
        w_ih = jax.random.uniform(k_ih, (i_n, 4 * h_n), dt, -k, k)
        w_hh = jax.random.uniform(k_hh, (h_n, 4 * h_n), dt, -k, k)
        b = jax.random.uniform(k_b1, (4 * h_n,), dt, -k, k)
        b = b + jax.random.uniform(k_b2, (4 * h_n,), dt, -k, k)
    else:
        w_ih = jax.nn.initializers.glorot_uniform()(k_ih, (i_n, 4 * h_n), dt)
        blocks = jax.vmap(lambda kk: jax.nn.initializers.orthogonal()(kk, (h_n, h_n), dt))(
            jax.random.split(k_hh, 4)
        )
        w_hh = jnp.concatenate(list(blocks), axis=1)
        b = jnp.zeros((4 * h_n,), dt)
        if cfg.init == "chrono":
            u = jax.random.uniform(k_b1, (h_n,), jnp.float32, 1.0, float(cfg.t_max - 1))
            b_f = jnp.log(u).astype(dt)
            b = b.at[:h_n].set(-b_f).at[h_n : 2 * h_n].set(b_f)
    b = b.at[h_n : 2 * h_n].add(jnp.asarray(cfg.forget_bias, dt))
    out = cfg.jnp_dtype
    return LSTMParams(w_ih.astype(out), w_hh.astype(out), b.astype(out))


def input_projection(params: LSTMParams, xs: ArrayLike, cfg: LSTMConfig) -> Array:
    """z_x = x W_ih + b for all steps at once, time-major: (B, T, I) -> (T, B, 4H)."""
    xs = jnp.asarray(xs, cfg.jnp_dtype)
    if xs.ndim != 3 or xs.shape[-1] != cfg.input_size:
        raise ValueError(
            f"lstm.apply: xs must have shape (B, T, {cfg.input_size}), got {tuple(xs.shape)}"
        )
    zx = jnp.einsum("bti,ig->tbg", xs, params.w_ih.astype(xs.dtype))
    return zx + params.b.astype(xs.dtype)


def gate_values(params: LSTMParams, cfg: LSTMConfig, h: Array, z_x: Array) -> tuple[Array, ...]:
    """Activated (i, f, g, o), each (..., H), from h_{t-1} (..., H) and z_x = x_t W_ih + b."""
    z = z_x + h @ params.w_hh.astype(h.dtype)
    zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
    gate = _fn(cfg.gate)
    return gate(zi), gate(zf), _fn(cfg.candidate)(zg), gate(zo)


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

    ``z_x`` is this step's hoisted input projection x_t W_ih + b, shape (..., 4H). The optional
    ``dc`` is added to c_t before h_t is computed from it and ``dh`` to h_t afterwards; the
    gradient with respect to them is the total derivative with respect to the state
    (`analysis.flow.gradients.per_step_grad_norms`).
    """
    h, c = carry
    h, c = cell_update(cfg, gate_values(params, cfg, h, z_x), c, dc=dc, dh=dh)
    return (h, c), h


def cell_update(
    cfg: LSTMConfig,
    gates: tuple[Array, ...],
    c: Array,
    *,
    dc: Array | None = None,
    dh: Array | None = None,
) -> Carry:
    """(h_t, c_t) from activated gates (i, f, g, o) and c_{t-1}; perturbations as in `step`."""
    i, f, g, o = gates
    c = f * c + i * g
    if dc is not None:
        c = c + dc
    h = o * _fn(cfg.output)(c)
    if dh is not None:
        h = h + dh
    return h, c


def initial_carry(
    cfg: LSTMConfig, batch: int, h0: ArrayLike | None = None, c0: ArrayLike | None = None
) -> Carry:
    shape, dt = (batch, cfg.hidden_size), cfg.jnp_dtype
    h = jnp.zeros(shape, dt) if h0 is None else jnp.broadcast_to(jnp.asarray(h0, dt), shape)
    c = jnp.zeros(shape, dt) if c0 is None else jnp.broadcast_to(jnp.asarray(c0, dt), shape)
    return h, c


def scan_steps(
    params: LSTMParams,
    cfg: LSTMConfig,
    carry: Carry,
    zx: Array,
    dc: Array | None = None,
    dh: Array | None = None,
) -> tuple[Carry, Array]:
    """Run `step` over time-major zx (T, B, 4H) with optional per-step perturbations (T, B, H).

    Returns ((h_T, c_T), hs (T, B, H)). Honors ``cfg.unroll`` and ``cfg.remat``.
    """

    def body(carry: Carry, xs: tuple[Array, Array | None, Array | None]) -> tuple[Carry, Array]:
        z, dc_t, dh_t = xs
        return step(params, cfg, carry, z, dc=dc_t, dh=dh_t)

    if cfg.remat:
        body = jax.checkpoint(body)
    return jax.lax.scan(body, carry, (zx, dc, dh), unroll=cfg.unroll)


@functools.partial(jax.jit, static_argnames=("cfg",))
def apply(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> tuple[Array, Carry]:
    """Run the LSTM over a batch: xs (B, T, I) -> (hs (B, T, H), (h_T (B, H), c_T (B, H))).

    ``h0``, ``c0`` (broadcastable to (B, H)) default to zeros. Computes in ``cfg.dtype``.
    With ``cfg.fused`` it is `fast_lstm.apply_fused` (same results, custom_vjp backward).
    """
    if cfg.fused:
        from analysis.cells import fast_lstm  # imports this module: a top-level import would cycle

        return fast_lstm.apply_fused(params, xs, cfg, h0, c0)
    zx = input_projection(params, xs, cfg)
    carry = initial_carry(cfg, zx.shape[1], h0, c0)
    carry, hs = scan_steps(params, cfg, carry, zx)
    return jnp.swapaxes(hs, 0, 1), carry


def _to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):  # a torch tensor: no torch import needed here
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def params_from_torch(state_dict: Mapping[str, Any]) -> LSTMParams:
    """LSTMParams from a one-layer, unidirectional PyTorch ``nn.LSTM`` state dict.

    PyTorch stores weight_ih_l0 (4H, I), weight_hh_l0 (4H, H), bias_ih_l0 and bias_hh_l0 (4H,)
    in the same gate order i, f, g, o; we transpose the weights and sum the two biases (a model
    without biases gets b = 0). Tensors or numpy arrays are accepted; the dtype is kept.
    """
    keys = {k.rsplit(".", 1)[-1]: k for k in state_dict}
    extra = sorted(k for k in keys if not k.endswith("_l0") or "reverse" in k)
    if extra:
        raise ValueError(
            "lstm.params_from_torch: only a one-layer unidirectional nn.LSTM is supported; "
            f"unexpected entries {extra}"
        )
    try:
        w_ih = _to_numpy(state_dict[keys["weight_ih_l0"]])
        w_hh = _to_numpy(state_dict[keys["weight_hh_l0"]])
    except KeyError as err:
        raise ValueError(
            f"lstm.params_from_torch: missing {err.args[0]} in the state dict"
        ) from None
    b = np.zeros(w_ih.shape[0], w_ih.dtype)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        if name in keys:
            b = b + _to_numpy(state_dict[keys[name]])
    if w_hh.shape[0] != 4 * w_hh.shape[1] or w_ih.shape[0] != w_hh.shape[0]:
        raise ValueError(
            "lstm.params_from_torch: expected weight_ih_l0 (4H, I) and weight_hh_l0 (4H, H), "
            f"got {w_ih.shape} and {w_hh.shape} (proj_size is not supported)"
        )
    return LSTMParams(jnp.asarray(w_ih.T), jnp.asarray(w_hh.T), jnp.asarray(b))
