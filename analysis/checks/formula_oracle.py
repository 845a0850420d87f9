"""The exact oracle: a claimed derivative against the symbolic one, in >= 50 digits.

Both trees are evaluated with mpmath at every test point. A point agrees when
``|claimed - true| <= RTOL |true|`` (``<= ATOL`` where the true value is exactly 0).
Points that disagree are re-evaluated at 120, 300 and 800 digits until both values are
settled (they change by less than 1e-20 relative between two precisions), so that
cancellation inside a formula at 50 digits can never produce a verdict. A point whose
values never settle is listed as unsure, not called wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kernels.formula import MpBackend, compile_tree
from kernels.formula.lower import compile_many
from kernels.formula.tree import Expr

__all__ = [
    "ATOL",
    "DPS",
    "RTOL",
    "Comparison",
    "compare",
    "mp_values",
    "mp_values_many",
    "one_sided",
]

DPS = 50
LEVELS = (120, 300, 800)
RTOL = 1e-12
ATOL = 1e-12
SETTLED = 1e-20
MAX_REFINE = 300


def mp_values_many(exprs: list[Expr], zs: np.ndarray, dps: int = DPS) -> list[list[Any]]:
    """Each tree at every z with ``dps`` significant digits (NaN where undefined); trees are
    evaluated together, so a sub-expression they share is computed once per point.

    Args: exprs: K trees; zs: (N,) float64 points; dps: digits. Returns K lists of N mpf.
    """
    import mpmath

    with mpmath.workdps(dps):
        fn = compile_many(exprs, MpBackend(mpmath.mp))
        nan = [mpmath.mp.nan] * len(exprs)
        out = []
        for z in zs:
            try:
                out.append([+v for v in fn(mpmath.mpf(float(z)))])
            except (ArithmeticError, ValueError):
                out.append(_one_by_one(exprs, z, nan))
    return [list(col) for col in zip(*out, strict=True)] if out else [[] for _ in exprs]


def _one_by_one(exprs: list[Expr], z: float, nan: list[Any]) -> list[Any]:
    """Values at one point where some tree raised: the others keep theirs."""
    import mpmath

    vals = list(nan)
    for i, e in enumerate(exprs):
        try:
            vals[i] = +compile_tree(e, MpBackend(mpmath.mp))(mpmath.mpf(float(z)))
        except (ArithmeticError, ValueError):
            pass
    return vals


def mp_values(expr: Expr, zs: np.ndarray, dps: int = DPS) -> list[Any]:
    """``expr`` at every z with ``dps`` significant digits (NaN where undefined).

    Args: expr: a tree; zs: (N,) points; dps: digits. Returns a list of N mpf values.
    """
    return mp_values_many([expr], zs, dps)[0]


def _finite(v: Any) -> bool:
    import mpmath

    return bool(mpmath.isfinite(v))


def _rel(claimed: Any, true: Any) -> float:
    """|claimed - true| / |true| (absolute where true == 0); inf where claimed is undefined."""
    if not _finite(claimed):
        return math.inf
    diff = abs(claimed - true)
    return float(diff if true == 0 else diff / abs(true))


def _bad(rel: float, true: Any) -> bool:
    return rel > (ATOL if true == 0 else RTOL)


def _settled(a: Any, b: Any) -> bool:
    if not (_finite(a) and _finite(b)):
        return (not _finite(a)) and (not _finite(b))
    return a == b or abs(a - b) <= SETTLED * max(abs(a), abs(b))


def _refine(exprs: tuple[Expr, Expr], z: float, first: tuple[Any, Any]) -> tuple[Any, Any, bool]:
    """(claimed, true, settled) at higher precision until both values stop changing."""
    prev = first
    for dps in LEVELS:
        cur = tuple(col[0] for col in mp_values_many(list(exprs), np.asarray([z]), dps))
        if _settled(prev[0], cur[0]) and _settled(prev[1], cur[1]):
            return cur[0], cur[1], True
        prev = cur
    return prev[0], prev[1], False


@dataclass
class Comparison:
    """Per-point outcome of claimed vs true: rel error, wrong, unsure, compared masks."""

    rel: np.ndarray
    wrong: np.ndarray
    unsure: np.ndarray
    compared: np.ndarray
    true64: np.ndarray
    claimed64: np.ndarray
    notes: list[str] = field(default_factory=list)


def compare(
    exprs: tuple[Expr, Expr],
    values: tuple[list[Any], list[Any]],
    zs: np.ndarray,
    defined: np.ndarray,
    skip: np.ndarray,
) -> Comparison:
    """Claimed vs true (trees and their 50-digit values) at every z where ``defined`` (f is
    finite) and not ``skip`` (a kink); disagreements are refined (module docstring).

    Args: exprs: (claimed, true); values: their (N,) mpf values; zs: (N,) points;
    defined, skip: (N,) bool. Returns a Comparison of (N,) arrays.
    """
    claimed, true = exprs
    cv, tv = list(values[0]), list(values[1])
    n = zs.size
    rel = np.zeros(n)
    compared = np.zeros(n, bool)
    flagged = []
    for i in range(n):
        if not defined[i] or skip[i]:
            continue
        if not _finite(tv[i]):
            continue  # f' undefined here (a pole, or outside the domain of a function)
        compared[i] = True
        rel[i] = _rel(cv[i], tv[i])
        if _bad(rel[i], tv[i]):
            flagged.append(i)
    wrong, unsure = np.zeros(n, bool), np.zeros(n, bool)
    notes: list[str] = []
    picks = flagged
    if len(flagged) > MAX_REFINE:
        picks = [flagged[int(j)] for j in np.linspace(0, len(flagged) - 1, MAX_REFINE)]
    changed = _settle(picks, (claimed, true), zs, cv, tv, rel, compared, wrong, unsure)
    if len(picks) < len(flagged):
        if changed:
            rest = sorted(set(flagged) - set(picks))
            _settle(rest, (claimed, true), zs, cv, tv, rel, compared, wrong, unsure)
        else:
            rest = [i for i in flagged if compared[i]]
            wrong[rest] = True
            notes.append(
                f"{len(flagged)} points disagree at {DPS} digits; {len(picks)} of them, "
                f"spread evenly, were confirmed at up to {LEVELS[-1]} digits"
            )
    to64 = lambda vs: np.asarray([float(v) for v in vs])  # noqa: E731
    return Comparison(rel, wrong, unsure, compared, to64(tv), to64(cv), notes)


def _settle(idx, exprs, zs, cv, tv, rel, compared, wrong, unsure) -> bool:
    """Refine the points ``idx`` in place; True when any verdict changed from 50 digits."""
    changed = False
    for i in idx:
        c, t, ok = _refine(exprs, float(zs[i]), (cv[i], tv[i]))
        cv[i], tv[i] = c, t
        if not _finite(t):
            compared[i], wrong[i] = False, False
            changed = True
            continue
        compared[i] = True
        rel[i] = _rel(c, t)
        bad = _bad(rel[i], t)
        wrong[i] = bad and ok
        unsure[i] = bad and not ok
        changed |= not bad or not ok
    return changed


def one_sided(expr: Expr, ks: list[float]) -> tuple[list[Any], list[Any], list[Any]]:
    """``expr`` just left of, at, and just right of each point: expr(k -+ 1e-30 max(1, |k|)).

    Args: expr: a tree; ks: K points. Returns (left, at, right), K mpf values each.
    """
    k = np.asarray(ks, dtype=np.float64)
    import mpmath

    with mpmath.workdps(DPS):
        d = [mpmath.mpf("1e-30") * max(1, abs(float(x))) for x in k]
        fn = compile_tree(expr, MpBackend(mpmath.mp))

        def at(values):
            out = []
            for v in values:
                try:
                    out.append(+fn(v))
                except (ArithmeticError, ValueError):
                    out.append(mpmath.mp.nan)
            return out

        zs = [mpmath.mpf(float(x)) for x in k]
        left = at([z - e for z, e in zip(zs, d, strict=True)])
        right = at([z + e for z, e in zip(zs, d, strict=True)])
        mid = at(zs)
    return left, mid, right
