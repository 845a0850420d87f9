"""Function calls in the formula parser: f(a, b), f^2(z), f^-1 z, and f z without brackets."""

from __future__ import annotations

from typing import Any

from kernels.formula.functions import ALIASES, ARITY, FUNCTION_NAMES
from kernels.formula.lexer import Tok
from kernels.formula.tree import Call, Expr, FormulaError, Num, Pow, Prod

__all__ = ["call"]


def _power_prefix(p: Any, fn: str, inverse: dict[str, str]) -> tuple[str, Expr | None]:
    """``fn^n`` (the power of the value) or ``fn^-1`` (the inverse function)."""
    if not p.at("^", "**"):
        return fn, None
    p.take()
    if p.at("-") and p.toks[p.i + 1].text == "1" and fn in inverse:
        p.take()
        p.take()
        p.notes.append(f"read {fn}^-1 as the inverse function {inverse[fn]}, not 1/{fn}")
        return inverse[fn], None
    if p.tok.kind != "num":
        raise FormulaError(
            f"'{fn}^' must be followed by a number and the argument (write {fn}(z)^n) {p.where()}"
        )
    return fn, Num(float(p.take().text))


def _bare_argument(p: Any, fn: str, tok: Tok) -> Expr:
    """``sin 2z`` is sin(2z): the juxtaposed factors up to an operator or a function."""

    if not p.starts_atom():
        raise FormulaError(
            f"function {fn!r} at position {tok.pos + 1} needs an argument: {fn}(...) {p.where()}"
        )
    factors = [("*", p.power())]
    while p.starts_atom() and not (p.tok.kind == "name" and p.tok.text in FUNCTION_NAMES):
        factors.append(("*", p.power()))
    if len(factors) > 1:
        p.notes.append(f"read '{tok.text} ...' at position {tok.pos + 1} as {fn}(product)")
    return factors[0][1] if len(factors) == 1 else Prod(tuple(factors))


def call(p: Any, fn: str, tok: Tok, inverse: dict[str, str]) -> Expr:
    """Parse the rest of a call of ``fn`` (its name token already taken).

    Args: p: the Parser; fn: canonical name; tok: the name token; inverse: names
    of inverse functions. Returns the Call (or its power).
    """
    fn, power = _power_prefix(p, fn, inverse)
    if p.at("("):
        p.take()
        p.enter()
        args = [p.pieces(in_call=True)]
        while p.at(","):
            p.take()
            args.append(p.pieces(in_call=True))
        p.depth -= 1
        p.expect(")", "separate arguments with ','")
    else:
        p.enter()
        args = [_bare_argument(p, fn, tok)]
        p.depth -= 1
    want = ARITY[fn]
    name = tok.text if tok.text not in ALIASES else f"{tok.text} ({fn})"
    at = f"at position {tok.pos + 1}"
    if want == -1 and len(args) < 2:
        raise FormulaError(f"{name} takes 2 or more arguments, got {len(args)} ({at})")
    if want > 0 and len(args) != want:
        raise FormulaError(f"{name} takes {want} argument(s), got {len(args)} ({at})")
    node: Expr = Call(fn, tuple(args))
    return Pow(node, power) if power is not None else node
