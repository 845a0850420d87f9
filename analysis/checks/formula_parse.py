"""Parse a derivative formula as people write it into a small, closed expression tree.

A hand-written recursive-descent parser: user text is tokenised and turned into the node
types below, and nothing else; it never reaches Python's compiler. Grammar (loosest first)::

    formula   := pieces ['where' condition]          # 'where 0 < k < 1' checks the params
    pieces    := piece ((';' | 'else') piece)*       # piecewise, first matching piece wins
    piece     := sum ['if' condition | 'otherwise']
    condition := compare ('and' compare)*            # compare: a < b <= c, chained
    sum       := product (('+' | '-') product)*
    product   := unary (('*' | '/' | 'dot') unary)*
    unary     := ('-' | '+') unary | power
    power     := atom [('^' | '**') unary]           # right-assoc, tighter than unary minus
    atom      := number | name | fn '(' args ')' | fn '^' number '(' args ')'
               | '(' pieces ')' | '[' pieces ']'

A leading ``NAME(z) =`` or ``NAME'(z) =`` is dropped so that lines can be pasted whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MAX_CHARS = 10_000
MAX_DEPTH = 100

FUNCTIONS = {
    "exp": 1,
    "log": 1,
    "log1p": 1,
    "sqrt": 1,
    "abs": 1,
    "tanh": 1,
    "sinh": 1,
    "cosh": 1,
    "sigmoid": 1,
    "max": 2,
    "min": 2,
}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("z", "x")
KEYWORDS = ("if", "otherwise", "else", "and", "dot", "where")
_REFUSED_WORDS = {
    "lambda": "lambdas are not allowed",
    "for": "comprehensions are not allowed",
    "in": "comprehensions are not allowed",
    "import": "imports are not allowed",
    "or": "'or' is not supported: write one piece per interval",
    "not": "'not' is not supported: write the complementary interval",
}


class FormulaError(ValueError):
    """A formula that cannot be parsed or is refused; the message is one line."""


# ---------------------------------------------------------------------------------- nodes
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Var:
    pass


@dataclass(frozen=True)
class Param:
    name: str
    value: float


@dataclass(frozen=True)
class Neg:
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
    base: Expr
    exponent: Expr


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Interval:
    """lo <(=) z <(=) hi; infinite ends are open."""

    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool

    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def describe(self) -> str:
        if self.lo == self.hi:
            return f"z = {_fmt(self.lo)}"
        left = "[" if self.lo_closed else "("
        right = "]" if self.hi_closed else ")"
        return f"z in {left}{_fmt(self.lo)}, {_fmt(self.hi)}{right}"


@dataclass(frozen=True)
class Piecewise:
    """Pieces (interval or None for 'otherwise', expression); the first match is used."""

    pieces: tuple[tuple[Interval | None, Expr], ...]
    notes: tuple[str, ...] = ()


Expr = Num | Var | Param | Neg | Sum | Prod | Pow | Call | Piecewise


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


# ------------------------------------------------------------------------------ tokeniser
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/^()\[\],;<>=.'\"{}:@%&|~!#$`\\]))"
)
_UNICODE = str.maketrans({"·": "*", "⋅": "*", "×": "*", "−": "-", "≤": "<=", "≥": ">="})
_LHS = re.compile(r"^\s*[A-Za-z_][A-Za-z_0-9]*\s*'*\s*\(\s*[zx]\s*\)\s*=(?!=)")


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, name, op, end
    text: str
    pos: int


def _tokenise(text: str) -> list[_Tok]:
    toks, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos:].lstrip()[0]
            raise FormulaError(f"unexpected character {ch!r} at position {pos + 1}")
        kind = m.lastgroup
        tok = _Tok(kind, m.group(kind), m.start(kind))
        _refuse_token(tok, toks)
        toks.append(tok)
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


def _refuse_token(tok: _Tok, before: list[_Tok]) -> None:
    prev = before[-1] if before else None
    where = f"at position {tok.pos + 1}"
    if tok.kind == "op":
        if tok.text in ("'", '"'):
            raise FormulaError(f"strings are not allowed ({tok.text} {where})")
        if tok.text == ".":
            raise FormulaError(f"attribute access is not allowed ('.' {where})")
        if tok.text in ("==", "!="):
            raise FormulaError(f"'{tok.text}' is not supported: use <, <=, >, >= ({where})")
        if tok.text not in (
            "**",
            "<=",
            ">=",
            "-",
            "+",
            "*",
            "/",
            "^",
            "(",
            ")",
            "[",
            "]",
            ",",
            ";",
            "<",
            ">",
            "=",
        ):
            raise FormulaError(f"unexpected character {tok.text!r} {where}")
        if (
            tok.text == "["
            and prev is not None
            and (
                (prev.kind == "name" and prev.text not in KEYWORDS)
                or prev.kind == "num"
                or prev.text in (")", "]")
            )
        ):
            raise FormulaError(f"subscripts are not allowed ('[' {where})")
    if tok.kind == "name" and tok.text in _REFUSED_WORDS:
        raise FormulaError(f"{_REFUSED_WORDS[tok.text]} ({tok.text!r} {where})")


# --------------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, params: Mapping[str, float]):
        self.toks = _tokenise(text)
        self.i = 0
        self.params = params
        self.depth = 0

    # token helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def take(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise FormulaError(f"expected '{text}' {self.where()}")
        self.take()

    def where(self) -> str:
        tok = self.tok
        if tok.kind == "end":
            return "but the formula ended"
        return f"at position {tok.pos + 1} (found {tok.text!r})"

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"nesting deeper than {MAX_DEPTH} levels")

    # grammar
    def formula(self) -> Expr:
        expr = self.pieces()
        if self.at("where"):
            self.take()
            for cmp in self.condition_parts():
                self.check_constraint(cmp)
        if self.at("="):
            raise FormulaError(
                "more than one '=': this is a chain of claims; check each side separately"
            )
        if self.tok.kind != "end":
            if self.at(")", "]"):
                raise FormulaError(f"unbalanced '{self.tok.text}' {self.where()}")
            pos = self.tok.pos + 1
            if self.at("<", "<=", ">", ">="):
                raise FormulaError(f"a comparison is only allowed after 'if' (position {pos})")
            if self.tok.kind in ("num", "name") or self.at("(", "["):
                raise FormulaError(
                    f"missing operator before {self.tok.text!r} at position {pos} "
                    "(implicit multiplication is not supported: write 2*z)"
                )
            raise FormulaError(f"unexpected {self.tok.text!r} at position {pos}")
        return expr

    def pieces(self) -> Expr:
        pieces: list[tuple[Interval | None, Expr]] = []
        after_else = False
        while True:
            body = self.sum()
            if self.at("if"):
                self.take()
                pieces.append((self.condition(), body))
            elif self.at("otherwise"):
                self.take()
                pieces.append((None, body))
            elif after_else:
                pieces.append((None, body))
            elif not pieces and not self.at(";", "else"):
                return body
            else:
                raise FormulaError(
                    f"piece {len(pieces) + 1} has no condition: add 'if ...' or 'otherwise'"
                )
            if self.at(";", "else"):
                after_else = self.take().text == "else"
                if not after_else and (self.tok.kind == "end" or self.at(")", "]")):
                    break
                continue
            break
        return _piecewise(pieces)

    def condition(self) -> Interval:
        iv = Interval(-math.inf, math.inf, False, False)
        for left, op, right in self.condition_parts():
            iv = _intersect(iv, self.bound(left, op, right))
        return iv

    def condition_parts(self) -> list[tuple[Expr, str, Expr]]:
        parts = []
        while True:
            left = self.sum()
            if not self.at("<", "<=", ">", ">="):
                raise FormulaError(f"expected a comparison (<, <=, >, >=) {self.where()}")
            while self.at("<", "<=", ">", ">="):
                op = self.take().text
                right = self.sum()
                parts.append((left, op, right))
                left = right
            if not self.at("and"):
                return parts
            self.take()

    def bound(self, left: Expr, op: str, right: Expr) -> Interval:
        lz, rz = _has_var(left), _has_var(right)
        if lz == rz or (lz and not isinstance(left, Var)) or (rz and not isinstance(right, Var)):
            raise FormulaError("conditions must compare z with constants, like -1 <= z <= 1")
        if rz:  # c op z  ->  z op' c
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        c = const_value(right)
        if math.isnan(c):
            raise FormulaError("a condition's bound is not a number (nan)")
        if op in ("<", "<="):
            return Interval(-math.inf, c, False, op == "<=" and math.isfinite(c))
        return Interval(c, math.inf, op == ">=" and math.isfinite(c), False)

    def check_constraint(self, cmp: tuple[Expr, str, Expr]) -> None:
        left, op, right = cmp
        if _has_var(left) or _has_var(right):
            raise FormulaError("a 'where' clause may only constrain parameters, not z")
        a, b = const_value(left), const_value(right)
        ok = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if not ok:
            values = ", ".join(
                f"{n} = {v:g}" for n, v in sorted(self.params.items()) if n in _names(cmp)
            )
            raise FormulaError(
                f"the formula requires {_show(left)} {op} {_show(right)}, but {values or 'not'}"
            )

    def sum(self) -> Expr:
        terms = [("+", self.product())]
        while self.at("+", "-"):
            op = self.take().text
            terms.append((op, self.product()))
        return terms[0][1] if len(terms) == 1 else Sum(tuple(terms))

    def product(self) -> Expr:
        factors = [("*", self.unary())]
        while self.at("*", "/", "dot"):
            op = self.take().text
            factors.append(("/" if op == "/" else "*", self.unary()))
        return factors[0][1] if len(factors) == 1 else Prod(tuple(factors))

    def unary(self) -> Expr:
        if self.at("-", "+"):
            op = self.take().text
            self.enter()
            arg = self.unary()
            self.depth -= 1
            return Neg(arg) if op == "-" else arg
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.at("^", "**"):
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return Pow(base, exponent)
        return base

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            value = float(tok.text)
            if not math.isfinite(value):
                raise FormulaError(f"number {tok.text[:20]} is too large for float64")
            return Num(value)
        if self.at("(", "["):
            close = ")" if self.take().text == "(" else "]"
            self.enter()
            inner = self.pieces()
            self.depth -= 1
            if not self.at(close):
                raise FormulaError(f"expected '{close}' {self.where()}")
            self.take()
            return inner
        if tok.kind == "name":
            return self.name()
        if tok.kind == "end":
            raise FormulaError("the formula ended where a value was expected")
        raise FormulaError(f"expected a value {self.where()}")

    def name(self) -> Expr:
        tok = self.take()
        name = tok.text
        if name in FUNCTIONS:
            return self.call(name)
        if self.at("("):
            raise FormulaError(f"unknown function {name!r} (known: {', '.join(sorted(FUNCTIONS))})")
        if name in VARIABLES:
            return Var()
        if name in self.params:
            return Param(name, float(self.params[name]))
        if name in CONSTANTS:
            return Num(CONSTANTS[name])
        if name in KEYWORDS:
            raise FormulaError(f"expected a value before {name!r} at position {tok.pos + 1}")
        if name.startswith("__"):
            raise FormulaError(f"name {name!r} is not allowed")
        known = ", ".join(sorted(self.params)) or "none given"
        raise FormulaError(
            f"unknown name {name!r}: the variable is z (or x); constants: pi, e; "
            f"parameters: {known} (pass one with --param {name}=VALUE)"
        )

    def call(self, fn: str) -> Expr:
        power = None
        if self.at("^", "**"):  # tanh^2(z) means tanh(z)^2
            self.take()
            if self.tok.kind != "num":
                raise FormulaError(
                    f"'{fn}^' must be followed by a positive number and '(' "
                    f"(write {fn}(z)^n) {self.where()}"
                )
            power = Num(float(self.take().text))
        if not self.at("("):
            raise FormulaError(f"function {fn!r} needs parentheses: {fn}(...) {self.where()}")
        self.take()
        self.enter()
        args = [self.pieces()]
        while self.at(","):
            self.take()
            args.append(self.pieces())
        self.depth -= 1
        self.expect(")")
        if len(args) != FUNCTIONS[fn]:
            raise FormulaError(f"{fn} takes {FUNCTIONS[fn]} argument(s), got {len(args)}")
        node: Expr = Call(fn, tuple(args))
        return Pow(node, power) if power is not None else node


def _names(cmp: tuple[Expr, str, Expr]) -> set[str]:
    return {n.name for side in (cmp[0], cmp[2]) for n, _ in walk(side) if isinstance(n, Param)}


def _show(expr: Expr) -> str:
    if isinstance(expr, Param):
        return expr.name
    if isinstance(expr, Num):
        return f"{expr.value:g}"
    return "the expression"


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node."""
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
    if isinstance(expr, Piecewise):
        return tuple(e for _, e in expr.pieces)
    return ()


