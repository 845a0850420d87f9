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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kernels import Activation

DTYPES = ("float16", "bfloat16", "float32", "float64")
LOW_PRECISION = ("float16", "bfloat16")

# Tolerance multipliers of the dtype's eps; stated in every row and in `actgrad verify`.
ULPS_VS_F64 = 16  # f, f', f'' in a dtype against the float64 kernel at the same input
ULPS_REFERENCE = 64  # float64 kernel against the textbook formula (which loses a few bits)
ULPS_JAX_NN = 16  # forward against the jax.nn twin
FD_FACTOR = 50  # finite differences: error ~ eps^(2/3) for the step used
ULPS_WIRING = 2  # jax.grad(fn) against grad: the same arithmetic


def __getattr__(name: str) -> Any:
    # The formula checker lives in analysis/formula.py; importing it lazily keeps this
    # module importable on its own. Public API: verify.check_formula.
    if name in ("FormulaError", "FormulaResult", "check_formula"):
        from analysis.checks import formula

        return getattr(formula, name)
    raise AttributeError(f"module 'analysis.verify' has no attribute {name!r}")


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
        return tuple(r for r in self.rows if not r.passed)


def tolerance_text() -> dict[str, str]:
    """The tolerance rules, in words, for the output."""
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


def _np_dtype(dtype: str) -> np.dtype:
    import jax.numpy as jnp

    return np.dtype(jnp.dtype(dtype))


def _finfo(dtype: str):
    import jax.numpy as jnp

    return jnp.finfo(jnp.dtype(dtype))


ORACLE_WINDOW = 50.0  # |x| beyond this: textbook formulas overflow exp(2x) etc. in float64
_N_SPECIAL = 96  # fixed block sizes, so one compiled evaluator serves every dtype
_N_KINK = 8 * 7
_FLUSH: dict[str, bool] = {}
# Compile time, not run time, dominates verification. This XLA option skips LLVM's costly
# optimisation passes only (no fast-math); tests/test_verify.py checks that the outputs are
# bit-identical to a default compilation.
COMPILER_OPTIONS = {"xla_llvm_disable_expensive_passes": True}


def _jit(fn: Callable) -> Callable:
    import jax

    return jax.jit(fn, compiler_options=COMPILER_OPTIONS)


def _FAR_SLOTS(n_main: int) -> slice:
    """The last two special points: ±1e300, where f, f', f'' stand in for the limits."""
    return slice(n_main - 2, n_main)


def flushes_subnormals(dtype: str) -> bool:
    """True when the backend treats subnormal inputs as 0 (XLA on CPU does: FTZ/DAZ)."""
    if dtype not in _FLUSH:
        import jax
        import jax.numpy as jnp

        tiny = jnp.asarray(_finfo(dtype).smallest_subnormal, jnp.dtype(dtype))
        _FLUSH[dtype] = not bool(jax.jit(lambda v: v > 0)(tiny))
    return _FLUSH[dtype]


def _random_points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_uni = n // 2
    uni = rng.uniform(-10.0, 10.0, n_uni)
    mag = 10.0 ** rng.uniform(-8.0, 4.0, n - n_uni)
    sign = np.where(rng.random(n - n_uni) < 0.5, -1.0, 1.0)
    # float32-representable, so the float32 and float64 rows see the same inputs.
    return np.concatenate([uni, sign * mag]).astype(np.float32).astype(np.float64)


def _special_points(dtype: str) -> np.ndarray:
    """0, ±1, ..., ±max, smallest normal and subnormal, ±inf, NaN; padded to _N_SPECIAL."""
    fi = _finfo(dtype)
    big = float(fi.max)
    pos = [0.0, 1.0, 0.5, 2.0, 3.0, 5.0, 20.0, 40.0, 100.0, 1e4, 1e10, 1e30, 1e100, 1e300]
    pos += [float(fi.smallest_normal), float(fi.smallest_subnormal), big, big / 2]
    vals = [v for p in pos for v in (p, -p) if p <= big] + [np.inf, -np.inf, np.nan]
    vals += [1.0] * (_N_SPECIAL - 2 - len(vals)) + [-1e300, 1e300]  # the _FAR_SLOTS
    return np.asarray(vals, np.float64).astype(_np_dtype(dtype)).astype(np.float64)


