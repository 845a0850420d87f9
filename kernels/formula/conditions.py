"""Conditions of piecewise pieces as unions of intervals, and the checks on the pieces.

A condition compares z or |z| with constants (``-1 <= z <= 1``, ``|z| < 5``, ``z != 0``),
joined by ``and`` / ``or``. Every condition becomes a union of intervals, so that the parser
can tell which part of the real line no piece covers and which pieces overlap.
"""

from __future__ import annotations

import math

from kernels.formula.tree import (
    Call,
    Cond,
    Expr,
    FormulaError,
    Interval,
    Piecewise,
    Var,
    fmt,
    has_var,
)

__all__ = ["bound", "cond_and", "cond_or", "make_piecewise", "uncovered"]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ALL = Interval(-math.inf, math.inf, False, False)


def _intersect(a: Interval, b: Interval) -> Interval:
    if b.lo > a.lo or (b.lo == a.lo and not b.lo_closed):
        lo, lo_closed = b.lo, b.lo_closed
    else:
        lo, lo_closed = a.lo, a.lo_closed
    if b.hi < a.hi or (b.hi == a.hi and not b.hi_closed):
        hi, hi_closed = b.hi, b.hi_closed
    else:
        hi, hi_closed = a.hi, a.hi_closed
    return Interval(lo, hi, lo_closed, hi_closed)


def cond_and(a: Cond, b: Cond) -> Cond:
    """The intersection of two unions of intervals.

    Args: a, b: unions of intervals. Returns a ∩ b.
    """
    return tuple(iv for x in a for y in b if not (iv := _intersect(x, y)).empty())


def cond_or(a: Cond, b: Cond) -> Cond:
    """The union of two unions of intervals.

    Args: a, b: unions of intervals. Returns a ∪ b.
    """
    return a + b


def _on_z(op: str, c: float) -> Cond:
    fin = math.isfinite(c)
    if op in ("<", "<="):
        return (Interval(-math.inf, c, False, op == "<=" and fin),)
    if op in (">", ">="):
        return (Interval(c, math.inf, op == ">=" and fin, False),)
    if op == "==":
        return (Interval(c, c, True, True),) if fin else ()
    return (Interval(-math.inf, c, False, False), Interval(c, math.inf, False, False))


def _on_abs(op: str, c: float) -> Cond:
    """|z| op c as a union on z."""
    if op in ("<", "<="):
        if c < 0 or (c == 0 and op == "<"):
            return ()
        return (Interval(-c, c, op == "<=", op == "<="),)
    if op in (">", ">="):
        if c < 0 or (c == 0 and op == ">="):
            return (_ALL,)
        closed = op == ">="
        return (Interval(-math.inf, -c, False, closed), Interval(c, math.inf, closed, False))
    if op == "==":
        return _on_z("==", -c) + _on_z("==", c) if c >= 0 else ()
    return _on_z("!=", -c) if c == 0 else cond_and(_on_z("!=", -c), _on_z("!=", c))


def _is_abs_z(e: Expr) -> bool:
    return isinstance(e, Call) and e.fn == "abs" and isinstance(e.args[0], Var)


def bound(left: Expr, op: str, right: Expr, value: callable) -> Cond:
    """The set of z where ``left op right`` holds; one side must be z or |z|, the other a
    constant (``value`` computes it).

    Args: left, right: trees; op: a comparison; value: constant evaluator. Returns
    the union of intervals of z where it holds.
    """
    lz, rz = has_var(left), has_var(right)
    ok = lambda e: isinstance(e, Var) or _is_abs_z(e)  # noqa: E731
    if lz == rz or (lz and not ok(left)) or (rz and not ok(right)):
        raise FormulaError(
            "conditions must compare z or |z| with constants, like -1 <= z <= 1 or |z| < 5"
        )
    if rz:
        left, right, op = right, left, _FLIP[op]
    c = value(right)
    if math.isnan(c):
        raise FormulaError("a condition's bound is not a number (nan)")
    return _on_abs(op, c) if _is_abs_z(left) else _on_z(op, c)


def uncovered(intervals: list[Interval]) -> Interval | None:
    """The leftmost part of the real line no interval covers, or None.

    Args: intervals. Returns the first gap, or None.
    """
    pos, pos_covered = -math.inf, False  # covered up to pos; pos itself covered?
    for iv in sorted(
        (iv for iv in intervals if not iv.empty()), key=lambda v: (v.lo, not v.lo_closed)
    ):
        if iv.lo > pos:
            return Interval(pos, iv.lo, not pos_covered and math.isfinite(pos), not iv.lo_closed)
        if iv.lo == pos and not pos_covered and not iv.lo_closed and math.isfinite(pos):
            return Interval(pos, pos, True, True)
        if iv.hi > pos or (iv.hi == pos and iv.hi_closed):
            pos, pos_covered = iv.hi, iv.hi_closed or (iv.hi == pos and pos_covered)
    if pos < math.inf:
        return Interval(pos, math.inf, not pos_covered, False)
    return None


def _describe(cond: Cond) -> str:
    return " or ".join(iv.describe() for iv in cond)


def make_piecewise(pieces: list[tuple[Cond | None, Expr]]) -> Piecewise:
    """Check and build a piecewise form: 'otherwise' last, no empty condition, the real
    line covered; overlaps are allowed (first match wins) and noted.

    Args: pieces: (condition or None, tree). Returns the Piecewise node.
    """
    for n, (cond, _) in enumerate(pieces[:-1], start=1):
        if cond is None:
            raise FormulaError(f"'otherwise' must close the piecewise form (piece {n} has it)")
    for n, (cond, _) in enumerate(pieces, start=1):
        if cond is not None and not cond:
            raise FormulaError(f"piece {n}'s condition is empty: no z satisfies it")
    if pieces[-1][0] is not None:
        gap = uncovered([iv for cond, _ in pieces for iv in cond])
        if gap is not None:
            raise FormulaError(
                f"{gap.describe()} is not covered by any piece: add it or an 'otherwise' piece"
            )
    notes = []
    conds = [c for c, _ in pieces if c is not None]
    for i, a in enumerate(conds):
        for j in range(i + 1, len(conds)):
            both = cond_and(a, conds[j])
            if both:
                notes.append(
                    f"pieces {i + 1} and {j + 1} overlap on {_describe(both)}: "
                    f"piece {i + 1} is used there (first match wins)"
                )
    return Piecewise(tuple(pieces), tuple(notes))


def bounds_of(cond: Cond) -> list[float]:
    """The finite interval ends of a condition (where f may have a kink).

    Args: cond: a union of intervals. Returns its finite ends.
    """
    return [b for iv in cond for b in (iv.lo, iv.hi) if math.isfinite(b)]


__all__ += ["bounds_of", "fmt"]
