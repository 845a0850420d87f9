"""The losses of the gradient-flow analyses, one vocabulary for the LSTM and any other cell.

A loss is a function of the step outputs ys (B, T, ...) (the LSTM's outputs are its hs), named
in `LOSSES` or given as a callable:

* ``"last"`` (the default): L = 0.5 * mean_b ||y_T||^2 (`last_output_loss`);
* ``"mean"``: L = 0.5 * mean_{b,t} ||y_t||^2, every step contributes (`mean_output_loss`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array
Loss = Callable[[Array], Array]

__all__ = ["LOSSES", "Loss", "last_output_loss", "mean_output_loss", "resolve_loss"]


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


LOSSES: dict[str, Loss] = {"last": last_output_loss, "mean": mean_output_loss}


def resolve_loss(loss: Any, owner: str = "gradients") -> Loss:
    """The loss function for None (the default, "last"), a name in `LOSSES`, or a callable.

    Args:
        loss: None, "last", "mean" or a callable ys (B, T, ...) -> scalar.
        owner: the public function asking, named in the error.

    Returns:
        the callable.

    Raises:
        ValueError: an unknown name. TypeError: neither None, a name nor a callable.
    """
    if loss is None:
        return last_output_loss
    expected = f"None, {', '.join(LOSSES)} or a callable"
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"{owner}: loss must be {expected}, got {loss!r}")
        return LOSSES[loss]
    if not callable(loss):
        raise TypeError(f"{owner}: loss must be {expected}, got {loss!r}")
    return loss
