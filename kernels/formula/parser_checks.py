"""Token-level refusals and the 'where' constraint check of the formula parser."""

from __future__ import annotations

from collections.abc import Mapping

from kernels.formula.lexer import OPERATORS, Tok
from kernels.formula.lower import const_value
from kernels.formula.tree import Expr, FormulaError, Num, Param, has_var, walk

__all__ = ["REFUSED_WORDS", "check_constraint", "refuse_token"]

REFUSED_WORDS = {
    "lambda": "lambdas are not allowed",
    "in": "comprehensions are not allowed",
    "import": "imports are not allowed",
    "not": "'not' is not supported: write the complementary condition",
    "is": "'is' is not supported: use == or !=",
    "def": "definitions are not allowed",
    "class": "classes are not allowed",
}
_ACCEPTED = "use numbers, z, function names, + - * / ^ ( ) [ ] | , ; and comparisons"


def refuse_token(tok: Tok, prev: Tok | None, keywords: tuple[str, ...]) -> None:
    """FormulaError (one line, with the position) for a token the grammar never accepts.

    Args: tok, prev: this and the previous token; keywords. Returns None.
    """
    where = f"at position {tok.pos + 1}"
    if tok.kind == "op":
        if tok.text in ("'", '"'):
            raise FormulaError(f"strings are not allowed ({tok.text} {where}); {_ACCEPTED}")
        if tok.text == ".":
            raise FormulaError(f"attribute access is not allowed ('.' {where}); {_ACCEPTED}")
        if tok.text not in OPERATORS:
            raise FormulaError(f"unexpected character {tok.text!r} {where}; {_ACCEPTED}")
        if (
            tok.text == "["
            and prev is not None
            and (
                (prev.kind == "name" and prev.text not in keywords)
                or prev.kind == "num"
                or prev.text in (")", "]")
            )
        ):
            raise FormulaError(
                f"subscripts are not allowed ('[' {where}); write * or ( ) to multiply"
            )
    if tok.kind == "name" and tok.text in REFUSED_WORDS:
        raise FormulaError(f"{REFUSED_WORDS[tok.text]} ({tok.text!r} {where})")


def _show(expr: Expr) -> str:
    if isinstance(expr, Param):
        return expr.name
    if isinstance(expr, Num):
        return f"{expr.value:g}"
    return "the expression"


def check_constraint(cmp: tuple[Expr, str, Expr], params: Mapping[str, float]) -> None:
    """A 'where' clause comparison of parameters; FormulaError when it does not hold.

    Args: cmp: (left, op, right); params: their values. Returns None.
    """
    left, op, right = cmp
    if has_var(left) or has_var(right):
        raise FormulaError("a 'where' clause may only constrain parameters, not z")
    a, b = const_value(left), const_value(right)
    ok = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    if not ok:
        names = {n.name for side in (left, right) for n, _ in walk(side) if isinstance(n, Param)}
        values = ", ".join(f"{n} = {v:g}" for n, v in sorted(params.items()) if n in names)
        raise FormulaError(
            f"the formula requires {_show(left)} {op} {_show(right)}, but {values or 'not'}"
        )
