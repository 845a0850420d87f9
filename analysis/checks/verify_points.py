"""Test points, tolerances and dtype helpers of the kernel verifier (`analysis.checks.verify`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kernels import Activation

__all__ = [
    "COMPILER_OPTIONS",
    "DTYPES",
    "FD_FACTOR",
    "LOW_PRECISION",
    "N_KINK",
    "ORACLE_WINDOW",
    "ULPS_JAX_NN",
    "ULPS_REFERENCE",
    "ULPS_VS_F64",
    "ULPS_WIRING",
    "effective_inputs",
    "far_slots",
    "fd_step",
    "finfo_of",
    "flushes_subnormals",
    "jit_points",
    "kink_points",
    "np_dtype",
    "random_points",
    "special_points",
]

DTYPES = ("float16", "bfloat16", "float32", "float64")
LOW_PRECISION = ("float16", "bfloat16")
# Tolerance multipliers of the dtype's eps; stated in every row and in `actgrad verify`.
ULPS_VS_F64 = 16  # f, f', f'' in a dtype against the float64 kernel at the same input
ULPS_REFERENCE = 64  # float64 kernel against the textbook formula (which loses a few bits)
ULPS_JAX_NN = 16  # forward against the jax.nn twin
FD_FACTOR = 50  # finite differences: error ~ eps^(2/3) for the step used
ULPS_WIRING = 2  # jax.grad(fn) against grad: the same arithmetic
ORACLE_WINDOW = 50.0  # |x| beyond this: textbook formulas overflow exp(2x) etc. in float64
_N_SPECIAL = 96  # fixed block sizes, so one compiled evaluator serves every dtype
N_KINK = 8 * 7
_FLUSH: dict[str, bool] = {}
# Compile time, not run time, dominates verification. This XLA option skips LLVM's costly
# optimisation passes only (no fast-math); tests/test_verify.py checks that the outputs are
# bit-identical to a default compilation.
COMPILER_OPTIONS = {"xla_llvm_disable_expensive_passes": True}


def np_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of a dtype name (bfloat16 through ml_dtypes, as JAX has it)."""
    import jax.numpy as jnp

    return np.dtype(jnp.dtype(dtype))


def finfo_of(dtype: str):
    """`jnp.finfo` of a dtype name: eps, max, smallest normal and subnormal."""
    import jax.numpy as jnp

    return jnp.finfo(jnp.dtype(dtype))


def jit_points(fn: Callable) -> Callable:
    """`jax.jit` with the verifier's `COMPILER_OPTIONS` (one compile serves every dtype)."""
    import jax

    return jax.jit(fn, compiler_options=COMPILER_OPTIONS)


def far_slots(n_main: int) -> slice:
    """The last two special points: ±1e300, where f, f', f'' stand in for the limits."""
    return slice(n_main - 2, n_main)


def flushes_subnormals(dtype: str) -> bool:
    """True when the backend treats subnormal inputs as 0 (XLA on CPU does: FTZ/DAZ).

    Args: dtype: a float dtype name. Returns whether jit(x > 0)(smallest subnormal) is False.
    """
    if dtype not in _FLUSH:
        import jax
        import jax.numpy as jnp

        tiny = jnp.asarray(finfo_of(dtype).smallest_subnormal, jnp.dtype(dtype))
        _FLUSH[dtype] = not bool(jax.jit(lambda v: v > 0)(tiny))
    return _FLUSH[dtype]


def random_points(n: int, seed: int) -> np.ndarray:
    """`n` float32-representable points: half uniform on [-10, 10], half with |x|
    log-uniform on [1e-8, 1e4] and a random sign, from `seed`: (n,) float64."""
    rng = np.random.default_rng(seed)
    n_uni = n // 2
    uni = rng.uniform(-10.0, 10.0, n_uni)
    mag = 10.0 ** rng.uniform(-8.0, 4.0, n - n_uni)
    sign = np.where(rng.random(n - n_uni) < 0.5, -1.0, 1.0)
    # float32-representable, so the float32 and float64 rows see the same inputs.
    return np.concatenate([uni, sign * mag]).astype(np.float32).astype(np.float64)


def special_points(dtype: str) -> np.ndarray:
    """0, ±1, ..., ±max, smallest normal and subnormal, ±inf, NaN; padded to _N_SPECIAL."""
    fi = finfo_of(dtype)
    big = float(fi.max)
    pos = [0.0, 1.0, 0.5, 2.0, 3.0, 5.0, 20.0, 40.0, 100.0, 1e4, 1e10, 1e30, 1e100, 1e300]
    pos += [float(fi.smallest_normal), float(fi.smallest_subnormal), big, big / 2]
    vals = [v for p in pos for v in (p, -p) if p <= big] + [np.inf, -np.inf, np.nan]
    vals += [1.0] * (_N_SPECIAL - 2 - len(vals)) + [-1e300, 1e300]  # the far_slots
    return np.asarray(vals, np.float64).astype(np_dtype(dtype)).astype(np.float64)


def kink_points(act: Activation, dtype: str) -> np.ndarray:
    """Per kink: [below, at, above, at - h, at + h] with below/above the nearest inputs
    the backend tells apart from the kink (±1 ulp, or ±smallest normal at 0 when
    subnormals are flushed) and h = sqrt(eps) max(1, |at|) for one-sided differences."""
    nd = np_dtype(dtype)
    fi = finfo_of(dtype)
    out = []
    for k in act.kinks:
        at = np.asarray(k.at, nd)
        lo = np.nextafter(at, np.asarray(-np.inf, nd))
        hi = np.nextafter(at, np.asarray(np.inf, nd))
        if flushes_subnormals(dtype) and k.at == 0:
            lo, hi = -float(fi.smallest_normal), float(fi.smallest_normal)
        h = float(np.sqrt(float(fi.eps))) * max(1.0, abs(k.at))
        out += [float(lo), float(at), float(hi), k.at - h, k.at + h, 0.5, 0.5]
    out += [0.5] * (N_KINK - len(out))
    return np.asarray(out, np.float64).astype(nd).astype(np.float64)


def fd_step(x: np.ndarray, dtype: str) -> np.ndarray:
    """The central-difference step at each x: h = 2^round(log2(eps^(1/3) max(1, |x|)))."""
    eps = float(finfo_of(dtype).eps)
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(x), x, 1.0)))
    return np.exp2(np.round(np.log2(eps ** (1 / 3) * scale)))


def effective_inputs(x: np.ndarray, dtype: str) -> np.ndarray:
    """The input the backend really sees: subnormals of ``dtype`` become ±0 if flushed."""
    if not flushes_subnormals(dtype):
        return x
    small = np.abs(x) < float(finfo_of(dtype).smallest_normal)
    return np.where(small, 0.0 * np.sign(x), x)
