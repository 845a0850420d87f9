"""The formula language, public: parse a formula into its closed tree, differentiate it, lower it.

``kernels.from_formula`` builds an activation from a formula; this module is for code that
works with the trees themselves (the derivative checker in `analysis.checks`, tests).
The parser builds only a restricted tree (never `eval`, `exec` or `sympify`).

>>> from kernels import formula
>>> tree = formula.parse("z/(1+|z|)")
>>> df = formula.to_numpy(formula.derivative(tree))  # 1/(1+|z|)^2
>>> df([0.0, 1.0]).tolist()
[1.0, 0.25]

The modules of this package (``tree``, ``conditions``, ``derive``, ``lower``, ...) are public
too: the checker in `analysis.checks` walks the trees and their conditions.
"""

from kernels.formula.api import (
    MAX_CHARS,
    Parsed,
    check_params,
    parse,
    parse_full,
    split_sides,
    strip_lhs,
)
from kernels.formula.derive import derivative
from kernels.formula.lower import MpBackend, compile_tree, const_value, to_jax, to_numpy
from kernels.formula.tree import Expr, FormulaError

__all__ = [
    "MAX_CHARS",
    "Expr",
    "FormulaError",
    "MpBackend",
    "Parsed",
    "check_params",
    "compile_tree",
    "const_value",
    "derivative",
    "parse",
    "parse_full",
    "split_sides",
    "strip_lhs",
    "to_jax",
    "to_numpy",
]
