"""The one evaluator of formula trees: a tree compiled into nested closures for a backend.

Backends: ``jax.numpy`` (differentiable, jit-able; what kernels run), ``numpy`` in any float
dtype (the formula "as written" in float32/float64), and ``mpmath`` scalars at any precision
(the oracle). Array backends evaluate every piecewise branch at a point where that branch
applies and select afterwards (the double ``where``), so that an unused branch's overflow
never reaches a value or a gradient; the mpmath backend evaluates only the branch taken.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kernels.formula.backends import ArrayBackend, MpBackend
from kernels.formula.conditions import uncovered
from kernels.formula.tree import (
    Call,
    Expr,
    FormulaError,
    Interval,
    Neg,
    Num,
    Param,
    Piecewise,
    Pow,
    Prod,
    Sum,
    Var,
    Where,
    children,
)

__all__ = [
    "ArrayBackend",
    "MpBackend",
    "compile_many",
    "compile_tree",
    "const_value",
    "to_jax",
    "to_numpy",
]

Fn = Callable[[Any], Any]
Node = Callable[[Any, dict], Any]  # (z, cache) -> value


def _inside(iv: Interval | None) -> float:
    """A point of the interval (where its branch is evaluated off its own region)."""
    if iv is None:
        return 0.0
    if math.isfinite(iv.lo) and math.isfinite(iv.hi):
        return 0.5 * (iv.lo + iv.hi)
    if math.isfinite(iv.lo):
        return iv.lo + 1.0
    return iv.hi - 1.0 if math.isfinite(iv.hi) else 0.0


def _fold(fns: list[tuple[str, Node]], z: Any, c: dict, unit: Callable[[Any], Any]) -> Any:
    acc = None
    for op, f in fns:
        v = f(z, c)
        if acc is None:
            acc = v if op in "+*" else unit(v)
        elif op == "+":
            acc = acc + v
        elif op == "-":
            acc = acc - v
        elif op == "*":
            acc = acc * v
        else:
            acc = acc / v
    return acc


def _reduce(fn: Callable, values: list[Any]) -> Any:
    acc = values[0]
    for v in values[1:]:
        acc = fn(acc, v)
    return acc


def _own(e: Expr) -> tuple:
    """The fields of a node that are not sub-trees (for structural identity)."""
    if isinstance(e, Num):
        return (e.value, e.name)
    if isinstance(e, Param):
        return (e.name, e.value)
    if isinstance(e, Call):
        return (e.fn,)
    if isinstance(e, Sum):
        return tuple(op for op, _ in e.terms)
    if isinstance(e, Prod):
        return tuple(op for op, _ in e.factors)
    if isinstance(e, Piecewise):
        return tuple(c for c, _ in e.pieces)
    return ()


class _Compiler:
    """Builds one closure per distinct sub-tree; each caches its value per evaluation, so a
    sub-expression shared by several trees (exp(-z) in f, f' and df) is computed once."""

    def __init__(self, be: Any):
        self.be = be
        self.ids: dict[int, int] = {}
        self.sigs: dict[tuple, int] = {}
        self.built: dict[int, Node] = {}

    def key(self, e: Expr) -> int:
        k = self.ids.get(id(e))
        if k is None:
            sig = (type(e).__name__, _own(e), tuple(self.key(c) for c in children(e)))
            k = self.sigs.setdefault(sig, len(self.sigs))
            self.ids[id(e)] = k
        return k

    def node(self, e: Expr) -> Node:
        k = self.key(e)
        if k not in self.built:
            raw = self.raw(e)
            if isinstance(e, Num | Param | Var):
                self.built[k] = raw
            else:

                def memo(z: Any, c: dict, raw: Node = raw, k: int = k) -> Any:
                    if k in c:
                        return c[k]
                    v = c[k] = raw(z, c)
                    return v

                self.built[k] = memo
        return self.built[k]

    def raw(self, e: Expr) -> Node:
        be, node = self.be, self.node
        if isinstance(e, Num | Param):
            const = be.const(e.value, e.name if isinstance(e, Num) else "")
            return lambda z, c: const(z)
        if isinstance(e, Var):
            return lambda z, c: z
        if isinstance(e, Neg):
            f = node(e.arg)
            return lambda z, c: -f(z, c)
        if isinstance(e, Sum | Prod):
            parts = [(op, node(x)) for op, x in (e.terms if isinstance(e, Sum) else e.factors)]
            unit = (lambda v: -v) if isinstance(e, Sum) else (lambda v: 1 / v)
            return lambda z, c: _fold(parts, z, c, unit)
        if isinstance(e, Pow) and isinstance(e.base, Num) and e.base.name == "e":
            exp, ex = be.funcs["exp"], node(e.exponent)  # e^x is exp(x), to the last digit
            return lambda z, c: exp(ex(z, c))
        if isinstance(e, Pow):
            base, ex = node(e.base), node(e.exponent)
            return lambda z, c: be.pow(base(z, c), ex(z, c))
        if isinstance(e, Call):
            fn = be.funcs[e.fn]
            args = [node(a) for a in e.args]
            if e.fn in ("max", "min") and len(args) > 2:
                return lambda z, c: _reduce(fn, [a(z, c) for a in args])
            return lambda z, c: fn(*(a(z, c) for a in args))
        if isinstance(e, Where):
            a, b, p, o = (node(x) for x in (e.lhs, e.rhs, e.pos, e.other))
            return lambda z, c: be.where(z, c, a, b, p, o)
        if isinstance(e, Piecewise):
            return self.piecewise(e)
        raise FormulaError(f"cannot evaluate node {type(e).__name__}")

    def piecewise(self, e: Piecewise) -> Node:
        pieces, earlier = [], []
        for cond, body in e.pieces:
            if cond is None:
                safe = _inside(uncovered(earlier))
            else:
                safe = _inside(cond[0])
                earlier.extend(cond)
            pieces.append((cond, self.node(body), safe))
        return lambda z, c: self.be.piecewise(z, c, pieces)


def compile_many(exprs: list[Expr], be: Any) -> Callable[[Any], list[Any]]:
    """Several trees as one function of z returning their values (shared sub-trees once).

    Args: exprs: K trees; be: a backend. Returns fn(z) -> K values (z's shape).
    """
    comp = _Compiler(be)
    fns = [comp.node(e) for e in exprs]

    def run(z: Any) -> list[Any]:
        cache: dict = {}
        return [f(z, cache) for f in fns]

    return run


def compile_tree(expr: Expr, be: Any) -> Fn:
    """The tree as a function of z (array or scalar) on backend ``be``.

    Args: expr: a tree; be: a backend. Returns fn(z) -> value (z's shape).
    """
    fn = _Compiler(be).node(expr)
    return lambda z: fn(z, {})


def _numpy_backend() -> ArrayBackend:
    import numpy as np
    from scipy import special

    return ArrayBackend(np, special.erf, special.erfc)


def to_numpy(expr: Expr) -> Callable[[Any], Any]:
    """The formula on numpy arrays, in the input's float dtype (warnings silenced).

    Args: z, an array of any shape. Returns: f(z), same shape and dtype.
    """
    import numpy as np

    fn = compile_tree(expr, _numpy_backend())

    def run(z: Any) -> Any:
        z = np.asarray(z)
        with np.errstate(all="ignore"):
            return np.broadcast_to(fn(z), z.shape).astype(z.dtype)

    return run


def to_jax(expr: Expr) -> Callable[[Any], Any]:
    """The formula as an elementwise jax.numpy function: z (any shape) -> same shape/dtype.

    Differentiable with jax.grad; piecewise forms use the double-where so that an unused
    branch's overflow does not make the gradient NaN.
    """
    import jax.numpy as jnp
    from jax.scipy import special

    fn = compile_tree(expr, ArrayBackend(jnp, special.erf, special.erfc))

    def run(z: Any) -> Any:
        z = jnp.asarray(z)
        return jnp.broadcast_to(fn(z), z.shape).astype(z.dtype)

    return run


def const_value(expr: Expr) -> float:
    """Value of an expression without z, in float64 (overflow gives inf, never a big int).

    Args: expr: a tree without z. Returns its float64 value.
    """
    import numpy as np

    return float(to_numpy(expr)(np.float64(0.0)))
