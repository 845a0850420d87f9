"""One claimed derivative judged against the exact one: kinks first, then every point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.checks.formula_oracle import RTOL, compare, mp_values, one_sided
from analysis.checks.formula_points import runs
from kernels.formula.tree import Expr

__all__ = ["Judgement", "judge"]

KINK_TOL = 1e-12


@dataclass(frozen=True)
class Judgement:
    """Verdict on one claimed derivative; counterexamples are (z, claimed, true)."""

    matches: bool
    max_abs_err: float
    max_rel_err: float
    worst_z: float
    counterexamples: list[tuple[float, float, float]]
    mismatch_regions: list[tuple[float, float, int]]
    kinks: list[dict[str, Any]]
    kinks_excluded: int
    n_compared: int
    unsure: list[tuple[float, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    claimed64: Any = None  # the claim's high-precision values, rounded (safety report)
    true64: Any = None  # the exact derivative's values, rounded (cross-checks)
    compared: Any = None  # mask of the points judged


def _close(a: Any, b: Any) -> bool:
    """Equal to 1e-12 relative, or to 1e-20 absolute: the one-sided points are 1e-30 away."""
    return a == b or abs(a - b) <= KINK_TOL * max(abs(a), abs(b)) + 1e-20


def _kink_row(z: float, lft: Any, rgt: Any, c: Any, jump: bool) -> tuple[str, bool]:
    """(verdict, wrong) for the claimed value ``c`` at a kink with one-sided limits."""
    import mpmath

    if jump:
        return "f jumps here: its derivative is undefined, df is not judged", False
    if not (mpmath.isfinite(lft) and mpmath.isfinite(rgt)):
        return "undefined (one-sided derivative not finite)", False
    if not mpmath.isfinite(c):
        return "df not finite at the kink", False
    lo, hi = min(lft, rgt), max(lft, rgt)
    tol = KINK_TOL * (abs(lo) + abs(hi))
    if not (lo - tol <= c <= hi + tol):
        return "wrong: df is outside the one-sided derivatives", True
    if _close(c, lft):
        return "convention: left derivative", False
    if _close(c, rgt):
        return "convention: right derivative", False
    return "convention: between the one-sided derivatives", False


def _kinks(claimed: Expr, true: Expr, prim: Expr, ks: list[float]):
    """Rows for real kinks, the points to skip, and the wrong ones (z, claimed, nearer side)."""
    if not ks:
        return [], set(), []
    left, _, right = one_sided(true, ks)
    pl, pm, pr = one_sided(prim, ks)
    claimed_at = mp_values(claimed, np.asarray(ks))
    rows, skip, wrong = [], set(), []
    for i, k in enumerate(ks):
        jump = not (_close(pl[i], pm[i]) and _close(pm[i], pr[i]))
        if not jump and _close(left[i], right[i]):
            continue  # smooth here: judged like any other point
        verdict, bad = _kink_row(k, left[i], right[i], claimed_at[i], jump)
        lft, rgt, c = float(left[i]), float(right[i]), float(claimed_at[i])
        skip.add(k)
        rows.append(
            {"z": k, "left": lft, "right": rgt, "claimed": c, "f_jumps": jump, "verdict": verdict}
        )
        if bad:
            wrong.append((k, c, lft if abs(c - lft) < abs(c - rgt) else rgt))
    return rows, skip, wrong


def _spread(idx: np.ndarray, score: np.ndarray, n: int) -> list[int]:
    """The worst failing point plus points spread evenly over the failing set."""
    if idx.size == 0:
        return []
    worst = int(idx[np.argmax(score[idx])])
    picks = idx[np.linspace(0, idx.size - 1, min(n, idx.size)).round().astype(int)]
    out = [worst] + [int(i) for i in picks if i != worst]
    return sorted(dict.fromkeys(out[:n]))


def judge(
    claimed: Expr,
    true: Expr,
    prim: Expr,
    zs: np.ndarray,
    defined: np.ndarray,
    ks: list[float],
    values: tuple[list[Any], list[Any]],
    max_ce: int = 8,
) -> Judgement:
    """Is ``claimed`` == ``true`` (= d/dz ``prim``) at every point where prim is defined?

    Rule: |claimed - true| <= 1e-12 |true| (absolute where true = 0), kinks by one-sided limits.
    Args: claimed, true, prim: trees; zs: (N,) test points; defined: (N,) bool, prim finite;
    ks: kink candidates; values: the 50-digit values of claimed and true at ``zs`` (N each);
    max_ce: counterexamples kept. Returns a Judgement.
    """
    rows, skip_set, kink_wrong = _kinks(claimed, true, prim, ks)
    skip = np.isin(zs, np.asarray(sorted(skip_set))) if skip_set else np.zeros(zs.size, bool)
    cmp = compare((claimed, true), values, zs, defined, skip)
    judged = cmp.compared & ~cmp.unsure
    err = np.where(judged, np.abs(cmp.claimed64 - cmp.true64), 0.0)
    err = np.where(np.isnan(err), np.inf, err)
    rel = np.where(judged, cmp.rel, 0.0)
    ce = [
        (float(zs[i]), float(cmp.claimed64[i]), float(cmp.true64[i]))
        for i in _spread(np.flatnonzero(cmp.wrong), rel, max_ce)
    ]
    ce += kink_wrong[: max(0, max_ce - len(ce))]
    n_compared = int(cmp.compared.sum())
    notes = list(cmp.notes)
    if n_compared == 0:
        notes.append("nothing could be compared: f or f' is not finite on the domain")
    worst = int(np.argmax(rel)) if judged.any() else 0
    return Judgement(
        matches=bool(n_compared > 0 and not cmp.wrong.any() and not kink_wrong),
        max_abs_err=float(err[judged].max()) if judged.any() else math.nan,
        max_rel_err=float(rel[judged].max()) if judged.any() else math.nan,
        worst_z=float(zs[worst]) if judged.any() else math.nan,
        counterexamples=ce,
        mismatch_regions=runs(zs, cmp.wrong)[:20],
        kinks=rows,
        kinks_excluded=int(skip.sum()),
        n_compared=n_compared,
        unsure=[
            (float(zs[i]), float(cmp.claimed64[i]), float(cmp.true64[i]))
            for i in np.flatnonzero(cmp.unsure)[:20]
        ],
        notes=notes,
        claimed64=cmp.claimed64,
        true64=cmp.true64,
        compared=judged,
    )


TOLERANCE = (
    f"|df - f'| <= {RTOL:g} |f'| (absolute where f' = 0), both evaluated with 50+ digits "
    "(mpmath), disagreements re-checked at up to 800 digits"
)
__all__ += ["TOLERANCE"]
