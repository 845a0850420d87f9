"""Backends of the formula evaluator (`kernels.formula.lower`): arrays and mpmath scalars.

Array backends (numpy, jax.numpy) evaluate every piecewise branch at a point where that
branch applies and select afterwards (the double ``where``), so that an unused branch's
overflow never reaches a value or a gradient; the mpmath backend evaluates only the branch
taken, and turns complex results into NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernels.formula.functions import array_funcs, mp_funcs
from kernels.formula.tree import Cond

__all__ = ["ArrayBackend", "MpBackend"]

Fn = Callable[[Any], Any]
Node = Callable[[Any, dict], Any]  # (z, cache) -> value


class ArrayBackend:
    """numpy or jax.numpy arrays; values keep z's dtype."""

    def __init__(self, xp: Any, erf: Callable, erfc: Callable):
        self.xp = xp
        self.funcs = array_funcs(xp, erf, erfc)

    def const(self, value: float, name: str) -> Fn:
        """A constant node: `value` (or the named constant) in the input's dtype."""
        return lambda z: self.xp.asarray(value, dtype=z.dtype)

    def pow(self, a: Any, b: Any) -> Any:
        """a ** b, elementwise."""
        return self.xp.power(a, b)

    def where(self, z: Any, c: dict, lhs: Node, rhs: Node, pos: Node, other: Node) -> Any:
        """pos where lhs > rhs, else other (both evaluated, as `jnp.where` does)."""
        a, b = lhs(z, c), rhs(z, c)
        out = self.xp.where(a > b, pos(z, c), other(z, c))
        return self.xp.where(self.xp.isnan(a) | self.xp.isnan(b), a + b, out)

    def mask(self, cond: Cond, z: Any) -> Any:
        """Boolean array: z inside any interval of `cond`."""
        out = self.xp.zeros(self.xp.shape(z), bool)
        for iv in cond:
            above = (z > iv.lo) | ((z == iv.lo) & iv.lo_closed)
            below = (z < iv.hi) | ((z == iv.hi) & iv.hi_closed)
            out = out | (above & below)
        return out

    def piecewise(self, z: Any, c: dict, pieces: list[tuple[Cond | None, Node, float]]) -> Any:
        """Each point takes the first piece whose condition holds (None: otherwise)."""
        xp = self.xp
        taken = xp.zeros(xp.shape(z), bool)
        parts = []
        for cond, body, safe in pieces:
            m = ~taken if cond is None else (self.mask(cond, z) & ~taken)
            # A branch runs at other points than z, so with a cache of its own.
            parts.append((m, body(xp.where(m, z, xp.asarray(safe, dtype=z.dtype)), {})))
            taken = taken | m
        out = parts[-1][1]
        for m, v in reversed(parts[:-1]):
            out = xp.where(m, v, out)
        return xp.where(xp.isnan(z), z, out)  # NaN matches no piece: NaN out


class MpBackend:
    """mpmath real scalars at the context's precision; a complex result is NaN."""

    def __init__(self, mp: Any):
        self.mp = mp
        funcs = mp_funcs(mp)
        self.funcs = {name: self._guard(name, f) for name, f in funcs.items()}

    def _guard(self, name: str, f: Callable) -> Callable:
        mp = self.mp
        limits = {
            "exp": lambda a: mp.inf if a > 0 else mp.zero,
            "expm1": lambda a: mp.inf if a > 0 else -mp.one,
            "cosh": lambda a: mp.inf,
            "sinh": lambda a: mp.inf if a > 0 else -mp.inf,
            "sech": lambda a: mp.zero,
            "csch": lambda a: mp.zero,
            "softplus": lambda a: a if a > 0 else mp.zero,
        }
        periodic = {"sin", "cos", "tan", "sec", "csc", "cot"}
        may_be_complex = {"log", "log2", "log10", "log1p", "sqrt", "asin", "acos", "asec",
                          "acsc", "acosh", "atanh", "asech", "acoth"}  # fmt: skip
        if name in limits or name in periodic:
            limit = limits.get(name, lambda a: mp.nan)

            def run(a: Any) -> Any:
                # Beyond 2^64 the value is its limit (exp: inf), and a period is meaningless.
                if mp.isfinite(a) and mp.mag(a) > 64:
                    return limit(a)
                return f(a)

            return run
        if name in may_be_complex:

            def real(*args: Any) -> Any:
                out = f(*args)
                return out if isinstance(out, mp.mpf) else mp.nan

            return real
        return f

    def const(self, value: float, name: str) -> Fn:
        """A constant node: pi and e to the working precision, else `value`."""
        mp = self.mp
        v = +mp.pi if name == "pi" else (+mp.e if name == "e" else mp.mpf(value))
        return lambda z: v

    def pow(self, a: Any, b: Any) -> Any:
        """a ** b; squares and integer powers by multiplication (exact where they can be)."""
        mp = self.mp
        if b == 2:
            return a * a
        if mp.isint(b) and abs(b) <= 64:
            return a ** int(b)
        # |a^b| beyond 2^(2^64) is inf (or 0): mpmath would build a gigantic exponent.
        if a != 0 and mp.isfinite(a) and mp.isfinite(b) and abs(b) * (abs(mp.mag(a)) + 1) > 2**64:
            return mp.inf if b * mp.log(abs(a)) > 0 else mp.zero
        out = mp.power(a, b)
        return out if isinstance(out, mp.mpf) else mp.nan

    def where(self, z: Any, c: dict, lhs: Node, rhs: Node, pos: Node, other: Node) -> Any:
        """pos if lhs > rhs else other (only the branch taken is evaluated)."""
        return pos(z, c) if lhs(z, c) > rhs(z, c) else other(z, c)

    def piecewise(self, z: Any, c: dict, pieces: list[tuple[Cond | None, Node, float]]) -> Any:
        """The first piece whose condition holds at z (None: otherwise)."""
        for cond, body, _ in pieces:
            if cond is None or any(
                (z > iv.lo or (z == iv.lo and iv.lo_closed))
                and (z < iv.hi or (z == iv.hi and iv.hi_closed))
                for iv in cond
            ):
                return body(z, c)
        return self.mp.nan
