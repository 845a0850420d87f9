"""The closed expression tree a formula parses into, and plain walks over it.

Nodes are frozen dataclasses; nothing in a tree can name a Python object. ``Where`` is never
written by a user: the symbolic derivative uses it for the derivative of max, min, relu and
clip (``pos`` where ``lhs > rhs``, ``other`` elsewhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Call",
    "Cond",
    "Expr",
    "FormulaError",
    "Interval",
    "Neg",
    "Num",
    "Param",
    "Piecewise",
    "Pow",
    "Prod",
    "Sum",
    "Var",
    "Where",
    "children",
    "fmt",
    "has_var",
    "walk",
]


class FormulaError(ValueError):
    """A formula that cannot be parsed or is refused; the message is one line."""


@dataclass(frozen=True)
class Num:
    """A constant; ``name`` is "pi" or "e" for the exact constant (high-precision oracle)."""

    value: float
    name: str = ""


@dataclass(frozen=True)
class Var:
    """The variable z."""


@dataclass(frozen=True)
class Param:
    """A named parameter with its value."""

    name: str
    value: float


@dataclass(frozen=True)
class Neg:
    """-arg."""

    arg: Expr


@dataclass(frozen=True)
class Sum:
    """terms[0] + or - terms[1] ..., folded left to right; each term is ('+' | '-', expr)."""

    terms: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class Prod:
    """Factors ('*' | '/', expr) folded left to right; the first op is '*'."""

    factors: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class Pow:
    """base ^ exponent."""

    base: Expr
    exponent: Expr


@dataclass(frozen=True)
class Call:
    """fn(args...) for a function of `kernels.formula.functions`."""

    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Where:
    """pos where lhs > rhs, other elsewhere (only built by the symbolic derivative).

    A comparison, not the sign of lhs - rhs: a difference of two tiny numbers can be
    subnormal, which XLA on CPU flushes to 0.
    """

    lhs: Expr
    rhs: Expr
    pos: Expr
    other: Expr


@dataclass(frozen=True)
class Interval:
    """lo <(=) z <(=) hi; infinite ends are open."""

    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool

    def empty(self) -> bool:
        """True when no real z lies in the interval."""
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def describe(self) -> str:
        """The interval in words, e.g. 'z in [0, 1)' or 'z = 2'."""
        if self.lo == self.hi:
            return f"z = {fmt(self.lo)}"
        left = "[" if self.lo_closed else "("
        right = "]" if self.hi_closed else ")"
        return f"z in {left}{fmt(self.lo)}, {fmt(self.hi)}{right}"


Cond = tuple[Interval, ...]  # a union of intervals


@dataclass(frozen=True)
class Piecewise:
    """Pieces (condition or None for 'otherwise', expression); the first match is used."""

    pieces: tuple[tuple[Cond | None, Expr], ...]
    notes: tuple[str, ...] = ()


Expr = Num | Var | Param | Neg | Sum | Prod | Pow | Call | Where | Piecewise


def fmt(v: float) -> str:
    """A bound as text: 'inf', '-inf' or %g.

    Args: v: a bound. Returns its text.
    """
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node.

    Args: expr: a node. Returns its sub-trees.
    """
    if isinstance(expr, Neg):
        return (expr.arg,)
    if isinstance(expr, Sum):
        return tuple(e for _, e in expr.terms)
    if isinstance(expr, Prod):
        return tuple(e for _, e in expr.factors)
    if isinstance(expr, Pow):
        return (expr.base, expr.exponent)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Where):
        return (expr.lhs, expr.rhs, expr.pos, expr.other)
    if isinstance(expr, Piecewise):
        return tuple(e for _, e in expr.pieces)
    return ()


def walk(expr: Expr) -> list[tuple[Expr, int]]:
    """Every node with its depth (root 1), without recursion.

    Args: expr: a tree. Returns [(node, depth)].
    """
    out, stack = [], [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        out.append((node, depth))
        stack.extend((c, depth + 1) for c in children(node))
    return out


def has_var(expr: Expr) -> bool:
    """True when the expression depends on z.

    Args: expr: a tree. Returns whether z occurs in it.
    """
    return any(isinstance(n, Var | Piecewise) for n, _ in walk(expr))
