"""Parse a formula as people write it into the closed tree of `kernels.formula.tree`.

A hand-written recursive-descent parser: user text is tokenised and turned into tree nodes
and nothing else; it never reaches Python's compiler. Grammar (loosest first)::

    formula   := pieces ['where' condition]           # 'where 0 < k < 1' checks the params
    pieces    := piece ((';' | 'else' | ',') piece)*   # first matching piece wins
    piece     := sum [('if' | 'for' | 'when') condition | 'otherwise']
    condition := conj ('or' conj)* ;  conj := compare ('and' compare)*
    compare   := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)+   # chained
    sum       := product (('+' | '-') product)*
    product   := unary (('*' | '/' | 'dot' | juxtaposition) unary)*   # 3z^2, 2(z+1)
    unary     := ('-' | '+') unary | power
    power     := atom [('^' | '**') unary]             # right-assoc; e^-z^2 = e^(-(z^2))
    atom      := number | name | fn ['^' n] ('(' args ')' | juxtaposed atoms)
               | '(' pieces ')' | '[' pieces ']' | '|' pieces '|'

A leading ``NAME(z) =`` or ``NAME'(z) =`` is dropped so that lines can be pasted whole.
Readings that people could take two ways are recorded in ``notes``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kernels.formula.conditions import bound, cond_and, cond_or, make_piecewise
from kernels.formula.functions import ALIASES, ARITY, CONSTANTS, FUNCTION_NAMES, INVERSE
from kernels.formula.lexer import Tok, tokenise
from kernels.formula.lower import const_value
from kernels.formula.parser_checks import check_constraint, refuse_token
from kernels.formula.tree import (
    Call,
    Cond,
    Expr,
    FormulaError,
    Neg,
    Num,
    Param,
    Pow,
    Prod,
    Sum,
    Var,
)

__all__ = ["MAX_DEPTH", "Parser"]

MAX_DEPTH = 100
VARIABLES = ("z", "x")
KEYWORDS = ("if", "for", "when", "otherwise", "else", "and", "or", "dot", "where")
RELOPS = ("<", "<=", ">", ">=", "==", "!=")


class Parser:
    """One parse of normalised text; ``notes`` collects the readings taken."""

    def __init__(self, text: str, where: list[int], params: Mapping[str, float]):
        self.toks = tokenise(text, where)
        for n, tok in enumerate(self.toks):
            refuse_token(tok, self.toks[n - 1] if n else None, KEYWORDS)
        self.i = 0
        self.params = params
        self.depth = 0
        self.bars = 0  # open |...| around the current position
        self.notes: list[str] = []

    # ------------------------------------------------------------------ token helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def take(self) -> Tok:
        tok = self.tok
        self.i += 1
        return tok

    def where(self) -> str:
        if self.tok.kind == "end":
            return "but the formula ended"
        return f"at position {self.tok.pos + 1} (found {self.tok.text!r})"

    def expect(self, text: str, instead: str = "") -> None:
        if not self.at(text):
            hint = f"; {instead}" if instead else ""
            raise FormulaError(f"expected '{text}' {self.where()}{hint}")
        self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"nesting deeper than {MAX_DEPTH} levels")

    def starts_atom(self) -> bool:
        tok = self.tok
        if tok.kind == "num" or self.at("(", "["):
            return True
        if self.at("|"):
            return self.bars == 0
        return tok.kind == "name" and tok.text not in KEYWORDS

    # ---------------------------------------------------------------------- grammar
    def formula(self) -> Expr:
        expr = self.pieces(in_call=False)
        if self.at("where"):
            self.take()
            for cmp in self.compare_parts():
                check_constraint(cmp, self.params)
        if self.at("="):
            raise FormulaError(
                "more than one '=': this is a chain of claims; check each side separately"
            )
        if self.tok.kind != "end":
            pos = self.tok.pos + 1
            if self.at(")", "]", "|"):
                raise FormulaError(f"unbalanced '{self.tok.text}' at position {pos}")
            if self.at(*RELOPS):
                raise FormulaError(
                    f"a comparison is only allowed in a condition (position {pos}): "
                    "write 'VALUE if CONDITION'"
                )
            raise FormulaError(f"unexpected {self.tok.text!r} at position {pos}")
        return expr

    def pieces(self, in_call: bool) -> Expr:
        pieces: list[tuple[Cond | None, Expr]] = []
        after_else = False
        while True:
            body = self.sum()
            if self.at("if", "for", "when"):
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
                    f"piece {len(pieces) + 1} has no condition {self.where()}: "
                    "add 'if ...' or 'otherwise'"
                )
            comma = self.at(",") and not in_call and pieces[-1][0] is not None
            if self.at(";", "else") or comma:
                after_else = self.take().text == "else"
                if not after_else and (self.tok.kind == "end" or self.at(")", "]")):
                    break
                continue
            break
        return make_piecewise(pieces)

    def condition(self) -> Cond:
        cond = self.conj()
        while self.at("or"):
            self.take()
            cond = cond_or(cond, self.conj())
        return cond

    def conj(self) -> Cond:
        cond: Cond | None = None
        for left, op, right in self.compare_parts(stop_at_and=True):
            one = bound(left, op, right, const_value)
            cond = one if cond is None else cond_and(cond, one)
        while self.at("and"):
            self.take()
            for left, op, right in self.compare_parts(stop_at_and=True):
                cond = cond_and(cond, bound(left, op, right, const_value))
        return cond

    def compare_parts(self, stop_at_and: bool = False) -> list[tuple[Expr, str, Expr]]:
        parts = []
        while True:
            left = self.sum()
            if not self.at(*RELOPS):
                raise FormulaError(f"expected a comparison (<, <=, >, >=, ==, !=) {self.where()}")
            while self.at(*RELOPS):
                op = self.take().text
                right = self.sum()
                parts.append((left, op, right))
                left = right
            if stop_at_and or not self.at("and"):
                return parts
            self.take()

    def sum(self) -> Expr:
        terms = [("+", self.product())]
        while self.at("+", "-"):
            op = self.take().text
            terms.append((op, self.product()))
        return terms[0][1] if len(terms) == 1 else Sum(tuple(terms))

    def product(self) -> Expr:
        factors = [("*", self.unary())]
        while True:
            if self.at("*", "/", "dot"):
                op = self.take().text
                factors.append(("/" if op == "/" else "*", self.unary()))
            elif self.starts_atom():
                if factors[-1][0] == "/":
                    self.notes.append(
                        f"read a product after '/' at position {self.tok.pos + 1} "
                        "left to right: 1/2z is (1/2)*z; write 1/(2z) for the other reading"
                    )
                factors.append(("*", self.power()))
            else:
                break
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
            pos = self.take().pos
            self.enter()
            neg = self.at("-")
            exponent = self.unary()
            self.depth -= 1
            if neg and isinstance(exponent, Neg) and isinstance(exponent.arg, Pow):
                self.notes.append(
                    f"read the power at position {pos + 1} as a^(-(b^c)): e^-z^2 = exp(-(z^2))"
                )
            return Pow(base, exponent)
        return base

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            value = float(tok.text)
            if value == float("inf"):
                raise FormulaError(f"number {tok.text[:20]} is too large for float64")
            return Num(value)
        if self.at("(", "[", "|"):
            return self.group()
        if tok.kind == "name":
            return self.name()
        if tok.kind == "end":
            raise FormulaError("the formula ended where a value was expected")
        raise FormulaError(f"expected a value (a number, z, a name or '(') {self.where()}")

    def group(self) -> Expr:
        open_ = self.take().text
        close = {"(": ")", "[": "]", "|": "|"}[open_]
        self.enter()
        self.bars += open_ == "|"
        inner = self.pieces(in_call=False)
        self.bars -= open_ == "|"
        self.depth -= 1
        self.expect(close)
        return Call("abs", (inner,)) if open_ == "|" else inner

    def name(self) -> Expr:
        tok = self.take()
        name = tok.text
        if name in FUNCTION_NAMES and name not in self.params:
            from kernels.formula.parser_calls import call

            return call(self, ALIASES.get(name, name), tok, INVERSE)
        if self.at("(") and name not in VARIABLES and name not in self.params:
            if name not in CONSTANTS:
                raise FormulaError(
                    f"unknown function {name!r} at position {tok.pos + 1} "
                    f"(known: {', '.join(sorted(ARITY))})"
                )
        if name in VARIABLES:
            return Var()
        if name in self.params:
            return Param(name, float(self.params[name]))
        if name in CONSTANTS:
            return Num(CONSTANTS[name], "pi" if name in ("pi", "π") else "e")
        if name in KEYWORDS:
            raise FormulaError(f"expected a value before {name!r} at position {tok.pos + 1}")
        if name.startswith("__"):
            raise FormulaError(f"name {name!r} is not allowed")
        known = ", ".join(sorted(self.params)) or "none given"
        raise FormulaError(
            f"unknown name {name!r} at position {tok.pos + 1}: the variable is z (or x); "
            f"constants: pi, e; parameters: {known} (pass one with --param {name}=VALUE)"
        )
