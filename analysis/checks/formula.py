"""Does a claimed derivative equal d/dz of a formula? Checked numerically in float64.

``check_formula(f, df)`` parses both (``analysis.checks.formula_parse``: a closed grammar, never
Python's compiler), takes ``jax.grad`` of the parsed ``f`` as the truth (cross-checked with
central finite differences) and compares it with ``df`` on a dense grid over the domain plus
random points, special points (0, +-1, powers of ten, the domain ends) and every piecewise
boundary with its close neighbours.

A point fails when ``|df - f'| > rtol |f'| + K eps (s_df + |d s_f/dz| + |f'|)``: ``s`` is a
running rounding-error bound (the value each node would have if every rounding pushed the
same way), so that cancellation such as ``1 - tanh(z)^2`` at large z is not called wrong while
any real error, even one confined to a small region or to large |z|, is.

Kinks of ``f`` (piecewise boundaries, ties of max/min, zeros inside abs) are left out of
the comparison and reported on their own with the one-sided derivatives: a ``df`` value
between them is a convention (relu'(0) = 0, leaky'(0) = k), one outside them is a mismatch.
Points where ``f``, ``df`` or ``jax.grad(f)`` is not finite (``exp(-z)`` at z = -800) are
reported as overflow, not called wrong.

A chain such as ``1 - (...)^2 = 1 - tanh^2(z)`` is refused: ``split_sides`` gives its
claims, and each is checked on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.checks.formula_parse import (
    NP_FUNCS,
    Call,
    Expr,
    FormulaError,
    Interval,
    Neg,
    Num,
    Param,
    Piecewise,
    Pow,
    Prod,
    Sum,
    Var,
    check_params,
    parse,
    split_sides,
    strip_lhs,
    uncovered,
    walk,
)

__all__ = [
    "Expr",
    "FormulaError",
    "FormulaResult",
    "check_formula",
    "parse",
    "split_sides",
    "strip_lhs",
    "to_jax",
]

EPS = float(np.finfo(np.float64).eps)
RTOL = 1e-10
K_ROUND = 1024.0
N_GRID = 20_001
N_RANDOM = 4_000
MAX_KINKS = 200
TINY = float(np.finfo(np.float64).tiny)  # XLA on CPU flushes subnormals to zero


# ------------------------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class _Ops:
    """The array module a tree is evaluated with: jax.numpy (for jax.grad) or numpy."""

    xp: Any
    funcs: Mapping[str, Callable[..., Any]]


_NUMPY = _Ops(np, NP_FUNCS)


def _jax_ops() -> _Ops:
    import jax
    import jax.numpy as jnp

    return _Ops(
        jnp,
        {
            "exp": jnp.exp,
            "log": jnp.log,
            "log1p": jnp.log1p,
            "sqrt": jnp.sqrt,
            "abs": jnp.abs,
            "tanh": jnp.tanh,
            "sinh": jnp.sinh,
            "cosh": jnp.cosh,
            "sigmoid": jax.nn.sigmoid,
            "max": jnp.maximum,
            "min": jnp.minimum,
        },
    )


def _mask(iv: Interval, z: Any) -> Any:
    above = (z > iv.lo) | ((z == iv.lo) & iv.lo_closed)
    below = (z < iv.hi) | ((z == iv.hi) & iv.hi_closed)
    return above & below


def _inside(iv: Interval | None, earlier: list[Interval]) -> float:
    """A point where this piece applies: its branch is evaluated there elsewhere (double where)."""
    if iv is not None:
        if math.isfinite(iv.lo) and math.isfinite(iv.hi):
            return 0.5 * (iv.lo + iv.hi)
        if math.isfinite(iv.lo):
            return iv.lo + 1.0
        return iv.hi - 1.0 if math.isfinite(iv.hi) else 0.0
    gap = uncovered(earlier)
    return _inside(gap, []) if gap is not None else 0.0


def _pieces(node: Piecewise, z: Any, ev: Callable, ops: _Ops) -> list[tuple[Any, Any]]:
    """(mask, value) per piece, each evaluated at z where it applies and at a safe point
    elsewhere, so that an unused branch's inf or nan never reaches a gradient."""
    xp = ops.xp
    out, taken, earlier = [], xp.zeros(xp.shape(z), bool), []
    for iv, body in node.pieces:
        m = (~taken) if iv is None else (_mask(iv, z) & ~taken)
        zi = xp.where(m, z, _inside(iv, earlier))
        out.append((m, ev(body, zi, ops)))
        taken = taken | m
        if iv is not None:
            earlier.append(iv)
    return out


