"""The formula language: parser, closed tree, symbolic derivative and the one evaluator.

Private to `kernels` (user code goes through `kernels.from_formula`); `analysis.checks`
imports it for the derivative checker.
"""

from kernels._formula.api import (
    MAX_CHARS,
    Parsed,
    check_params,
    parse,
    parse_full,
    split_sides,
    strip_lhs,
)
from kernels._formula.lower import MpBackend, compile_tree, const_value, to_jax, to_numpy
from kernels._formula.tree import Expr, FormulaError

__all__ = [
    "MAX_CHARS",
    "Expr",
    "FormulaError",
    "MpBackend",
    "Parsed",
    "check_params",
    "compile_tree",
    "const_value",
    "parse",
    "parse_full",
    "split_sides",
    "strip_lhs",
    "to_jax",
    "to_numpy",
]
