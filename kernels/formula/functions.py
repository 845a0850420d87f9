"""The functions a formula may call: names people write, arity, and their implementations.

Three implementations per function, one per backend of the evaluator
(`kernels.formula.lower`): numpy and jax.numpy arrays (via ``xp``), and mpmath scalars
at any precision (the oracle). Conventions at the points of discontinuity:
sign(0) = 0, heaviside(0) = 1/2, relu'(0) = 0 (see `kernels.formula.derive`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "ALIASES",
    "ARITY",
    "CONSTANTS",
    "FUNCTION_NAMES",
    "VARIADIC",
    "array_funcs",
    "mp_funcs",
]

# canonical name -> number of arguments (VARIADIC: two or more)
ARITY = {
    **dict.fromkeys(
        "exp expm1 log log2 log10 log1p sqrt cbrt abs sin cos tan sec csc cot "
        "asin acos atan asec acsc acot sinh cosh tanh sech csch coth asinh acosh atanh "
        "asech acsch acoth erf erfc sign heaviside softplus relu sigmoid".split(),
        1,
    ),
    "clip": 3,
    "max": -1,
    "min": -1,
}
VARIADIC = ("max", "min")
ALIASES = {
    "ln": "log",
    "sgn": "sign",
    "step": "heaviside",
    "H": "heaviside",
    "logistic": "sigmoid",
    "σ": "sigmoid",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsec": "asec",
    "arccsc": "acsc",
    "arccot": "acot",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arsinh": "asinh",
    "arcosh": "acosh",
    "artanh": "atanh",
    "arcsech": "asech",
    "arccsch": "acsch",
    "arccoth": "acoth",
    "arsech": "asech",
    "arcsch": "acsch",
    "arcoth": "acoth",
    "Max": "max",
    "Min": "min",
}
# Inverse written as f^-1: the inverse function, not 1/f (the common reading).
INVERSE = {n: "a" + n for n in "sin cos tan sec csc cot sinh cosh tanh sech csch coth".split()}
CONSTANTS = {"pi": math.pi, "π": math.pi, "e": math.e}


def array_funcs(xp: Any, erf: Callable, erfc: Callable) -> dict[str, Callable[..., Any]]:
    """Implementations on arrays of the module ``xp`` (numpy or jax.numpy).

    Args: xp: numpy or jax.numpy; erf, erfc: its error functions. Returns
    {name: elementwise function}.
    """

    def sigmoid(a):
        e = xp.exp(-xp.abs(a))  # never overflows
        return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def heaviside(a):
        half = xp.where(a < 0, xp.zeros_like(a), 0.5 + 0 * a)  # 0 * NaN keeps NaN
        return xp.where(a > 0, xp.ones_like(a), half)

    return {
        "exp": xp.exp,
        "expm1": xp.expm1,
        "log": xp.log,
        "log2": xp.log2,
        "log10": xp.log10,
        "log1p": xp.log1p,
        "sqrt": xp.sqrt,
        "cbrt": xp.cbrt,
        "abs": xp.abs,
        "sin": xp.sin,
        "cos": xp.cos,
        "tan": xp.tan,
        "sec": lambda a: 1.0 / xp.cos(a),
        "csc": lambda a: 1.0 / xp.sin(a),
        "cot": lambda a: xp.cos(a) / xp.sin(a),
        "asin": xp.arcsin,
        "acos": xp.arccos,
        "atan": xp.arctan,
        "asec": lambda a: xp.arccos(1.0 / a),
        "acsc": lambda a: xp.arcsin(1.0 / a),
        "acot": lambda a: xp.arctan(1.0 / a),
        "sinh": xp.sinh,
        "cosh": xp.cosh,
        "tanh": xp.tanh,
        "sech": lambda a: 1.0 / xp.cosh(a),
        "csch": lambda a: 1.0 / xp.sinh(a),
        "coth": lambda a: 1.0 / xp.tanh(a),
        "asinh": xp.arcsinh,
        "acosh": xp.arccosh,
        "atanh": xp.arctanh,
        "asech": lambda a: xp.arccosh(1.0 / a),
        "acsch": lambda a: xp.arcsinh(1.0 / a),
        "acoth": lambda a: xp.arctanh(1.0 / a),
        "erf": erf,
        "erfc": erfc,
        "sign": xp.sign,
        "heaviside": heaviside,
        "softplus": lambda a: xp.logaddexp(a, 0.0 * a),
        "relu": lambda a: xp.maximum(a, 0.0 * a),
        "sigmoid": sigmoid,
        "clip": lambda a, lo, hi: xp.minimum(xp.maximum(a, lo), hi),
        "max": xp.maximum,
        "min": xp.minimum,
    }


def mp_funcs(mp: Any) -> dict[str, Callable[..., Any]]:
    """Implementations on mpmath real scalars (complex results become NaN in the caller).

    Args: mp: the mpmath context. Returns {name: function of mpf scalars}.
    """
    zero, one, half = mp.mpf(0), mp.mpf(1), mp.mpf(0.5)

    def sign(a):
        return one if a > 0 else (-one if a < 0 else zero)

    same = (
        "exp expm1 log log10 log1p sqrt sin cos tan sec csc cot asin acos atan asec acsc "
        "sinh cosh tanh sech csch coth asinh acosh atanh asech acsch erf erfc"
    ).split()
    return {
        **{name: getattr(mp, name) for name in same},
        "log2": lambda a: mp.log(a, 2),
        "cbrt": lambda a: sign(a) * mp.cbrt(abs(a)),
        "abs": abs,
        "acot": lambda a: mp.atan(one / a),
        "acoth": lambda a: mp.atanh(one / a),
        "sign": sign,
        "heaviside": lambda a: one if a > 0 else (zero if a < 0 else half),
        "softplus": lambda a: mp.log1p(mp.exp(a)),
        "relu": lambda a: a if a > 0 else zero,
        "sigmoid": lambda a: one / (one + mp.exp(-a)),
        "clip": lambda a, lo, hi: min(max(a, lo), hi),
        "max": max,
        "min": min,
    }


# every name the parser reads as a function (its own names and the spellings people use)
FUNCTION_NAMES = frozenset(ARITY) | frozenset(ALIASES)
