"""Symbolic derivative d/dz of a formula tree: one rule per node and per function.

Rules are chosen to stay accurate in high precision (tanh' = sech^2, sigmoid' =
sigmoid(u) sigmoid(-u)), so that the oracle never cancels. Piecewise forms differentiate
piece by piece; max/min/relu/clip select the derivative of the active argument (ties take
the last argument: relu'(0) = 0, max(z, k z)'(0) = k); abs' = sign (0 at 0); sign and
heaviside have derivative 0 (their jump is a kink, reported on its own).
"""

from __future__ import annotations

from collections.abc import Callable

from kernels.formula.tree import (
    Call,
    Expr,
    FormulaError,
    Neg,
    Num,
    Param,
    Piecewise,
    Pow,
    Prod,
    Sum,
    Var,
    Where,
    has_var,
)

__all__ = ["derivative"]

ZERO, ONE, TWO = Num(0.0), Num(1.0), Num(2.0)


def _is(e: Expr, v: float) -> bool:
    return isinstance(e, Num) and not e.name and e.value == v


def _plain(*es: Expr) -> bool:
    return all(isinstance(e, Num) and not e.name for e in es)


def add(a: Expr, b: Expr) -> Expr:
    """a + b, dropping zeros (two plain numbers are added in float64).

    Args: a, b: trees. Returns the tree of a + b.
    """
    if _plain(a, b):
        return Num(a.value + b.value)
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    return Sum((("+", a), ("+", b)))


def sub(a: Expr, b: Expr) -> Expr:
    """a - b, dropping zeros (two plain numbers are subtracted in float64).

    Args: a, b: trees. Returns the tree of a - b.
    """
    if _plain(a, b):
        return Num(a.value - b.value)
    if _is(b, 0):
        return a
    if _is(a, 0):
        return neg(b)
    return Sum((("+", a), ("-", b)))


def neg(a: Expr) -> Expr:
    """-a.

    Args: a: a tree. Returns the tree of -a.
    """
    if _is(a, 0):
        return a
    return a.arg if isinstance(a, Neg) else Neg(a)


def mul(a: Expr, b: Expr) -> Expr:
    """a * b, with 0 and 1 simplified (two plain numbers are multiplied in float64).

    Args: a, b: trees. Returns the tree of a * b.
    """
    if _plain(a, b):
        return Num(a.value * b.value)
    if _is(a, 0) or _is(b, 0):
        return ZERO
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    return Prod((("*", a), ("*", b)))


def div(a: Expr, b: Expr) -> Expr:
    """a / b.

    Args: a, b: trees. Returns the tree of a / b.
    """
    if _is(a, 0):
        return ZERO
    if _is(b, 1):
        return a
    return Prod((("*", a), ("/", b)))


def fn(name: str, *args: Expr) -> Expr:
    """name(args).

    Args: name: a function of `functions.ARITY`; args: trees. Returns the call.
    """
    return Call(name, tuple(args))


def sq(a: Expr) -> Expr:
    """a^2.

    Args: a: a tree. Returns the tree of a^2.
    """
    return Pow(a, TWO)


def _sqrt_pi() -> Expr:
    return fn("sqrt", Num(3.141592653589793, "pi"))


