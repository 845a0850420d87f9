"""The formula language, public: parse a formula into its closed tree, differentiate it, lower it.

``kernels.from_formula`` builds an activation from a formula; this module is for code that
works with the trees themselves (the derivative checker in `analysis.checks`, tests).
The parser builds only a restricted tree (never `eval`, `exec` or `sympify`).

>>> from kernels import formula
>>> tree = formula.parse("z/(1+|z|)")
>>> formula.to_numpy(formula.derivative(tree))
"""

from kernels._formula import (
    MAX_CHARS,
    Expr,
    FormulaError,
    MpBackend,
    Parsed,
    check_params,
    compile_tree,
    const_value,
    parse,
    parse_full,
    split_sides,
    strip_lhs,
    to_jax,
    to_numpy,
)
from kernels._formula.derive import derivative

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
