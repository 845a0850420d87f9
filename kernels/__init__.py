"""actgrad kernels: activation functions with stable forwards and hand-written derivatives.

Importing the submodules registers their kernels. ``get("formula:EXPR")`` builds the
activation of EXPR on first use, so every place that takes a kernel name takes a formula.

Examples:
    >>> import kernels
    >>> act = kernels.get("tanh")
    >>> [round(float(v), 6) for v in (act.fn(0.5), act.grad(0.5), act.grad2(0.5))]
    [0.462117, 0.786448, -0.726862]
    >>> mine = kernels.from_formula("z/(1+|z|)", name="my_softsign")  # or "formula:z/(1+|z|)"
    >>> round(float(mine.grad(1.0)), 6)  # 1/(1+|z|)^2
    0.25
"""

from kernels import piecewise, smooth, smooth_relu  # noqa: F401  (registration side effect)
from kernels._core import (
    Activation,
    Kink,
    Properties,
    builtin_names,
    default_params,
    get,
    make_activation,
    names,
    register,
    registered,
    unregister,
)
from kernels.formula import FormulaError
from kernels.formula_kernel import expression_of, from_formula

__all__ = [
    "Activation",
    "FormulaError",
    "Kink",
    "Properties",
    "builtin_names",
    "default_params",
    "expression_of",
    "from_formula",
    "get",
    "make_activation",
    "names",
    "register",
    "registered",
    "unregister",
]