_LN2, _LN10 = fn("log", TWO), fn("log", Num(10.0))
# d/du f(u), as a tree in u
RULES: dict[str, Callable[[Expr], Expr]] = {
    "exp": lambda u: fn("exp", u),
    "expm1": lambda u: fn("exp", u),
    "log": lambda u: div(ONE, u),
    "log2": lambda u: div(ONE, mul(u, _LN2)),
    "log10": lambda u: div(ONE, mul(u, _LN10)),
    "log1p": lambda u: div(ONE, add(ONE, u)),
    "sqrt": lambda u: div(ONE, mul(TWO, fn("sqrt", u))),
    "cbrt": lambda u: div(ONE, mul(Num(3.0), sq(fn("cbrt", u)))),
    "abs": lambda u: fn("sign", u),
    "sin": lambda u: fn("cos", u),
    "cos": lambda u: neg(fn("sin", u)),
    "tan": lambda u: sq(fn("sec", u)),
    "sec": lambda u: mul(fn("sec", u), fn("tan", u)),
    "csc": lambda u: neg(mul(fn("csc", u), fn("cot", u))),
    "cot": lambda u: neg(sq(fn("csc", u))),
    "asin": lambda u: div(ONE, fn("sqrt", sub(ONE, sq(u)))),
    "acos": lambda u: neg(div(ONE, fn("sqrt", sub(ONE, sq(u))))),
    "atan": lambda u: div(ONE, add(ONE, sq(u))),
    "acot": lambda u: neg(div(ONE, add(ONE, sq(u)))),
    "asec": lambda u: div(ONE, mul(fn("abs", u), fn("sqrt", sub(sq(u), ONE)))),
    "acsc": lambda u: neg(div(ONE, mul(fn("abs", u), fn("sqrt", sub(sq(u), ONE))))),
    "sinh": lambda u: fn("cosh", u),
    "cosh": lambda u: fn("sinh", u),
    "tanh": lambda u: sq(fn("sech", u)),
    "sech": lambda u: neg(mul(fn("sech", u), fn("tanh", u))),
    "csch": lambda u: neg(mul(fn("csch", u), fn("coth", u))),
    "coth": lambda u: neg(sq(fn("csch", u))),
    "asinh": lambda u: div(ONE, fn("sqrt", add(sq(u), ONE))),
    "acosh": lambda u: div(ONE, mul(fn("sqrt", sub(u, ONE)), fn("sqrt", add(u, ONE)))),
    "atanh": lambda u: div(ONE, mul(sub(ONE, u), add(ONE, u))),
    "acoth": lambda u: div(ONE, mul(sub(ONE, u), add(ONE, u))),
    "asech": lambda u: neg(div(ONE, mul(u, fn("sqrt", mul(sub(ONE, u), add(ONE, u)))))),
    "acsch": lambda u: neg(div(ONE, mul(fn("abs", u), fn("sqrt", add(ONE, sq(u)))))),
    "erf": lambda u: div(mul(TWO, fn("exp", neg(sq(u)))), _sqrt_pi()),
    "erfc": lambda u: neg(div(mul(TWO, fn("exp", neg(sq(u)))), _sqrt_pi())),
    "sign": lambda u: ZERO,
    "heaviside": lambda u: ZERO,
    "softplus": lambda u: fn("sigmoid", u),
    "sigmoid": lambda u: mul(fn("sigmoid", u), fn("sigmoid", neg(u))),
}


def _select(args: tuple[Expr, ...], fn_name: str) -> Expr:
    """Derivative of max/min folded left: the active argument's derivative."""
    acc, d_acc = args[0], derivative(args[0])
    for b in args[1:]:
        lhs, rhs = (acc, b) if fn_name == "max" else (b, acc)
        d_acc = Where(lhs, rhs, d_acc, derivative(b))
        acc = Call(fn_name, (acc, b))
    return d_acc


def _call(e: Call) -> Expr:
    if e.fn in ("max", "min"):
        return _select(e.args, e.fn)
    if e.fn == "relu":
        return Where(e.args[0], ZERO, derivative(e.args[0]), ZERO)
    if e.fn == "clip":
        u, lo, hi = e.args
        return derivative(Call("min", (Call("max", (u, lo)), hi)))
    u = e.args[0]
    if e.fn not in RULES:
        raise FormulaError(f"no derivative rule for {e.fn}")
    return mul(RULES[e.fn](u), derivative(u))


def _pow(e: Pow) -> Expr:
    a, b = e.base, e.exponent
    da = derivative(a)
    if not has_var(b):
        return mul(mul(b, Pow(a, sub(b, ONE))), da)
    db = derivative(b)
    if not has_var(a):
        return mul(mul(e, fn("log", a)), db)
    return mul(e, add(mul(db, fn("log", a)), div(mul(b, da), a)))


def _prod(e: Prod) -> Expr:
    """Left fold: (acc op f)' by the product and quotient rules."""
    acc, d_acc = e.factors[0][1], derivative(e.factors[0][1])
    for op, f in e.factors[1:]:
        df = derivative(f)
        if op == "*":
            d_acc = add(mul(d_acc, f), mul(acc, df))
            acc = Prod((("*", acc), ("*", f)))
        else:
            # (a/f)' = (a' - (a/f) f') / f: no f^2, which overflows long before f does.
            q = Prod((("*", acc), ("/", f)))
            d_acc = div(sub(d_acc, mul(q, df)), f)
            acc = q
    return d_acc


def derivative(e: Expr) -> Expr:
    """d/dz of the tree ``e``, as a tree (same node types, plus Where).

    Args: e: a tree in z. Returns the tree of de/dz.
    """
    if isinstance(e, Num | Param):
        return ZERO
    if isinstance(e, Var):
        return ONE
    if isinstance(e, Neg):
        return neg(derivative(e.arg))
    if isinstance(e, Sum):
        out: Expr = ZERO
        for op, t in e.terms:
            out = add(out, derivative(t)) if op == "+" else sub(out, derivative(t))
        return out
    if isinstance(e, Prod):
        return _prod(e)
    if isinstance(e, Pow):
        return _pow(e)
    if isinstance(e, Call):
        return _call(e)
    if isinstance(e, Where):
        return Where(e.lhs, e.rhs, derivative(e.pos), derivative(e.other))
    if isinstance(e, Piecewise):
        return Piecewise(tuple((c, derivative(b)) for c, b in e.pieces))
    raise FormulaError(f"no derivative rule for {type(e).__name__}")