def _value_of(expr: Expr, z: Any, ops: _Ops) -> Any:
    xp = ops.xp
    if isinstance(expr, Num | Param):
        return xp.asarray(expr.value, dtype=z.dtype)
    if isinstance(expr, Var):
        return z
    if isinstance(expr, Neg):
        return -_value_of(expr.arg, z, ops)
    if isinstance(expr, Sum):
        acc = _value_of(expr.terms[0][1], z, ops)
        acc = acc if expr.terms[0][0] == "+" else -acc
        for op, e in expr.terms[1:]:
            acc = acc + _value_of(e, z, ops) if op == "+" else acc - _value_of(e, z, ops)
        return acc
    if isinstance(expr, Prod):
        acc = _value_of(expr.factors[0][1], z, ops)
        for op, e in expr.factors[1:]:
            acc = acc * _value_of(e, z, ops) if op == "*" else acc / _value_of(e, z, ops)
        return acc
    if isinstance(expr, Pow):
        return xp.power(_value_of(expr.base, z, ops), _value_of(expr.exponent, z, ops))
    if isinstance(expr, Call):
        return ops.funcs[expr.fn](*(_value_of(a, z, ops) for a in expr.args))
    out = None
    for m, v in reversed(_pieces(expr, z, _value_of, ops)):
        out = v if out is None else xp.where(m, v, out)
    return out


def to_jax(expr: Expr) -> Callable[[Any], Any]:
    """The formula as an elementwise jax.numpy function: z (any shape) -> same shape.

    Differentiable with jax.grad; piecewise forms use the double-where so that an unused
    branch's overflow does not make the gradient NaN.
    """
    import jax.numpy as jnp

    ops = _jax_ops()

    def fn(z: Any) -> Any:
        z = jnp.asarray(z)
        return jnp.broadcast_to(_value_of(expr, z, ops), z.shape).astype(z.dtype)

    return fn


