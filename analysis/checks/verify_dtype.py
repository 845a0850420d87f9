"""The per-dtype checks of the kernel verifier: evaluators, rows, kinks, all 2^16 inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from analysis.checks.verify_points import (
    FD_FACTOR,
    N_KINK,
    ORACLE_WINDOW,
    ULPS_JAX_NN,
    ULPS_REFERENCE,
    ULPS_VS_F64,
    ULPS_WIRING,
    effective_inputs,
    fd_step,
    finfo_of,
    jit_points,
    np_dtype,
)
from analysis.checks.verify_rows import CheckRow, KinkReport, common_flags, compare_row, flag_row

if TYPE_CHECKING:
    from kernels import Activation

__all__ = [
    "dtype_rows",
    "evaluate_points",
    "exhaustive_rows",
    "kernel_evaluator",
    "kink_reports",
    "reference_oracle",
]


def kernel_evaluator(act: Activation) -> Callable:
    """One jitted function per kernel and dtype: every kernel-side array the checks need.

    ``x`` ends with the N_KINK kink points; ``xp``/``xm`` are x ± the FD step. f, f', f''
    run once on the concatenation, so the compiled program stays small (compile time,
    not run time, dominates verification).
    """
    import jax
    import jax.numpy as jnp

    jnn = act.jax_nn

    def run(x, xp, xm):
        n = x.shape[0]
        allx = jnp.concatenate([x, xp, xm])
        f, g = act.fn(allx), act.grad(allx)
        out = {
            "f": f[:n],
            "g": g[:n],
            "h": act.grad2(x),
            "g_auto": jax.vmap(jax.grad(act.fn))(x),
            "h_auto": jax.vmap(jax.grad(jax.grad(act.fn)))(x),
            "fp": f[n : 2 * n],
            "fm": f[2 * n :],
            "gp": g[n : 2 * n],
            "gm": g[2 * n :],
        }
        if jnn is not None:
            out["jnn"] = jnn(x)
            xk = x[n - N_KINK :]
            pad = jnp.zeros(n - N_KINK, x.dtype)
            out["jnn_g"] = jnp.concatenate([pad, jax.vmap(jax.grad(jnn))(xk)])
            out["jnn_h"] = jnp.concatenate([pad, jax.vmap(jax.grad(jax.grad(jnn)))(xk)])
        return out

    return jit_points(run)


def reference_oracle(act: Activation) -> Callable:
    """float64: the textbook formula and its jax.grad and grad-of-grad."""
    import jax

    ref = act.reference

    def run(x):
        return {
            "ref": ref(x),
            "ref_g": jax.vmap(jax.grad(ref))(x),
            "ref_h": jax.vmap(jax.grad(jax.grad(ref)))(x),
        }

    return jit_points(run)


def evaluate_points(
    ev: Callable, x64: np.ndarray, dtype: str
) -> tuple[dict[str, np.ndarray], bool]:
    """Run ``ev`` on ``x64`` cast to ``dtype`` (with FD neighbours); float64 numpy out and
    whether every output kept the input dtype and shape."""
    import jax.numpy as jnp

    nd = np_dtype(dtype)
    h = fd_step(x64, dtype)
    with np.errstate(all="ignore"):
        xs = [jnp.asarray(v.astype(nd)) for v in (x64, x64 + h, x64 - h)]
    out = ev(*xs)
    kept = all(v.dtype == xs[0].dtype and v.shape == xs[0].shape for v in out.values())
    res = {k: np.asarray(v.astype(jnp.float64)) for k, v in out.items()}
    res["xp"], res["xm"] = (np.asarray(v.astype(jnp.float64)) for v in xs[1:])
    return res, kept


def _wiring_rows(name: str, dtype: str, x64: np.ndarray, out: dict, eps: float) -> list[CheckRow]:
    """jax.grad through the custom_jvp gives the hand-written f' and f''."""
    tol, finite = ULPS_WIRING * eps, np.isfinite(x64)
    return [
        compare_row(name, dtype, "jax.grad(fn) == grad", out["g_auto"], out["g"], x64, finite, tol, tol),
        compare_row(
            name, dtype, "jax.grad(jax.grad(fn)) == grad2", out["h_auto"], out["h"], x64, finite,
            tol, tol,
        ),
    ]  # fmt: skip


def _fd_rows(
    act: Activation, dtype: str, x64: np.ndarray, out: dict, cmp: np.ndarray, eps: float
) -> list[CheckRow]:
    """Central differences in this dtype, away from kinks and overflow."""
    h = fd_step(x64, dtype)
    near_kink = np.zeros_like(cmp)
    for k in act.kinks:
        near_kink |= np.abs(x64 - k.at) <= 2 * h
    xp, xm = out["xp"], out["xm"]
    fd_ok = cmp & ~near_kink & np.isfinite(xp) & np.isfinite(xm) & (xp > xm)
    with np.errstate(all="ignore"):
        den = np.where(fd_ok, xp - xm, 1.0)
        fd1 = (out["fp"] - out["fm"]) / den
        fd2 = (out["gp"] - out["gm"]) / den
    tol = FD_FACTOR * eps ** (2 / 3)
    n_near = int((cmp & near_kink).sum())
    note = f"{n_near} points within 2h of a kink left out" if n_near else ""
    name = act.name
    return [
        compare_row(
            name, dtype, "f' vs finite diff of f", out["g"], fd1, x64, fd_ok, tol, tol, note
        ),
        compare_row(
            name, dtype, "f'' vs finite diff of f'", out["h"], fd2, x64, fd_ok, tol, tol, note
        ),
    ]


