"""The formula parser, for old imports: it lives in `kernels._formula` (kernels build
activations from formulas, and `kernels` imports nothing from `analysis`)."""

from kernels._formula import (
    MAX_CHARS,
    Expr,
    FormulaError,
    check_params,
    const_value,
    parse,
    parse_full,
    split_sides,
    strip_lhs,
)
from kernels._formula.conditions import uncovered
from kernels._formula.parser import MAX_DEPTH
from kernels._formula.tree import (
    Call,
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
    walk,
)

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "Call",
    "Expr",
    "FormulaError",
    "Interval",
    "Neg",
    "Num",
    "Param",
    "Piecewise",
    "Pow",
    "Prod",
    "Sum",
    "Var",
    "Where",
    "check_params",
    "children",
    "const_value",
    "parse",
    "parse_full",
    "split_sides",
    "strip_lhs",
    "uncovered",
    "walk",
]