def _np_fn(expr: Expr) -> Callable[[np.ndarray], np.ndarray]:
    """The formula in numpy float64: the values and rounding bounds need no gradient."""

    def fn(z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(_value_of(expr, z, _NUMPY), z.shape).astype(np.float64)

    return fn


def _np_scale(expr: Expr) -> Callable[[np.ndarray], np.ndarray]:
    def fn(z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(_scaled(expr, z, _NUMPY)[1], z.shape).astype(np.float64)

    return fn


def _safe_mul(a: Any, s: Any) -> Any:
    return np.where(s == 0, 0.0, np.abs(a) * s)


_DERIV = {
    "exp": lambda a, r: r,
    "log": lambda a, r: 1.0 / a,
    "log1p": lambda a, r: 1.0 / (1.0 + a),
    "sqrt": lambda a, r: 0.5 / r,
    "abs": lambda a, r: 1.0,
    "tanh": lambda a, r: 1.0 - r * r,
    "sinh": lambda a, r: np.cosh(a),
    "cosh": lambda a, r: np.sinh(a),
    "sigmoid": lambda a, r: r * (1.0 - r),
}


def _scaled(expr: Expr, z: Any, ops: _Ops) -> tuple[Any, Any]:
    """(value, s): eps * s bounds the rounding error of the value (first order); numpy."""
    if isinstance(expr, Num | Param):
        v = np.asarray(expr.value, dtype=z.dtype)
        return v, np.abs(v)
    if isinstance(expr, Var):
        return z, np.zeros_like(z)
    if isinstance(expr, Neg):
        v, s = _scaled(expr.arg, z, ops)
        return -v, s
    if isinstance(expr, Sum):
        v, s = _scaled(expr.terms[0][1], z, ops)
        for op, e in expr.terms[1:]:
            b, sb = _scaled(e, z, ops)
            v = v + b if op == "+" else v - b
            s = s + sb + np.abs(v)
        return v, s
    if isinstance(expr, Prod):
        v, s = _scaled(expr.factors[0][1], z, ops)
        for op, e in expr.factors[1:]:
            b, sb = _scaled(e, z, ops)
            if op == "*":
                s, v = _safe_mul(b, s) + _safe_mul(v, sb), v * b
            else:
                s, v = _safe_mul(1.0 / b, s) + _safe_mul(v / (b * b), sb), v / b
            s = s + np.abs(v)
        return v, s
    if isinstance(expr, Pow):
        a, sa = _scaled(expr.base, z, ops)
        b, sb = _scaled(expr.exponent, z, ops)
        v = np.power(a, b)
        s_exp = np.where(v == 0, 0.0, _safe_mul(v * np.log(np.abs(a)), sb))
        return v, _safe_mul(b * np.power(a, b - 1.0), sa) + s_exp + np.abs(v)
    if isinstance(expr, Call):
        args = [_scaled(a, z, ops) for a in expr.args]
        if expr.fn in ("max", "min"):
            (a, sa), (b, sb) = args
            pick_a = (a >= b) if expr.fn == "max" else (a <= b)
            v = np.where(pick_a, a, b)
            return v, np.where(pick_a, sa, sb) + np.abs(v)
        (a, sa) = args[0]
        v = ops.funcs[expr.fn](a)
        return v, _safe_mul(_DERIV[expr.fn](a, v), sa) + np.abs(v)
    value, scale = None, None
    for m, (v, s) in reversed(_pieces(expr, z, _scaled, ops)):
        value = v if value is None else np.where(m, v, value)
        scale = s if scale is None else np.where(m, s, scale)
    return value, scale


# ------------------------------------------------------------------------------- kinks
def _switches(expr: Expr) -> tuple[list[Expr], list[float]]:
    """Where f may have a kink: expressions whose zeros are ties/abs zeros, and the
    piecewise boundaries (constants)."""
    funcs, bounds = [], []
    for node, _ in walk(expr):
        if isinstance(node, Call) and node.fn == "abs":
            funcs.append(node.args[0])
        elif isinstance(node, Call) and node.fn in ("max", "min"):
            funcs.append(Sum((("+", node.args[0]), ("-", node.args[1]))))
        elif isinstance(node, Piecewise):
            for iv, _ in node.pieces:
                if iv is not None:
                    bounds += [b for b in (iv.lo, iv.hi) if math.isfinite(b)]
    return funcs, bounds


def _merge(kinks: list[float]) -> list[float]:
    """Sorted kinks with those a few ulps apart (bisection or flushed subnormals) merged."""
    out: list[float] = []
    for k in sorted(set(kinks)):
        if out and abs(k - out[-1]) <= 4 * np.spacing(max(abs(k), abs(out[-1]))) + TINY:
            if abs(k) < abs(out[-1]):
                out[-1] = k
            continue
        out.append(k)
    return out


def _padded(fn: Callable[[Any], Any], zs: np.ndarray) -> np.ndarray:
    """fn (a jax function) at zs, padded to a power-of-two size so that jit reuses its
    compilation for the main points and for the few points at kinks."""
    import jax.numpy as jnp

    n = zs.size
    size = max(64, 1 << (n - 1).bit_length()) if n else 64
    padded = np.concatenate([zs, np.full(size - n, zs[-1] if n else 0.0)])
    return np.broadcast_to(np.asarray(fn(jnp.asarray(padded))), padded.shape)[:n]


def _roots(g: Callable[[np.ndarray], np.ndarray], zs: np.ndarray) -> list[float]:
    """Sign changes and isolated exact zeros of g over the sorted points, bisected."""
    v = g(zs)
    fin = np.isfinite(v)
    roots = list(zs[(v == 0) & fin])
    cross = fin[:-1] & fin[1:] & (np.sign(v[:-1]) * np.sign(v[1:]) < 0)
    a, b = zs[:-1][cross], zs[1:][cross]
    va = v[:-1][cross]
    for _ in range(64 if a.size else 0):
        mid = 0.5 * (a + b)
        vm = g(mid)
        left = np.sign(vm) == np.sign(va)
        a, va = np.where(left, mid, a), np.where(left, vm, va)
        b = np.where(left, b, mid)
    return roots + list(b)


# ------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class FormulaResult:
    """Outcome of check_formula; counterexamples are (z, claimed df, true d/dz f)."""

    f: str
    df: str
    params: dict[str, float]
    domain: tuple[float, float]
    matches: bool
    max_abs_err: float
    max_rel_err: float
    worst_z: float
    counterexamples: list[tuple[float, float, float]]
    mismatch_regions: list[tuple[float, float, int]]
    overflow: list[dict[str, Any]]
    kinks: list[dict[str, Any]]
    kinks_excluded: int
    n_points: int
    n_compared: int
    fd_max_ratio: float
    unsure: list[tuple[float, float, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tolerance: str = ""
    seed: int = 0

    @property
    def overflow_note(self) -> str:
        """One line per non-finite region of the user's formulas, or ''."""
        return "; ".join(
            f"{o['formula']} is {o['kind']} for z in [{o['z_lo']:g}, {o['z_hi']:g}] ({o['n']} pts)"
            for o in self.overflow
        )


def _runs(zs: np.ndarray, flag: np.ndarray) -> list[tuple[float, float, int]]:
    """Maximal runs of consecutive flagged points (zs sorted) as (z_lo, z_hi, count)."""
    out = []
    idx = np.flatnonzero(flag)
    if idx.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    for i, j in zip(starts, ends, strict=True):
        out.append((float(zs[i]), float(zs[j]), int(j - i + 1)))
    return out


def _points(lo: float, hi: float, bounds: list[float], seed: int) -> np.ndarray:
    grid = np.linspace(lo, hi, N_GRID)
    rand = np.random.default_rng(seed).uniform(lo, hi, N_RANDOM)
    top = max(abs(lo), abs(hi), 1.0)
    mags = 10.0 ** np.arange(-12, math.ceil(math.log10(top)) + 1)
    special = [0.0, lo, hi, *(mags), *(-mags), *(0.5 * mags), *(-0.5 * mags)]
    special += [np.nextafter(lo, hi), np.nextafter(hi, lo)]
    for b in bounds:
        scale = max(1.0, abs(b))
        special += [b, *(b + scale * d for d in (1e-12, 1e-9, 1e-6, 1e-3, -1e-12, -1e-9, -1e-6))]
        special += [b - 1e-3 * scale, np.nextafter(b, -np.inf), np.nextafter(b, np.inf)]
    pts = np.concatenate([grid, rand, np.asarray(special, dtype=np.float64)])
    return np.unique(pts[(pts >= lo) & (pts <= hi)])


def _validate_domain(domain: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise FormulaError(f"domain must be two numbers (lo, hi), got {domain!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise FormulaError(f"domain must be finite, got ({lo:g}, {hi:g})")
    if lo >= hi:
        raise FormulaError(f"domain needs lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


def check_formula(
    f: str,
    df: str,
    params: Mapping[str, float] | None = None,
    domain: tuple[float, float] = (-20.0, 20.0),
    *,
    seed: int = 0,
    max_counterexamples: int = 8,
) -> FormulaResult:
    """Check that ``df`` equals d/dz ``f`` over ``domain`` (see the module docstring).

    ``params`` names constants used in either formula (e.g. ``{"k": 0.01}``). Raises
    FormulaError (one line) on a formula or argument that is refused.
    """
    import jax

    lo, hi = _validate_domain(domain)
    params = check_params(params or {})
    ef, edf = parse(f, params), parse(df, params)
    with jax.enable_x64(True):
        return _check(f, df, ef, edf, params, lo, hi, seed, max_counterexamples)


def _check(
    f: str,
    df: str,
    ef: Expr,
    edf: Expr,
    params: dict[str, float],
    lo: float,
    hi: float,
    seed: int,
    max_ce: int,
) -> FormulaResult:
    import jax
    import jax.numpy as jnp

    F, DF = _np_fn(ef), _np_fn(edf)
    F_jax = to_jax(ef)
    grad = jax.jit(jax.grad(lambda z: jnp.sum(F_jax(z))))
    funcs, f_bounds = _switches(ef)
    _, df_bounds = _switches(edf)
    in_dom = [b for b in f_bounds + df_bounds if lo <= b <= hi]
    zs = _points(lo, hi, in_dom, seed)

    kinks = [b for b in f_bounds if lo <= b <= hi]
    for g in funcs:
        kinks += _roots(_np_fn(g), zs)
    kinks = _merge(kinks)
    notes = [
        n
        for e in (ef, edf)
        for node, _ in walk(e)
        if isinstance(node, Piecewise)
        for n in node.notes
    ]
    if len(kinks) > MAX_KINKS:
        notes.append(f"{len(kinks)} kinks found; the first {MAX_KINKS} are examined")
        kinks = kinks[:MAX_KINKS]
    if kinks:
        kinks_arr = np.asarray(kinks)
        extra = np.concatenate(
            [kinks_arr + d * np.maximum(1.0, np.abs(kinks_arr)) for d in (-1e-9, 1e-9, -1e-6, 1e-6)]
        )
        zs = np.unique(np.concatenate([zs, extra[(extra >= lo) & (extra <= hi)]]))

    h = np.cbrt(EPS) * np.maximum(1.0, np.abs(zs))
    zp, zm = zs + h, zs - h
    fv, dv, gv = F(zs), DF(zs), _padded(grad, zs)
    s_df, s_f = _np_scale(edf)(zs), _np_scale(ef)(zs)
    with np.errstate(all="ignore"):
        fd = (F(zp) - F(zm)) / (zp - zm)
        # The step-2h difference estimates the truncation error of the step-h one.
        fd2 = (F(zs + 2 * h) - F(zs - 2 * h)) / ((zs + 2 * h) - (zs - 2 * h))
        ds_f = np.abs(_np_scale(ef)(zp) - _np_scale(ef)(zm)) / (zp - zm)

    # Points at a kink (to rounding) are judged by the one-sided derivatives below.
    if kinks:
        idx = np.searchsorted(kinks_arr, zs)
        below = kinks_arr[np.clip(idx - 1, 0, len(kinks) - 1)]
        above = kinks_arr[np.clip(idx, 0, len(kinks) - 1)]
        near = np.minimum(np.abs(zs - below), np.abs(zs - above))
        at_kink = near <= 4 * np.spacing(np.abs(zs)) + TINY
        fd_window = near <= 2.5 * h
    else:
        at_kink = fd_window = np.zeros(zs.shape, bool)

    overflow = []
    for name, vals in (("f", fv), ("df", dv), ("d/dz f (jax.grad of f)", gv)):
        for kind, flag in (
            ("+inf", vals == np.inf),
            ("-inf", vals == -np.inf),
            ("nan", np.isnan(vals)),
        ):
            for a, b, n in _runs(zs, flag):
                overflow.append({"formula": name, "kind": kind, "z_lo": a, "z_hi": b, "n": n})
    finite = np.isfinite(fv) & np.isfinite(dv) & np.isfinite(gv)
    scale_ok = np.isfinite(s_df) & np.isfinite(ds_f)
    for a, b, n in _runs(zs, finite & ~scale_ok):
        notes.append(
            f"intermediate overflow for z in [{a:g}, {b:g}] ({n} pts): values are finite "
            "but compared with a relative tolerance only"
        )
    compare = finite & ~at_kink
    err = np.abs(dv - gv)
    with np.errstate(all="ignore"):
        s_tot = np.where(scale_ok, s_df + ds_f, np.abs(dv)) + np.abs(gv)
        tol = RTOL * np.abs(gv) + K_ROUND * EPS * s_tot + 1e-300
        ratio = np.where(compare, err / tol, 0.0)
        rel = np.where(compare & (gv != 0), err / np.abs(gv), 0.0)
        fd_dev = np.abs(fd - gv)
        fd_noise = 64 * EPS * np.nan_to_num(s_f, nan=np.inf) / h
        fd_tol = 1e-5 * (
            np.maximum(np.abs(gv), np.abs(fd)) + np.abs(fv) / np.maximum(1.0, np.abs(zs))
        )
        fd_tol = fd_tol + fd_noise + 2 * np.abs(fd2 - fd) + 1e-300
        fd_check = compare & ~fd_window & np.isfinite(fd) & np.isfinite(fd2)
        fd_bad = fd_check & (fd_dev > fd_tol)
        fd_ratio = np.where(fd_check, fd_dev / fd_tol, 0.0)
    bad = compare & (err > tol)
    # Where jax.grad and finite differences disagree and df sides with the differences,
    # neither verdict is safe: list the point instead of calling it wrong.
    unsure_mask = bad & fd_bad & (np.abs(dv - fd) <= fd_tol)
    wrong = bad & ~unsure_mask
    if fd_bad.any():
        notes.append(
            f"jax.grad and finite differences disagree at {int(fd_bad.sum())} point(s), "
            f"e.g. z = {zs[np.argmax(np.where(fd_bad, fd_dev / fd_tol, 0))]:g}"
        )

    kink_rows, kink_wrong = _kinks(kinks, F, DF, grad, lo, hi)
    ce_idx = _spread(np.flatnonzero(wrong), ratio, max_ce)
    counterexamples = [(float(zs[i]), float(dv[i]), float(gv[i])) for i in ce_idx]
    counterexamples += kink_wrong[: max(0, max_ce - len(counterexamples))]
    judged = compare & ~unsure_mask
    ratio = np.where(judged, ratio, 0.0)
    worst = int(np.argmax(ratio)) if judged.any() else 0
    n_compared = int(compare.sum())
    if n_compared == 0:
        notes.append("nothing could be compared: the formulas are not finite on the domain")
    return FormulaResult(
        f=f,
        df=df,
        params=dict(params),
        domain=(lo, hi),
        matches=bool(n_compared > 0 and not wrong.any() and not kink_wrong),
        max_abs_err=float(err[judged].max()) if judged.any() else math.nan,
        max_rel_err=float(rel[judged].max()) if judged.any() else math.nan,
        worst_z=float(zs[worst]) if n_compared else math.nan,
        counterexamples=counterexamples,
        mismatch_regions=_runs(zs, wrong)[:20],
        overflow=overflow,
        kinks=kink_rows,
        kinks_excluded=int((at_kink & finite).sum()),
        n_points=int(zs.size),
        n_compared=n_compared,
        fd_max_ratio=float(fd_ratio.max()) if fd_check.any() else math.nan,
        unsure=[
            (float(zs[i]), float(dv[i]), float(gv[i]), float(fd[i]))
            for i in np.flatnonzero(unsure_mask)[:20]
        ],
        notes=notes,
        tolerance=f"|df - f'| <= {RTOL:g}|f'| + {K_ROUND:g} eps (rounding bound of df and f')",
        seed=seed,
    )


def _spread(idx: np.ndarray, ratio: np.ndarray, n: int) -> list[int]:
    """The worst failing point plus points spread evenly over the failing set."""
    if idx.size == 0:
        return []
    worst = int(idx[np.argmax(ratio[idx])])
    picks = idx[np.linspace(0, idx.size - 1, min(n, idx.size)).round().astype(int)]
    out = [worst] + [int(i) for i in picks if i != worst]
    return sorted(dict.fromkeys(out[:n]))


def _kinks(
    kinks: list[float], F: Callable, DF: Callable, grad: Callable, lo: float, hi: float
) -> tuple[list[dict[str, Any]], list[tuple[float, float, float]]]:
    """One-sided derivatives at each kink; df between them is a convention, outside is wrong."""
    if not kinks:
        return [], []
    k = np.asarray(kinks)
    d = 1e-9 * np.maximum(1.0, np.abs(k))
    left, right = _padded(grad, np.maximum(k - d, lo)), _padded(grad, np.minimum(k + d, hi))
    claimed = DF(k)
    f_l, f_r = F(k - d), F(k + d)
    rows, wrong = [], []
    for i, kz in enumerate(kinks):
        lft, rgt, c = float(left[i]), float(right[i]), float(claimed[i])
        scale = abs(lft) + abs(rgt)
        tol = 1e-6 * scale + 1e-12
        jump = abs(float(f_l[i]) - float(f_r[i])) > 1e-6 * (1 + abs(float(f_l[i])))
        if jump:
            verdict = "f jumps here: its derivative is undefined, df is not judged"
        elif not (math.isfinite(lft) and math.isfinite(rgt)):
            verdict = "undefined (one-sided derivative not finite)"
        elif not math.isfinite(c):
            verdict = "df not finite at the kink"
        elif min(lft, rgt) - tol <= c <= max(lft, rgt) + tol:
            if abs(lft - rgt) <= tol:
                verdict = "smooth here"
            elif abs(c - lft) <= tol:
                verdict = "convention: left derivative"
            elif abs(c - rgt) <= tol:
                verdict = "convention: right derivative"
            else:
                verdict = "convention: between the one-sided derivatives"
        else:
            verdict = "wrong: df is outside the one-sided derivatives"
            wrong.append((float(kz), c, lft if abs(c - lft) < abs(c - rgt) else rgt))
        if verdict == "smooth here":
            continue
        rows.append(
            {
                "z": float(kz),
                "left": lft,
                "right": rgt,
                "claimed": c,
                "f_jumps": bool(jump),
                "verdict": verdict,
            }
        )
    return rows, wrong