def walk(expr: Expr) -> list[tuple[Expr, int]]:
    """Every node with its depth (root 1), without recursion."""
    out, stack = [], [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        out.append((node, depth))
        stack.extend((c, depth + 1) for c in children(node))
    return out


def _has_var(expr: Expr) -> bool:
    return any(isinstance(n, Var | Piecewise) for n, _ in walk(expr))


NP_FUNCS = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "sigmoid": lambda a: _np_sigmoid(a),
    "max": np.maximum,
    "min": np.minimum,
}


def _np_sigmoid(a: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(a))  # never overflows; both branches are accurate to an ulp or two
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def const_value(expr: Expr) -> float:
    """Value of an expression without z, in float64 (overflow gives inf, never a big int)."""
    with np.errstate(all="ignore"):
        return float(_np_value(expr))


def _np_value(expr: Expr) -> np.float64:
    if isinstance(expr, Num | Param):
        return np.float64(expr.value)
    if isinstance(expr, Neg):
        return -_np_value(expr.arg)
    if isinstance(expr, Sum):
        acc = np.float64(0.0)
        for op, e in expr.terms:
            acc = acc + _np_value(e) if op == "+" else acc - _np_value(e)
        return acc
    if isinstance(expr, Prod):
        acc = np.float64(1.0)
        for op, e in expr.factors:
            acc = acc * _np_value(e) if op == "*" else acc / _np_value(e)
        return acc
    if isinstance(expr, Pow):
        return np.float64(np.power(_np_value(expr.base), _np_value(expr.exponent)))
    if isinstance(expr, Call):
        return np.float64(NP_FUNCS[expr.fn](*(_np_value(a) for a in expr.args)))
    raise FormulaError("a constant was expected here, not an expression in z")


