"""Entry points of the formula language: parse text (with its notes), split claim chains."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kernels.formula._parser import KEYWORDS, MAX_DEPTH, VARIABLES, Parser
from kernels.formula.functions import ALIASES, ARITY, CONSTANTS
from kernels.formula.lexer import normalise
from kernels.formula.parser_checks import REFUSED_WORDS
from kernels.formula.tree import Expr, FormulaError, Piecewise, walk

__all__ = ["MAX_CHARS", "Parsed", "check_params", "parse", "parse_full", "split_sides", "strip_lhs"]

MAX_CHARS = 10_000
_LHS = re.compile(r"^\s*[A-Za-zσ_][A-Za-z_0-9]*\s*('|’|′)*\s*\(\s*[zx]\s*\)\s*=(?!=)")


@dataclass(frozen=True)
class Parsed:
    """A parsed formula: its tree and the readings taken (ambiguities, overlaps)."""

    expr: Expr
    notes: tuple[str, ...]


def strip_lhs(text: str) -> str:
    """Drop a leading 'NAME(z) =' or "NAME'(z) =" so that a pasted line parses.

    Args: text: one formula line. Returns it without the left-hand side.
    """
    return _LHS.sub("", text, count=1)


def split_sides(text: str) -> list[str]:
    """The claims in a chain 'lhs(z) = A = B' as ['A', 'B'] (one element when no chain).

    Args: text: a line such as "f'(z) = A = B". Returns the claims, ['A', 'B'].
    """
    body = strip_lhs(text)
    sides, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += 1 if ch in "([" else (-1 if ch in ")]" else 0)
        prev, nxt = body[i - 1] if i else "", body[i + 1] if i + 1 < len(body) else ""
        if ch == "=" and depth == 0 and prev not in "<>=!" and nxt != "=":
            sides.append(body[start:i].strip())
            start = i + 1
    sides.append(body[start:].strip())
    return sides


def check_params(params: Mapping[str, float]) -> dict[str, float]:
    """Validated parameters: identifier names, not reserved, finite float values.

    Args: params: {name: value}. Returns {name: float}; FormulaError if refused.
    """
    out = {}
    reserved = (
        set(ARITY) | set(ALIASES) | set(VARIABLES) | set(KEYWORDS) | set(REFUSED_WORDS)
    ) | set(CONSTANTS)
    for name, value in params.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name):
            raise FormulaError(f"parameter name {name!r} is not a plain name")
        if name in reserved or name.startswith("__"):
            raise FormulaError(f"parameter name {name!r} is reserved")
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise FormulaError(f"parameter {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(float(value)):
            raise FormulaError(f"parameter {name} must be finite, got {value}")
        out[name] = float(value)
    return out


def parse_full(text: str, params: Mapping[str, float] | None = None) -> Parsed:
    """Parse a formula in z into a tree plus the notes on how it was read.

    Raises FormulaError (one line, naming the position and what is accepted) for anything
    outside the grammar: attributes, subscripts, strings, lambdas, comprehensions, unknown
    names or functions, empty input, more than 10,000 characters, nesting deeper than 100,
    or piecewise pieces that leave part of the real line uncovered.
    Args: text: the formula; params: {name: value} it may use. Returns a Parsed
    (tree, notes).
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise FormulaError(f"formula has {len(text)} characters; at most {MAX_CHARS} allowed")
    plain, where = normalise(text)
    body = strip_lhs(plain)
    if not body.strip():
        raise FormulaError("the formula is empty")
    cut = len(plain) - len(body)
    p = Parser(body, where[cut:], check_params(params or {}))
    expr = p.formula()
    if max(d for _, d in walk(expr)) > MAX_DEPTH:
        raise FormulaError(f"nesting deeper than {MAX_DEPTH} levels")
    notes = list(dict.fromkeys(p.notes))
    notes += [n for node, _ in walk(expr) if isinstance(node, Piecewise) for n in node.notes]
    return Parsed(expr, tuple(notes))


def parse(text: str, params: Mapping[str, float] | None = None) -> Expr:
    """The tree of `parse_full` (see there for the refusals).

    Args: text: the formula; params: {name: value}. Returns the tree.
    """
    return parse_full(text, params).expr
