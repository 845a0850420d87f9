"""The step convention shared by the gradient-flow analyses of any cell (the losses are in
`analysis.flow.losses`).

`StaticStep` / `static_step`: a step function as a hashable, jit-static value that also takes a
perturbation d of the carry (see `analysis.flow.state_norms`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax

from analysis.cells.base import perturb_after

Array = jax.Array
Carry = dict[str, Array]

__all__ = ["StaticStep", "static_step"]


@dataclasses.dataclass(frozen=True)
class StaticStep:
    """step(params, carry, x, d) -> (carry', y'), with d added where the step allows it.

    A jit-static stand-in for a step function: a bound method ``cell.step`` is held as
    (function, cell), so that an equal cell built anew reuses the compiled pass (bound
    methods compare their owners by identity). ``d = None`` runs the plain step.
    """

    fn: Callable[..., tuple[Carry, Any]]
    owner: Any
    native: bool

    def __call__(
        self, params: Any, carry: Carry, x_t: Array, d: Carry | None = None
    ) -> tuple[Carry, Any]:
        """(carry_t, y_t) of the wrapped step, perturbed by d (see the module docstring)."""
        step = self.fn if self.owner is None else functools.partial(self.fn, self.owner)
        if self.native:
            return step(params, carry, x_t, perturb=d)
        new, y = step(params, carry, x_t)
        return perturb_after(dict(new), y, d)


def static_step(step: Any) -> StaticStep:
    """Wrap `step` as a hashable `StaticStep` (detects a ``perturb`` keyword).

    Args: step(params, carry, x_t[, perturb]) -> (carry, y_t). Returns: the `StaticStep`.
    """
    if not callable(step):
        raise ValueError(f"state_grad_norms: step must be callable, got {type(step).__name__}")
    try:
        native = "perturb" in inspect.signature(step).parameters
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        native = False
    owner = getattr(step, "__self__", None)
    if owner is not None and hasattr(step, "__func__"):
        try:
            hash(owner)
            return StaticStep(step.__func__, owner, native)
        except TypeError:
            pass
    return StaticStep(step, None, native)