# ------------------------------------------------------------------------------ piecewise
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


def uncovered(intervals: list[Interval]) -> Interval | None:
    """The leftmost part of the real line no interval covers, or None."""
    pos, pos_covered = -math.inf, False  # covered up to pos; pos itself covered?
    for iv in sorted((iv for iv in intervals if not iv.empty()), key=lambda v: v.lo):
        if iv.lo > pos:
            return Interval(pos, iv.lo, not pos_covered and math.isfinite(pos), not iv.lo_closed)
        if iv.lo == pos and not pos_covered and not iv.lo_closed and math.isfinite(pos):
            return Interval(pos, pos, True, True)
        if iv.hi > pos or (iv.hi == pos and iv.hi_closed):
            pos, pos_covered = iv.hi, iv.hi_closed or (iv.hi == pos and pos_covered)
    if pos < math.inf:
        return Interval(pos, math.inf, not pos_covered, False)
    return None


def _piecewise(pieces: list[tuple[Interval | None, Expr]]) -> Piecewise:
    for n, (iv, _) in enumerate(pieces[:-1], start=1):
        if iv is None:
            raise FormulaError(f"'otherwise' must close the piecewise form (piece {n} has it)")
    intervals = [iv for iv, _ in pieces if iv is not None]
    for n, iv in enumerate(intervals, start=1):
        if iv.empty():
            raise FormulaError(f"piece {n}'s condition is empty ({_fmt(iv.lo)} > {_fmt(iv.hi)})")
    if pieces[-1][0] is not None:
        gap = uncovered(intervals)
        if gap is not None:
            raise FormulaError(
                f"{gap.describe()} is not covered by any piece: add it or an 'otherwise' piece"
            )
    notes = []
    for i, a in enumerate(intervals):
        for j in range(i + 1, len(intervals)):
            both = _intersect(a, intervals[j])
            if not both.empty():
                notes.append(
                    f"pieces {i + 1} and {j + 1} overlap on {both.describe()}: "
                    f"piece {i + 1} is used there (first match wins)"
                )
    return Piecewise(tuple(pieces), tuple(notes))


