"""Result rows of the kernel verifier and the comparisons that fill them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.checks.verify_points import (
    FD_FACTOR,
    ORACLE_WINDOW,
    ULPS_JAX_NN,
    ULPS_REFERENCE,
    ULPS_VS_F64,
    ULPS_WIRING,
    finfo_of,
)

__all__ = [
    "CheckRow",
    "KinkReport",
    "VerifyReport",
    "common_flags",
    "compare_row",
    "flag_row",
    "limits_row",
    "tolerance_text",
]


@dataclass(frozen=True)
class CheckRow:
    """One comparison for one kernel in one dtype. Errors are the maxima over the points."""

    kernel: str
    dtype: str
    check: str
    max_abs_err: float
    max_rel_err: float
    worst_x: float
    passed: bool
    atol: float
    rtol: float
    n_points: int
    n_excluded: int = 0
    note: str = ""
    worst_ratio: float = float("nan")  # max over points of error / tolerance (<= 1 passes)


@dataclass(frozen=True)
class KinkReport:
    """A kink measured in one dtype: one-sided values from the kernel at ±1 ulp and from
    one-sided finite differences, the value used at the point, and jax.nn's value there."""

    kernel: str
    dtype: str
    at: float
    order: int
    declared_left: float
    declared_right: float
    measured_left: float
    measured_right: float
    fd_left: float
    fd_right: float
    convention: float
    value_at_kink: float
    jax_nn_declared: float | None
    jax_nn_measured: float | None
    reason: str
    ok: bool


@dataclass(frozen=True)
class VerifyReport:
    """All checks of one kernel; ``passed`` is True when every row and kink is ok."""

    kernel: str
    params: dict[str, float]
    passed: bool
    rows: tuple[CheckRow, ...]
    kinks: tuple[KinkReport, ...]
    seconds: float
    tolerances: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[CheckRow, ...]:
        """The rows that did not pass."""
        return tuple(r for r in self.rows if not r.passed)


def tolerance_text() -> dict[str, str]:
    """The tolerance rules, in words, for the output: |got - want| <= atol + rtol |want|.

    Args: none. Returns {check: rule}.
    """
    return {
        "vs float64 kernel": f"atol = rtol = {ULPS_VS_F64} eps(dtype)",
        "vs reference (float64)": (
            f"rtol = {ULPS_REFERENCE} eps(float64), atol = rtol max(1,|x|)^2, |x| <= "
            f"{ORACLE_WINDOW:g}"
        ),
        "vs jax.nn": f"atol = rtol = {ULPS_JAX_NN} eps(dtype)",
        "finite differences": (
            f"atol = rtol = {FD_FACTOR} eps(dtype)^(2/3), step 2^round(log2(eps^(1/3) max(1,|x|)))"
        ),
        "jax.grad(fn) vs grad": f"atol = rtol = {ULPS_WIRING} eps(dtype)",
        "pass rule": "|got - want| <= atol + rtol |want| at every point",
    }


def compare_row(
    kernel: str,
    dtype: str,
    check: str,
    got: np.ndarray,
    want: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    atol: float,
    rtol: float,
    note: str = "",
    atol_scale: np.ndarray | None = None,
) -> CheckRow:
    """Max errors over ``mask`` where the oracle is finite; rel err over |want| > atol.

    ``atol_scale`` (per point) multiplies atol where the oracle itself loses accuracy.
    """
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    usable = mask & np.isfinite(want)
    n_excluded = int(mask.sum() - usable.sum())
    g, w, xs = got[usable], want[usable], x[usable]
    a = atol if atol_scale is None else atol * atol_scale[usable]
    if g.size == 0:
        nan = float("nan")
        return CheckRow(kernel, dtype, check, 0.0, 0.0, nan, True, atol, rtol, 0, n_excluded,
                        note or "no usable points")  # fmt: skip
    with np.errstate(all="ignore"):
        # inf == inf is agreement; a NaN or inf where the oracle is finite is an error.
        err = np.where(g == w, 0.0, np.abs(g - w))
        err = np.where(np.isnan(err), np.inf, err)
        rel = np.where(np.abs(w) > a, err / np.abs(w), 0.0)
        ratio = err / (a + rtol * np.abs(w))
    i = int(np.argmax(ratio))
    if n_excluded:
        note = "; ".join(filter(None, [note, f"{n_excluded} points left out: oracle not finite"]))
    return CheckRow(
        kernel=kernel,
        dtype=dtype,
        check=check,
        max_abs_err=float(err.max()),
        max_rel_err=float(rel.max()),
        worst_x=float(xs[i]),
        passed=bool(ratio.max() <= 1.0),
        atol=atol,
        rtol=rtol,
        n_points=int(g.size),
        n_excluded=n_excluded,
        note=note,
        worst_ratio=float(ratio.max()),
    )


