"""Gradient flossing (Engelken 2023): a loss that pushes the top Lyapunov exponents to a target.

For ``step(params, carry, x_t) -> (carry_t, y_t)`` and the trajectory driven by xs::

    lambda_1 >= ... >= lambda_k    the k largest Lyapunov exponents of carry_{t-1} -> carry_t,
                                   the whole carry (every state of the dict) flattened
    L_floss = (1/k) sum_i (lambda_i - target)^2

The exponents come from Benettin's QR method (`cell_stats.carry_lyapunov`, `lyapunov_qr`): a
random orthonormal frame Q (D, k) is pushed through the step's Jacobian-vector products and
re-orthonormalised by a reduced QR every step, lambda = mean ln|diag R|. The QR is tall (k <= D),
and JAX differentiates a tall reduced QR (not a wide one), so L_floss has a gradient with respect
to params: minimising it keeps the products of step Jacobians, and with them backpropagated
gradients, from growing or shrinking exponentially (exponents 0: neither).

References:
    Engelken 2023, "Gradient flossing: improving gradient descent through dynamic control of
    Jacobians" (NeurIPS); his Julia code, github.com/RainerEngelken/GradientFlossing,
    GradientFlossing_ExampleCode.jl (commit b05137409c87, `trainLSappend!`: the loss
    mean(abs2.(ls .- lstarget)) over nLE exponents); Benettin et al. 1980.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.flow.cell_stats import carry_lyapunov

Array = jax.Array
Carry = dict[str, Array]

__all__ = ["check_floss_k", "check_floss_target", "flossing_loss"]

_NAME = "flossing_loss"


def check_floss_k(k: Any, state_size: int, owner: str = _NAME) -> int:
    """k itself if it is an integer in [1, state_size], else ValueError naming ``owner``.

    Args: k: the number of exponents; state_size: D, the carry's numbers per sequence;
        owner: the function named in the message. Returns: k.
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= state_size:
        raise ValueError(
            f"{owner}: k must be an integer in [1, {state_size}] (the carry's size), got {k!r}"
        )
    return k


def check_floss_target(target: Any, owner: str = _NAME) -> float:
    """float(target) if it is a finite real number (negative is valid), else ValueError.

    Args: target: the exponents' target; owner: the function named in the message.
    Returns: the target as a float.
    """
    ok = isinstance(target, int | float) and not isinstance(target, bool)
    if not ok and hasattr(target, "shape") and jnp.shape(target) == ():
        try:
            target, ok = float(target), True
        except (TypeError, jax.errors.ConcretizationTypeError):
            ok = False
    if not ok or not math.isfinite(float(target)):
        raise ValueError(f"{owner}: target must be a finite real number, got {target!r}")
    return float(target)


def _batched(xs: ArrayLike, carry0: Any) -> tuple[Array, Carry]:
    """(xs (B, T, I), carry0 {name: (B, ...)}) from one trajectory or a batch; ValueError."""
    xs = jnp.asarray(xs)
    if not isinstance(carry0, dict) or not carry0:
        raise ValueError(f"{_NAME}: carry0 must be a non-empty dict of named states")
    carry0 = {n: jnp.asarray(v) for n, v in carry0.items()}
    if xs.ndim == 2:
        return xs[None], {n: v[None] for n, v in carry0.items()}
    if xs.ndim == 3:
        bad = {n: v.shape for n, v in carry0.items() if v.ndim < 1 or v.shape[0] != xs.shape[0]}
        if bad:
            raise ValueError(
                f"{_NAME}: with xs (B, T, I) = {tuple(xs.shape)} every state of carry0 must be "
                f"(B, ...) with B = {xs.shape[0]}, got {bad}"
            )
        return xs, carry0
    raise ValueError(
        f"{_NAME}: xs must be one trajectory (T, I) or a batch (B, T, I), got shape "
        f"{tuple(xs.shape)}"
    )


def flossing_loss(
    step: Callable,
    params: Any,
    xs: ArrayLike,
    carry0: Carry,
    k: int,
    *,
    target: float = 0.0,
    key: ArrayLike | None = None,
    burn_in: int = 0,
) -> Array:
    """mean_i (lambda_i - target)^2 over the k largest Lyapunov exponents, differentiable.

    Args:
      step: step(params, carry, x_t) -> (carry, y_t), the cells' convention (batched).
      params: its parameters (the loss is differentiable with respect to them).
      xs: one trajectory (T, I) with carry0 {name: (H,)}, or a batch (B, T, I) with carry0
        {name: (B, H)} (the exponents are averaged over the batch before the loss).
      carry0: the states the trajectory starts from.
      k: 1 <= k <= D, D the carry's numbers per sequence (all its states).
      target: the exponents' target, any finite real (Engelken's default 0: no growth, no
        decay; a negative one asks for a fading memory).
      key: PRNG key of the random initial frame (default key(0)), split per sequence.
      burn_in: steps whose ln|diag R| are not averaged (the frame aligns first), < T.
    Returns:
      scalar in the state's float dtype (float32 at least).

    >>> import jax, jax.numpy as jnp
    >>> from analysis import cells, gradients
    >>> cell = cells.get("rnn", input_size=1, hidden_size=4)
    >>> params = cell.init(jax.random.key(0))
    >>> xs = jnp.zeros((20, 1)); carry0 = {"h": jnp.zeros(4)}
    >>> loss = gradients.flossing_loss(cell.step, params, xs, carry0, 2)
    >>> bool(jnp.isfinite(jax.grad(gradients.flossing_loss, argnums=1)(
    ...     cell.step, params, xs, carry0, 2)["u"]).all())
    True
    """
    if not callable(step):
        raise ValueError(f"{_NAME}: step must be callable, got {type(step).__name__}")
    xs, carry0 = _batched(xs, carry0)
    d = sum(math.prod(v.shape[1:]) for v in carry0.values())
    check_floss_k(k, d)
    target = check_floss_target(target)
    t_len = xs.shape[1]
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < t_len:
        raise ValueError(
            f"{_NAME}: burn_in must be an integer in [0, {t_len - 1}], got {burn_in!r}"
        )
    key = jax.random.key(0) if key is None else key
    lam = carry_lyapunov(step, params, xs, carry0, k, key, burn_in=burn_in)
    return jnp.mean(jnp.square(lam - jnp.asarray(target, lam.dtype)))