def _kink_points(act: Activation, dtype: str) -> np.ndarray:
    """Per kink: [below, at, above, at - h, at + h] with below/above the nearest inputs
    the backend tells apart from the kink (±1 ulp, or ±smallest normal at 0 when
    subnormals are flushed) and h = sqrt(eps) max(1, |at|) for one-sided differences."""
    nd = _np_dtype(dtype)
    fi = _finfo(dtype)
    out = []
    for k in act.kinks:
        at = np.asarray(k.at, nd)
        lo = np.nextafter(at, np.asarray(-np.inf, nd))
        hi = np.nextafter(at, np.asarray(np.inf, nd))
        if flushes_subnormals(dtype) and k.at == 0:
            lo, hi = -float(fi.smallest_normal), float(fi.smallest_normal)
        h = float(np.sqrt(float(fi.eps))) * max(1.0, abs(k.at))
        out += [float(lo), float(at), float(hi), k.at - h, k.at + h, 0.5, 0.5]
    out += [0.5] * (_N_KINK - len(out))
    return np.asarray(out, np.float64).astype(nd).astype(np.float64)


def _fd_step(x: np.ndarray, dtype: str) -> np.ndarray:
    eps = float(_finfo(dtype).eps)
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(x), x, 1.0)))
    return np.exp2(np.round(np.log2(eps ** (1 / 3) * scale)))


def _effective(x: np.ndarray, dtype: str) -> np.ndarray:
    """The input the backend really sees: subnormals of ``dtype`` become ±0 if flushed."""
    if not flushes_subnormals(dtype):
        return x
    small = np.abs(x) < float(_finfo(dtype).smallest_normal)
    return np.where(small, 0.0 * np.sign(x), x)


