"""Verification of activation kernels against independent oracles, per dtype.

For one kernel and one dtype, every check compares a kernel output with an oracle on the
same points and passes when ``|got - want| <= atol + rtol * |want|`` at every point:

- float64: f, f', f'' against ``reference`` and ``jax.grad`` / grad-of-grad of it
  (points where the textbook formula itself overflows to inf/NaN are left out and counted);
- every dtype: f' and f'' against central finite differences of f and f' computed in that
  dtype, step h = 2^round(log2(eps^(1/3) max(1, |x|))), points within 2h of a kink left out;
- every dtype below float64: f, f', f'' against the float64 kernel at the same input;
- f against the jax.nn twin in that dtype; ``jax.grad(fn)`` against ``grad`` (the wiring);
- ±inf give the limits (f' and f'' finite), NaN gives NaN, finite input gives finite f, f',
  f'', and the dtype is kept. float16 and bfloat16 are checked on all 65,536 bit patterns.

Points: ``n_random`` float32-representable numbers (half uniform on [-10, 10], half with
|x| log-uniform on [1e-8, 1e4]) plus 0, ±1, each kink and its ±1-ulp neighbours, large
values up to the dtype's max, the smallest normal and subnormal, ±inf and NaN. Exact kink
points are left out of the comparisons and reported with their one-sided derivatives.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from analysis.checks.formula import FormulaError, FormulaResult, check_formula
from analysis.checks.verify_dtype import (
    dtype_rows,
    evaluate_points,
    exhaustive_rows,
    kernel_evaluator,
    kink_reports,
    reference_oracle,
)
from analysis.checks.verify_points import (
    COMPILER_OPTIONS,
    DTYPES,
    LOW_PRECISION,
    N_KINK,
    effective_inputs,
    far_slots,
    flushes_subnormals,
    kink_points,
    np_dtype,
    random_points,
    special_points,
)
from analysis.checks.verify_props import check_properties
from analysis.checks.verify_rows import (
    CheckRow,
    KinkReport,
    VerifyReport,
    limits_row,
    tolerance_text,
)

if TYPE_CHECKING:
    from kernels import Activation

__all__ = [
    "COMPILER_OPTIONS",
    "DTYPES",
    "LOW_PRECISION",
    "CheckRow",
    "FormulaError",
    "FormulaResult",
    "KinkReport",
    "VerifyReport",
    "check_formula",
    "check_properties",
    "flushes_subnormals",
    "tolerance_text",
    "verify_activation",
]


def _one_dtype(
    act: Activation, dtype: str, rand: np.ndarray, ev: object, ev64: object
) -> tuple[list[CheckRow], list[KinkReport]]:
    """All rows and kink reports of one fully checked dtype."""
    nd = np_dtype(dtype)
    x64 = np.concatenate([rand, special_points(dtype), kink_points(act, dtype)])
    x64 = x64.astype(nd).astype(np.float64)
    n_main = x64.size - N_KINK
    out, kept = evaluate_points(ev, x64, dtype)
    if dtype == "float64":
        truth = {
            k: np.asarray(v) for k, v in reference_oracle(act)(effective_inputs(x64, dtype)).items()
        }
        far = {k: out[k][far_slots(n_main)] for k in ("f", "g", "h")}
    else:
        xt = effective_inputs(x64, dtype)
        xt[far_slots(n_main)] = (-1e300, 1e300)
        truth, _ = evaluate_points(ev64, xt, "float64")
        far = {k: truth[k][far_slots(n_main)] for k in ("f", "g", "h")}
    main = {k: v[:n_main] for k, v in out.items()}
    head = {k: v[:n_main] for k, v in truth.items()}
    rows = dtype_rows(act, dtype, x64[:n_main], main, head, kept)
    rows.append(limits_row(act.name, dtype, x64[:n_main], main, far))
    kout = {k: v[n_main:] for k, v in out.items()}
    return rows, kink_reports(act, dtype, x64[n_main:], kout)


def verify_activation(
    act: Activation,
    dtypes: Iterable[str] = ("float32", "float64"),
    n_random: int = 100_000,
    seed: int = 0,
    finite_dtypes: Iterable[str] = LOW_PRECISION,
) -> VerifyReport:
    """Check ``act`` in every dtype of ``dtypes`` (full checks) and ``finite_dtypes``
    (all 2^16 inputs: no NaN/inf in f, f', f'' for finite input; NaN kept; dtype kept).

    Args: act: the kernel (built-in or from a formula); dtypes; n_random: random points per
    dtype; seed. Returns a VerifyReport (rows of |got - want| <= atol + rtol |want|).
    Runs under ``jax.enable_x64(True)`` for the float64 oracles. Raises ValueError for an
    unknown dtype or n_random < 1.
    """
    import jax

    dtypes, finite_dtypes = tuple(dict.fromkeys(dtypes)), tuple(finite_dtypes)
    for d in (*dtypes, *finite_dtypes):
        if d not in DTYPES:
            raise ValueError(f"verify_activation: unknown dtype {d!r}; valid: {', '.join(DTYPES)}")
    if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 1:
        raise ValueError(f"verify_activation: n_random must be an int >= 1, got {n_random!r}")
    t0 = time.perf_counter()
    rows: list[CheckRow] = []
    kinks: list[KinkReport] = []
    rand = random_points(n_random, seed)
    # Overflow to inf in casts and in the textbook oracle is expected and is measured.
    with jax.enable_x64(True), np.errstate(all="ignore"):
        ev = {d: kernel_evaluator(act) for d in dtypes}
        ev64 = ev.get("float64") or kernel_evaluator(act)
        for dtype in dtypes:
            r, k = _one_dtype(act, dtype, rand, ev[dtype], ev64)
            rows += r
            kinks += k
        for dtype in finite_dtypes:
            if dtype not in dtypes:
                rows.extend(exhaustive_rows(act, dtype))
    return VerifyReport(
        kernel=act.name,
        params=dict(act.params),
        passed=all(r.passed for r in rows) and all(k.ok for k in kinks),
        rows=tuple(rows),
        kinks=tuple(kinks),
        seconds=time.perf_counter() - t0,
        tolerances=tolerance_text(),
    )