# ------------------------------------------------------------------------------------ api
def strip_lhs(text: str) -> str:
    """Drop a leading 'NAME(z) =' or "NAME'(z) =" so that a pasted line parses."""
    return _LHS.sub("", text, count=1)


def split_sides(text: str) -> list[str]:
    """The claims in a chain 'lhs(z) = A = B' as ['A', 'B'] (one element when no chain)."""
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
    """Validated parameters: identifier names, not reserved, finite float values."""
    out = {}
    for name, value in params.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name):
            raise FormulaError(f"parameter name {name!r} is not a plain name")
        reserved = set(FUNCTIONS) | set(VARIABLES) | set(KEYWORDS) | set(_REFUSED_WORDS)
        if name in reserved or name.startswith("__"):
            raise FormulaError(f"parameter name {name!r} is reserved")
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise FormulaError(f"parameter {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(float(value)):
            raise FormulaError(f"parameter {name} must be finite, got {value}")
        out[name] = float(value)
    return out


def parse(text: str, params: Mapping[str, float] | None = None) -> Expr:
    """Parse a formula in z (see the module docstring) into an expression tree.

    Raises FormulaError (one line) for anything outside the grammar: attributes,
    subscripts, strings, lambdas, comprehensions, unknown names or functions, empty
    input, more than 10,000 characters, nesting deeper than 100, or piecewise pieces
    that leave part of the real line uncovered.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise FormulaError(f"formula has {len(text)} characters; at most {MAX_CHARS} allowed")
    body = strip_lhs(text.translate(_UNICODE))
    if not body.strip():
        raise FormulaError("the formula is empty")
    expr = _Parser(body, check_params(params or {})).formula()
    if max(d for _, d in walk(expr)) > MAX_DEPTH:
        raise FormulaError(f"nesting deeper than {MAX_DEPTH} levels")
    return expr