def _compare(
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
        return CheckRow(
            kernel,
            dtype,
            check,
            0.0,
            0.0,
            float("nan"),
            True,
            atol,
            rtol,
            0,
            n_excluded,
            note or "no usable points",
        )
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


def _flag_row(
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


def _evaluator(act: Activation) -> Callable:
    """One jitted function per kernel and dtype: every kernel-side array the checks need.

    ``x`` ends with the _N_KINK kink points; ``xp``/``xm`` are x ± the FD step. f, f', f''
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
            xk = x[n - _N_KINK :]
            pad = jnp.zeros(n - _N_KINK, x.dtype)
            out["jnn_g"] = jnp.concatenate([pad, jax.vmap(jax.grad(jnn))(xk)])
            out["jnn_h"] = jnp.concatenate([pad, jax.vmap(jax.grad(jax.grad(jnn)))(xk)])
        return out

    return _jit(run)


def _oracle(act: Activation) -> Callable:
    """float64: the textbook formula and its jax.grad and grad-of-grad."""
    import jax

    ref = act.reference

    def run(x):
        return {
            "ref": ref(x),
            "ref_g": jax.vmap(jax.grad(ref))(x),
            "ref_h": jax.vmap(jax.grad(jax.grad(ref)))(x),
        }

    return _jit(run)


def _evaluate(ev: Callable, x64: np.ndarray, dtype: str) -> tuple[dict[str, np.ndarray], bool]:
    """Run ``ev`` on ``x64`` cast to ``dtype`` (with FD neighbours); float64 numpy out and
    whether every output kept the input dtype and shape."""
    import jax.numpy as jnp

    nd = _np_dtype(dtype)
    h = _fd_step(x64, dtype)
    with np.errstate(all="ignore"):
        xs = [jnp.asarray(v.astype(nd)) for v in (x64, x64 + h, x64 - h)]
    out = ev(*xs)
    kept = all(v.dtype == xs[0].dtype and v.shape == xs[0].shape for v in out.values())
    res = {k: np.asarray(v.astype(jnp.float64)) for k, v in out.items()}
    res["xp"], res["xm"] = (np.asarray(v.astype(jnp.float64)) for v in xs[1:])
    return res, kept


def _dtype_rows(
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
    eps = float(_finfo(dtype).eps)
    xe = _effective(x64, dtype)
    finite = np.isfinite(x64)
    is_kink = np.zeros_like(finite)
    for k in act.kinks:
        is_kink |= xe == k.at
    cmp = finite & ~is_kink
    rows: list[CheckRow] = []

    tol = ULPS_WIRING * eps
    rows.append(
        _compare(
            name, dtype, "jax.grad(fn) == grad", out["g_auto"], out["g"], x64, finite, tol, tol
        )
    )
    rows.append(
        _compare(
            name,
            dtype,
            "jax.grad(jax.grad(fn)) == grad2",
            out["h_auto"],
            out["h"],
            x64,
            finite,
            tol,
            tol,
        )
    )

    # Central differences in this dtype, away from kinks and overflow.
    h = _fd_step(x64, dtype)
    near_kink = np.zeros_like(finite)
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
    rows.append(
        _compare(name, dtype, "f' vs finite diff of f", out["g"], fd1, x64, fd_ok, tol, tol, note)
    )
    rows.append(
        _compare(name, dtype, "f'' vs finite diff of f'", out["h"], fd2, x64, fd_ok, tol, tol, note)
    )

    if "jnn" in out:
        tol = ULPS_JAX_NN * eps
        bad_twin = int((cmp & ~np.isfinite(out["jnn"])).sum())
        note = f"jax.nn gives NaN/inf at {bad_twin} finite inputs" if bad_twin else ""
        rows.append(
            _compare(name, dtype, "f vs jax.nn", out["f"], out["jnn"], x64, cmp, tol, tol, note)
        )

    if dtype == "float64":
        tol = ULPS_REFERENCE * eps
        window = cmp & (np.abs(x64) <= ORACLE_WINDOW)
        note = (
            f"|x| <= {ORACLE_WINDOW:g} (the textbook formulas overflow beyond); "
            "atol x max(1,|x|)^2 (they cancel, e.g. 1 + tanh(u) for x < 0)"
        )
        scale = np.square(np.maximum(1.0, np.abs(np.where(finite, x64, 0.0))))
        for key, ref_key, label in (
            ("f", "ref", "f vs reference"),
            ("g", "ref_g", "f' vs jax.grad(reference)"),
            ("h", "ref_h", "f'' vs grad(grad(reference))"),
        ):
            rows.append(
                _compare(
                    name,
                    dtype,
                    label,
                    out[key],
                    truth[ref_key],
                    x64,
                    window,
                    tol,
                    tol,
                    note,
                    atol_scale=scale,
                )
            )
    else:
        tol = ULPS_VS_F64 * eps
        for key, label in (("f", "f vs float64"), ("g", "f' vs float64"), ("h", "f'' vs float64")):
            rows.append(_compare(name, dtype, label, out[key], truth[key], x64, finite, tol, tol))

    rows.extend(_common_flags(name, dtype, x64, out))
    rows.append(
        _flag_row(
            name,
            dtype,
            "dtype and shape kept",
            np.array([not kept]),
            np.zeros(1),
            1,
            "an output's dtype or shape differs from the input",
        )
    )
    return rows


def _common_flags(
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
        _flag_row(
            name,
            dtype,
            "NaN in -> NaN out" + suffix,
            bad_nan,
            x64,
            int(isnan.sum()),
            "f, f' or f'' not NaN at NaN",
        ),
        _flag_row(
            name,
            dtype,
            "finite in -> finite f, f', f''" + suffix,
            bad_fin,
            x64,
            int(finite.sum()),
            "NaN or inf for a finite input",
        ),
    ]


def _limits_row(
    name: str, dtype: str, x64: np.ndarray, out: dict[str, np.ndarray], far: dict[str, np.ndarray]
) -> CheckRow:
    """f(±inf) is the limit, taken as the float64 kernel at ±1e300 (±inf if that is beyond
    1e290); f'(±inf) and f''(±inf) are finite and equal their values at ±1e300."""
    eps = float(_finfo(dtype).eps)
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


def _kink_reports(
    act: Activation, dtype: str, kx: np.ndarray, kout: dict[str, np.ndarray]
) -> list[KinkReport]:
    eps = float(_finfo(dtype).eps)
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


def _exhaustive_rows(act: Activation, dtype: str) -> list[CheckRow]:
    """All 65,536 bit patterns of a 16-bit dtype: NaN kept, finite stays finite, dtype kept."""
    import jax.numpy as jnp

    x = np.arange(2**16, dtype=np.uint16).view(_np_dtype(dtype))
    xj = jnp.asarray(x)
    outs = _jit(lambda v: {"f": act.fn(v), "g": act.grad(v), "h": act.grad2(v)})(xj)
    bad_dtype = any(v.dtype != xj.dtype for v in outs.values())
    vals = {k: np.asarray(v.astype(jnp.float64)) for k, v in outs.items()}
    rows = _common_flags(act.name, dtype, x.astype(np.float64), vals, " (all 2^16)")
    rows.append(
        _flag_row(
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


def verify_activation(
    act: Activation,
    dtypes: Iterable[str] = ("float32", "float64"),
    n_random: int = 100_000,
    seed: int = 0,
    finite_dtypes: Iterable[str] = LOW_PRECISION,
) -> VerifyReport:
    """Check ``act`` in every dtype of ``dtypes`` (full checks) and ``finite_dtypes``
    (all 2^16 inputs: no NaN/inf in f, f', f'' for finite input; NaN kept; dtype kept).

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
    rand = _random_points(n_random, seed)
    # Overflow to inf in casts and in the textbook oracle is expected and is measured.
    with jax.enable_x64(True), np.errstate(all="ignore"):
        ev = {d: _evaluator(act) for d in dtypes}
        ev64 = ev.get("float64") or _evaluator(act)
        for dtype in dtypes:
            nd = _np_dtype(dtype)
            x64 = np.concatenate([rand, _special_points(dtype), _kink_points(act, dtype)])
            x64 = x64.astype(nd).astype(np.float64)
            n_main = x64.size - _N_KINK
            out, kept = _evaluate(ev[dtype], x64, dtype)
            if dtype == "float64":
                truth = {k: np.asarray(v) for k, v in _oracle(act)(_effective(x64, dtype)).items()}
                far = {k: out[k][_FAR_SLOTS(n_main)] for k in ("f", "g", "h")}
            else:
                xt = _effective(x64, dtype)
                xt[_FAR_SLOTS(n_main)] = (-1e300, 1e300)
                truth, _ = _evaluate(ev64, xt, "float64")
                far = {k: truth[k][_FAR_SLOTS(n_main)] for k in ("f", "g", "h")}
            main = {k: v[:n_main] for k, v in out.items()}
            rows.extend(
                _dtype_rows(
                    act, dtype, x64[:n_main], main, {k: v[:n_main] for k, v in truth.items()}, kept
                )
            )
            rows.append(_limits_row(act.name, dtype, x64[:n_main], main, far))
            kout = {k: v[n_main:] for k, v in out.items()}
            kinks.extend(_kink_reports(act, dtype, x64[n_main:], kout))
        for dtype in finite_dtypes:
            if dtype not in dtypes:
                rows.extend(_exhaustive_rows(act, dtype))
    passed = all(r.passed for r in rows) and all(k.ok for k in kinks)
    return VerifyReport(
        kernel=act.name,
        params=dict(act.params),
        passed=passed,
        rows=tuple(rows),
        kinks=tuple(kinks),
        seconds=time.perf_counter() - t0,
        tolerances=tolerance_text(),
    )


def check_properties(act: Activation) -> list[tuple[str, Any, Any, bool]]:
    """Measure the declared properties in float64 on a dense grid (+ ±inf).

    Returns ``(property, declared, measured, ok)`` rows for range, bounded, monotonic,
    zero_centered (f(0) = 0 and f odd), saturating (|f'| < 1e-12 at ±1e8), max |f'|, lipschitz (max
    slope between grid neighbours) and f'(0).
    """
    import jax
    import jax.numpy as jnp

    p = act.properties
    with jax.enable_x64(True):
        half = np.concatenate(
            [np.linspace(0.0, 50.0, 500_001)[1:], np.geomspace(50.0, 1e6, 2001)[1:]]
        )
        x = np.concatenate([-half[::-1], [0.0], half])  # exactly symmetric about 0
        xj = jnp.asarray(x)
        f = np.asarray(act.fn(xj))
        g = np.asarray(act.grad(xj))
        ends = np.asarray(act.fn(jnp.asarray([-np.inf, np.inf])))
        far = np.asarray(act.grad(jnp.asarray([-1e8, 1e8])))
        g0 = float(act.grad(jnp.asarray(0.0)))
        # f(x) + f(-x), relative to |f|: rounding in the library tanh etc. is allowed.
        f_odd = float(np.max(np.abs(f + f[::-1]) / np.maximum(np.abs(f), 1e-300)))
    lo = float(min(f.min(), ends.min()))
    hi = float(max(f.max(), ends.max()))
    slope = float(np.max(np.abs(np.diff(f) / np.diff(x))))
    max_g = float(np.max(np.abs(g)))
    sat = {(True, True): "both", (True, False): "negative", (False, True): "positive"}
    measured_sat = sat.get(tuple(bool(abs(v) < 1e-12) for v in far), "none")

    def near(a: float, b: float, tol: float = 1e-6) -> bool:
        return a == b or abs(a - b) <= tol * max(1.0, abs(b))

    # XLA's float64 tanh steps down by an ulp here and there, so a rounding-sized decrease
    # of f does not count against monotonicity; f' >= 0 must hold exactly.
    eps = float(np.finfo(np.float64).eps)
    monotone = bool(np.all(g >= 0) and np.all(np.diff(f) >= -16 * eps * np.abs(f[1:])))
    rows = [
        ("range", p.range, (lo, hi), near(lo, p.range[0]) and near(hi, p.range[1])),
        (
            "bounded",
            p.bounded,
            bool(np.isfinite(lo) and np.isfinite(hi)),
            p.bounded == bool(np.isfinite(lo) and np.isfinite(hi)),
        ),
        ("monotonic", p.monotonic, monotone, p.monotonic == monotone),
        (
            "zero_centered",
            p.zero_centered,
            f_odd == 0.0 and f[x == 0][0] == 0,
            p.zero_centered == (f_odd == 0.0),
        ),
        ("saturating", p.saturating, measured_sat, p.saturating == measured_sat),
        ("max_abs_grad", p.max_abs_grad, max_g, near(max_g, p.max_abs_grad)),
        (
            "lipschitz",
            p.lipschitz,
            slope,
            slope <= p.lipschitz * (1 + 1e-9) and near(slope, p.lipschitz, 1e-3),
        ),
        ("f_prime_at_zero", p.f_prime_at_zero, g0, near(g0, p.f_prime_at_zero, 1e-12)),
    ]
    return [(name, declared, measured, bool(ok)) for name, declared, measured, ok in rows]
