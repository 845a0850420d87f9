"""The step and loss conventions shared by the gradient-flow analyses of any cell.

* `StaticStep` / `static_step`: a step function as a hashable, jit-static value that also
  takes a perturbation d of the carry (see `analysis.flow.state_norms`).
* `last_output_loss` (the default, 0.5 * mean_b ||y_T||^2) and `mean_output_loss`
  (0.5 * mean_{b,t} ||y_t||^2), by name in `LOSSES`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from analysis.cells.base import perturb_after

Array = jax.Array
Carry = dict[str, Array]

__all__ = [
    "LOSSES",
    "StaticStep",
    "last_output_loss",
    "mean_output_loss",
    "resolve_loss",
    "static_step",
]


def last_output_loss(ys: Array) -> Array:
    """L = 0.5 * mean_b ||y_T||^2: the default loss.

    Args: ys (B, T, ...), the step outputs. Returns: a scalar.
    """
    last = ys[:, -1].reshape(ys.shape[0], -1)
    return 0.5 * jnp.mean(jnp.sum(last**2, axis=-1))


def mean_output_loss(ys: Array) -> Array:
    """L = 0.5 * mean_{b,t} ||y_t||^2: every step contributes.

    Args: ys (B, T, ...), the step outputs. Returns: a scalar.
    """
    flat = ys.reshape(ys.shape[0], ys.shape[1], -1)
    return 0.5 * jnp.mean(jnp.sum(flat**2, axis=-1))


LOSSES: dict[str, Callable[[Array], Array]] = {"last": last_output_loss, "mean": mean_output_loss}


def resolve_loss(loss: Any) -> Callable[[Array], Array]:
    """The loss function for None (the default), a name in `LOSSES`, or a callable.

    Args: loss: None, "last", "mean" or a callable ys (B, T, ...) -> scalar.
    Returns: the callable. Raises ValueError (one line) for anything else.
    """
    if loss is None:
        return last_output_loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    if callable(loss) and not isinstance(loss, str):
        return loss
    raise ValueError(
        f"state_grad_norms: loss must be None, {', '.join(LOSSES)} or a callable, got {loss!r}"
    )


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