def flag_row(
    kernel: str, dtype: str, check: str, bad: np.ndarray, x: np.ndarray, n: int, note: str
) -> CheckRow:
    """A yes/no check: ``bad`` marks failing points."""
    worst = float(x[np.argmax(bad)]) if bad.any() else float("nan")
    return CheckRow(
        kernel,
        dtype,
        check,
        float("nan"),
        float("nan"),
        worst,
        not bad.any(),
        0.0,
        0.0,
        n,
        0,
        note if bad.any() else "",
    )


def common_flags(
    name: str, dtype: str, x64: np.ndarray, out: dict[str, np.ndarray], suffix: str = ""
) -> list[CheckRow]:
    """NaN in gives NaN out; finite in gives finite f, f', f''."""
    isnan = np.isnan(x64)
    finite = np.isfinite(x64)
    bad_nan = np.zeros_like(isnan)
    bad_fin = np.zeros_like(isnan)
    for k in ("f", "g", "h"):
        bad_nan |= isnan & ~np.isnan(out[k])
        bad_fin |= finite & ~np.isfinite(out[k])
    return [
        flag_row(
            name,
            dtype,
            "NaN in -> NaN out" + suffix,
            bad_nan,
            x64,
            int(isnan.sum()),
            "f, f' or f'' not NaN at NaN",
        ),
        flag_row(
            name,
            dtype,
            "finite in -> finite f, f', f''" + suffix,
            bad_fin,
            x64,
            int(finite.sum()),
            "NaN or inf for a finite input",
        ),
    ]


def limits_row(
    name: str, dtype: str, x64: np.ndarray, out: dict[str, np.ndarray], far: dict[str, np.ndarray]
) -> CheckRow:
    """f(±inf) is the limit, taken as the float64 kernel at ±1e300 (±inf if that is beyond
    1e290); f'(±inf) and f''(±inf) are finite and equal their values at ±1e300."""
    eps = float(finfo_of(dtype).eps)
    tol = ULPS_VS_F64 * eps
    idx = [int(np.flatnonzero(x64 == v)[0]) for v in (-np.inf, np.inf)]
    errs, bad = [], False
    for k in ("f", "g", "h"):
        got = out[k][idx]
        want = far[k]
        if k == "f":
            want = np.where(np.abs(want) > 1e290, np.sign(want) * np.inf, want)
        else:
            bad |= bool(np.any(~np.isfinite(got)))
        with np.errstate(all="ignore"):
            err = np.where(got == want, 0.0, np.abs(got - want))
        err = np.where(np.isnan(err), np.inf, err)
        bad |= bool(np.any(err > tol * (1 + np.abs(np.where(np.isfinite(want), want, 0)))))
        errs.append(err.max())
    return CheckRow(
        name,
        dtype,
        "±inf -> limits",
        float(max(errs)),
        float("nan"),
        float("nan"),
        not bad,
        tol,
        tol,
        2,
        0,
        "f, f' or f'' at ±inf is not the limit" if bad else "",
    )
