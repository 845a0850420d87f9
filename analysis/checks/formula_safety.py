"""Numerical safety of a formula as written, in float32 and float64.

The formula is evaluated by XLA (jax.numpy, as a model would run it) in the dtype, at
float32-representable test points, and compared with its high-precision value. Three findings
per dtype, each as a region of z: it overflows (inf or NaN where the true value is a finite
number of that dtype), it underflows to 0 (where the true value is a normal number of that
dtype), or it keeps fewer than half its digits (relative error above sqrt(eps)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis.checks.formula_points import describe_region, runs
from kernels.formula import to_jax
from kernels.formula.tree import Expr

__all__ = [
    "DTYPES",
    "eval_in_dtype",
    "nonfinite_runs",
    "safety",
    "sentence",
]

DTYPES = ("float32", "float64")


def eval_in_dtype(expr: Expr, zs: np.ndarray, dtype: str) -> np.ndarray:
    """``expr`` as written, run by XLA (what a model runs) in ``dtype``, as float64."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        out = to_jax(expr)(jnp.asarray(zs.astype(dtype)))
        return np.asarray(out).astype(np.float64)


def safety(
    label: str, text: str, expr: Expr, zs: np.ndarray, true64: np.ndarray, lo: float, hi: float
) -> dict[str, dict[str, Any]]:
    """Per dtype: the regions where ``expr`` as written overflows, underflows to 0, or
    keeps fewer than half its digits (|rel err| > sqrt(eps)), against ``true64`` (its exact
    value, rounded).

    Args: label: 'f', 'df' or 'd2f'; text: as written; expr: its tree; zs: (N,) points;
    true64: (N,) exact values; lo, hi: the domain. Returns {dtype: row dict}.
    """
    exact32 = zs.astype(np.float32).astype(np.float64) == zs
    out = {}
    for dtype in DTYPES:
        fi = np.finfo(dtype)
        got = eval_in_dtype(expr, zs, dtype)
        usable = np.isfinite(true64) & (exact32 if dtype == "float32" else True)
        representable = usable & (np.abs(true64) <= float(fi.max))
        over = representable & ~np.isfinite(got)
        under = usable & (got == 0) & (np.abs(true64) >= float(fi.tiny))
        with np.errstate(all="ignore"):
            rel = np.abs(got - true64) / np.abs(true64)
        measurable = representable & np.isfinite(got) & (np.abs(true64) >= float(fi.tiny))
        low = measurable & ~under & (rel > math.sqrt(float(fi.eps)))
        digits = -math.log10(float(fi.eps))
        good = measurable & ~low & ~under
        out[dtype] = {
            "formula": label,
            "text": text,
            "overflow": describe_region(zs, over, lo, hi),
            "underflow": describe_region(zs, under, lo, hi),
            "few_digits": describe_region(zs, low, lo, hi),
            "n_overflow": int(over.sum()),
            "n_underflow": int(under.sum()),
            "n_few_digits": int(low.sum()),
            "digits": digits,
            "min_digits": _min_digits(rel[good | low]),
        }
    return out


def _min_digits(rel: np.ndarray) -> float:
    rel = rel[np.isfinite(rel)]
    if rel.size == 0:
        return math.nan
    return float(-math.log10(max(float(rel.max()), 1e-17)))


def sentence(row: dict[str, Any], dtype: str, verdict: str | None) -> str:
    """One line, e.g. "`1 - tanh(z)^2` is correct, but in float32 it is 0 for |z| > 9.01".

    Args: row: one dtype's row of `safety`; dtype; verdict: 'correct', 'wrong' or None (f).
    Returns the sentence.
    """
    name = f"`{row['text']}`"
    parts = []
    if row["overflow"]:
        parts.append(f"overflows to inf/NaN for {row['overflow']}")
    if row["underflow"]:
        parts.append(f"is 0 for {row['underflow']}")
    if row["few_digits"]:
        parts.append(
            f"has under {row['digits'] / 2:.1f} of its {row['digits']:.1f} digits correct "
            f"for {row['few_digits']}"
        )
    if not parts:
        tail = f"in {dtype} it keeps at least half its digits at every test point"
        return f"{name} is {verdict}, and {tail}" if verdict else f"{name}: {tail}"
    joined = "; ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    if verdict == "correct":
        return f"{name} is correct, but in {dtype} it {joined}"
    if verdict:
        return f"{name} is {verdict}; in {dtype} it {joined}"
    return f"{name}: in {dtype} it {joined}"


def nonfinite_runs(label: str, zs: np.ndarray, vals: np.ndarray) -> list[dict[str, Any]]:
    """Runs of +inf, -inf and NaN in float64 values, for the overflow list.

    Args: label: formula name; zs, vals: (N,). Returns [{formula, kind, z_lo, z_hi, n}].
    """
    out = []
    for kind, flag in (
        ("+inf", vals == np.inf),
        ("-inf", vals == -np.inf),
        ("nan", np.isnan(vals)),
    ):
        for a, b, n in runs(zs, flag):
            out.append({"formula": label, "kind": kind, "z_lo": a, "z_hi": b, "n": n})
    return out
