"""Cross-checks beside the exact verdict: jax.grad in float64 and finite differences.

Both are compared with the exact derivative; they are reported, never used for the verdict
(jax.grad of tanh is 1 - tanh^2 and rounds to 0 for |z| > 19; differences lose half the
digits by construction).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis.checks.formula_points import describe_region
from kernels.formula import to_jax, to_numpy
from kernels.formula.tree import Expr

__all__ = ["cross_checks"]

LOOSE = 1e-8  # relative error above which a cross-check point is listed


def _stats(
    name: str,
    got: np.ndarray,
    true: np.ndarray,
    mask: np.ndarray,
    zs: np.ndarray,
    lo: float,
    hi: float,
) -> dict[str, Any]:
    with np.errstate(all="ignore"):
        rel = np.where(true != 0, np.abs(got - true) / np.abs(true), np.abs(got))
    rel = np.where(mask, np.nan_to_num(rel, nan=np.inf), 0.0)
    off = mask & (rel > LOOSE)
    worst = int(np.argmax(rel)) if mask.any() else 0
    return {
        "method": name,
        "max_rel_err": float(rel.max()) if mask.any() else math.nan,
        "worst_z": float(zs[worst]) if mask.any() else math.nan,
        "n_off": int(off.sum()),
        "off_where": describe_region(zs, off, lo, hi),
    }


def _grads(f: Expr, zs: np.ndarray, order: int) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        g = to_jax(f)
        for _ in range(order):
            g = jax.grad(g)
        out = jax.jit(jax.vmap(g))(jnp.asarray(zs, dtype=jnp.float64))
        return np.asarray(out, dtype=np.float64)


def cross_checks(f: Expr, zs: np.ndarray, f64: np.ndarray, first: Any, second: Any) -> dict:
    """jax.grad (float64) and central differences (f(z+h) - f(z-h)) / 2h of f against the
    exact f' (and jax.grad twice against f'').

    Args: f: the tree of f; zs: (N,) sorted test points; f64: (N,) f rounded (unused by the
    stats, kept for symmetry); first, second: the Judgements (true64 and compared masks).
    Returns: {method key: {method, max_rel_err, worst_z, n_off, off_where}}.
    """
    lo, hi = float(zs[0]), float(zs[-1])
    fn = to_numpy(f)
    h = np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(zs))
    with np.errstate(all="ignore"):
        fd = (fn(zs + h) - fn(zs - h)) / ((zs + h) - (zs - h))
    out = {
        "jax_grad_float64": _stats(
            "jax.grad", _grads(f, zs, 1), first.true64, first.compared, zs, lo, hi
        ),
        "finite_differences": _stats(
            "central differences", fd, first.true64, first.compared, zs, lo, hi
        ),
    }
    if second is not None:
        out["jax_grad2_float64"] = _stats(
            "jax.grad(jax.grad)", _grads(f, zs, 2), second.true64, second.compared, zs, lo, hi
        )
    return out