def _oracle_rows(
    name: str, dtype: str, x64: np.ndarray, out: dict, truth: dict, cmp: np.ndarray, eps: float
) -> list[CheckRow]:
    """float64: against the textbook formula and its jax.grad; else against float64."""
    finite = np.isfinite(x64)
    if dtype != "float64":
        tol = ULPS_VS_F64 * eps
        labels = (("f", "f vs float64"), ("g", "f' vs float64"), ("h", "f'' vs float64"))
        return [
            compare_row(name, dtype, label, out[key], truth[key], x64, finite, tol, tol)
            for key, label in labels
        ]
    tol = ULPS_REFERENCE * eps
    window = cmp & (np.abs(x64) <= ORACLE_WINDOW)
    note = (
        f"|x| <= {ORACLE_WINDOW:g} (the textbook formulas overflow beyond); "
        "atol x max(1,|x|)^2 (they cancel, e.g. 1 + tanh(u) for x < 0)"
    )
    scale = np.square(np.maximum(1.0, np.abs(np.where(finite, x64, 0.0))))
    labels = (
        ("f", "ref", "f vs reference"),
        ("g", "ref_g", "f' vs jax.grad(reference)"),
        ("h", "ref_h", "f'' vs grad(grad(reference))"),
    )
    return [
        compare_row(name, dtype, label, out[key], truth[ref], x64, window, tol, tol, note,
                 atol_scale=scale)
        for key, ref, label in labels
    ]  # fmt: skip


def dtype_rows(
    act: Activation,
    dtype: str,
    x64: np.ndarray,
    out: dict[str, np.ndarray],
    truth: dict[str, np.ndarray],
    kept: bool,
) -> list[CheckRow]:
    """Every check in one dtype. ``truth``: float64 kernel (and, for the float64 row, the
    textbook oracle) at the effective inputs."""
    name = act.name
    eps = float(finfo_of(dtype).eps)
    xe = effective_inputs(x64, dtype)
    is_kink = np.zeros(x64.shape, bool)
    for k in act.kinks:
        is_kink |= xe == k.at
    cmp = np.isfinite(x64) & ~is_kink
    rows = _wiring_rows(name, dtype, x64, out, eps) + _fd_rows(act, dtype, x64, out, cmp, eps)
    if "jnn" in out:
        tol = ULPS_JAX_NN * eps
        bad_twin = int((cmp & ~np.isfinite(out["jnn"])).sum())
        note = f"jax.nn gives NaN/inf at {bad_twin} finite inputs" if bad_twin else ""
        rows.append(
            compare_row(name, dtype, "f vs jax.nn", out["f"], out["jnn"], x64, cmp, tol, tol, note)
        )
    rows += _oracle_rows(name, dtype, x64, out, truth, cmp, eps)
    rows.extend(common_flags(name, dtype, x64, out))
    rows.append(
        flag_row(
            name, dtype, "dtype and shape kept", np.array([not kept]), np.zeros(1), 1,
            "an output's dtype or shape differs from the input",
        )
    )  # fmt: skip
    return rows


def kink_reports(
    act: Activation, dtype: str, kx: np.ndarray, kout: dict[str, np.ndarray]
) -> list[KinkReport]:
    """Per kink of `act`: f, f', f'' at it and the one-sided derivatives beside it (from
    `kink_points`' block of 7 per kink in `kx`, evaluated as `kout`), with the verdict."""
    eps = float(finfo_of(dtype).eps)
    tol, fd_tol = 8 * eps, 100 * np.sqrt(eps)
    reports = []

    def close(a, b, t):
        return abs(a - b) <= t * (1 + abs(b))

    for i, k in enumerate(act.kinks):
        s = slice(7 * i, 7 * i + 5)
        x = kx[s]
        d = (kout["g"] if k.order == 1 else kout["h"])[s]
        prim = (kout["f"] if k.order == 1 else kout["g"])[s]
        fd_left = (prim[1] - prim[3]) / (x[1] - x[3])
        fd_right = (prim[4] - prim[1]) / (x[4] - x[1])
        jnn = None
        if "jnn" in kout and k.jax_nn is not None:
            jnn = float((kout["jnn_g"] if k.order == 1 else kout["jnn_h"])[s][1])
        ok = (
            close(d[0], k.left, tol)
            and close(d[2], k.right, tol)
            and close(d[1], k.convention, tol)
            and close(fd_left, k.left, fd_tol)
            and close(fd_right, k.right, fd_tol)
            and (jnn is None or close(jnn, k.jax_nn, tol))
        )
        reports.append(
            KinkReport(
                act.name,
                dtype,
                k.at,
                k.order,
                k.left,
                k.right,
                float(d[0]),
                float(d[2]),
                float(fd_left),
                float(fd_right),
                k.convention,
                float(d[1]),
                k.jax_nn,
                jnn,
                k.reason,
                bool(ok),
            )
        )
    return reports


def exhaustive_rows(act: Activation, dtype: str) -> list[CheckRow]:
    """All 65,536 bit patterns of a 16-bit dtype: NaN kept, finite stays finite, dtype kept."""
    import jax.numpy as jnp

    x = np.arange(2**16, dtype=np.uint16).view(np_dtype(dtype))
    xj = jnp.asarray(x)
    outs = jit_points(lambda v: {"f": act.fn(v), "g": act.grad(v), "h": act.grad2(v)})(xj)
    bad_dtype = any(v.dtype != xj.dtype for v in outs.values())
    vals = {k: np.asarray(v.astype(jnp.float64)) for k, v in outs.items()}
    rows = common_flags(act.name, dtype, x.astype(np.float64), vals, " (all 2^16)")
    rows.append(
        flag_row(
            act.name,
            dtype,
            "dtype kept",
            np.array([bad_dtype]),
            np.zeros(1),
            1,
            "output dtype differs from input",
        )
    )
    return rows
