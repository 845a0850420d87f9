"""The LSTM's configuration, parameters and initialisation (no computation on sequences).

`LSTMConfig` is frozen, validated on construction and hashable (a jit-static argument);
`LSTMParams` holds w_ih (I, 4H), w_hh (H, 4H), b (4H,) with columns in gate order i, f, g, o;
`init` draws them (PyTorch-uniform, orthogonal or chrono) and adds ``forget_bias`` to b[H:2H].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

import kernels

__all__ = ["DTYPES", "INITS", "LSTMConfig", "LSTMParams", "init"]

Array = jax.Array

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
    storing its activations, for long sequences; ``fused`` (default True): `lstm.apply` runs
    the fused cell of `analysis.cells.lstm.vjp` (hand-written backward under reverse mode,
    tangents of the plain scan under forward mode: the same values and derivatives), False:
    the plain `lax.scan` of `lstm.step` differentiated by JAX, the reference. `step` and
    `scan_steps` ignore it.
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
    fused: bool = True

    def __post_init__(self) -> None:
        owner = "LSTMConfig"
        _check_int(owner, "input_size", self.input_size, 1)
        _check_int(owner, "hidden_size", self.hidden_size, 1)
        _check_int(owner, "unroll", self.unroll, 1)
        for slot in ("gate", "candidate", "output"):
            name = getattr(self, slot)
            if not isinstance(name, str):
                raise ValueError(
                    f"{owner}: unknown {slot} activation {name!r}; "
                    f"valid names: {', '.join(kernels.names())}, or formula:EXPR"
                )
            try:  # kernels.get also accepts and registers "formula:EXPR" names
                kernels.get(name)
            except (TypeError, ValueError) as err:
                raise ValueError(f"{owner}: {slot} activation: {err}") from None
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
        """``dtype`` as a numpy/jax dtype object."""
        return jnp.dtype(self.dtype)


class LSTMParams(NamedTuple):
    """w_ih (I, 4H), w_hh (H, 4H), b (4H,); columns in gate order i, f, g, o."""

    w_ih: Array
    w_hh: Array
    b: Array


def init(key: ArrayLike, cfg: LSTMConfig) -> LSTMParams:
    """Initial parameters for `cfg`, in ``cfg.dtype``; ``cfg.forget_bias`` is added to b[H:2H].

    * ``uniform``: PyTorch's nn.LSTM: every weight ~ U(-k, k), k = 1/sqrt(H); b is the sum of
      PyTorch's two bias vectors (b_ih + b_hh), each ~ U(-k, k).
    * ``orthogonal`` (default, as Keras and Flax): w_ih Glorot-uniform, U(+-sqrt(6/(I + 4H)));
      each gate's (H, H) block of w_hh an independent random orthogonal matrix; b = 0.
    * ``chrono`` (Tallec & Ollivier 2018): weights as ``orthogonal``; b_f ~ log U[1, t_max - 1],
      b_i = -b_f, other biases 0 (``forget_bias`` is still added; use 0 to get pure chrono).

    Args:
      key: a PRNG key; cfg: the cell (I = input_size, H = hidden_size).
    Returns:
      LSTMParams(w_ih (I, 4H), w_hh (H, 4H), b (4H,)) in ``cfg.dtype``.
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
