"""actgrad kernels: activation functions with stable forwards and hand-written derivatives.

>>> import kernels
>>> act = kernels.get("tanh")
>>> act.fn(0.5), act.grad(0.5), act.grad2(0.5)

Importing the submodules registers their kernels.
"""

from kernels import piecewise, smooth  # noqa: F401  (registration side effect)
from kernels._core import Activation, Kink, Properties, default_params, get, names

__all__ = ["Activation", "Kink", "Properties", "default_params", "get", "names"]
