"""How well conditioned the state map is, beyond the gradient norm, for any cell's step.

For ``step(params, carry, x_t) -> (carry_t, y_t)`` with the whole carry flattened per sequence
into s (D,) (`cell_stats.flat_step`), J_t = d s_t / d s_{t-1} (D, D):

* `jacobian_singular_values`: sigma_max(J_t) and sigma_min(J_t) at every step, and their
  medians over steps and sequences: how much one step can stretch and squash a perturbation.
* `log10_condition`: the condition number of the long-term Jacobian J_T ... J_1 from the full
  Lyapunov spectrum (k = D), kappa = exp(n (lambda_1 - lambda_D)), n = T - burn_in the steps
  the exponents average over, reported as log10 kappa = n (lambda_1 - lambda_D) / ln 10 (kappa
  itself overflows float64 beyond n (lambda_1 - lambda_D) ~ 709). Engelken 2023 reports that
  gradient flossing lowers it.

References: Engelken 2023, "Gradient flossing" (NeurIPS), the condition number of the long-term
Jacobian; Benettin et al. 1980 (QR method); Pascanu, Mikolov & Bengio 2013 (one step's
singular values bound the gradient's growth and decay).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.flow.cell_stats import carry_lyapunov, flat_step
from analysis.flow.steps import static_step

Array = jax.Array
Carry = dict[str, Array]

__all__ = ["jacobian_singular_values", "log10_condition"]


def _check(xs: ArrayLike, carry0: Any, owner: str) -> tuple[Array, Carry]:
    xs = jnp.asarray(xs)
    if xs.ndim != 3:
        raise ValueError(f"{owner}: xs must be (B, T, I), got shape {tuple(xs.shape)}")
    if not isinstance(carry0, dict) or not carry0:
        raise ValueError(f"{owner}: carry0 must be a non-empty dict of named states")
    return xs, {n: jnp.asarray(v) for n, v in carry0.items()}


@functools.partial(jax.jit, static_argnames=("step",))
def _singular(step, params, xs, carry0):
    def one(x_seq: Array, c0: Carry) -> tuple[Array, Array]:
        fn, s0 = flat_step(step, params, c0)

        def body(s: Array, x: Array) -> tuple[Array, tuple[Array, Array]]:
            jac = jax.jacfwd(fn)(s, x)
            sv = jnp.linalg.svd(jac, compute_uv=False)  # descending
            return fn(s, x), (sv[0], sv[-1])

        _, (hi, lo) = jax.lax.scan(body, s0, x_seq)
        return hi, lo

    return jax.vmap(one)(xs, carry0)


def jacobian_singular_values(
    step: Callable, params: Any, xs: ArrayLike, carry0: Carry
) -> dict[str, Array]:
    """sigma_max and sigma_min of the per-step state Jacobian J_t (D, D), and their medians.

    Args: step(params, carry, x_t) -> (carry, y_t); params; xs (B, T, I); carry0
        {name: (B, ...)}, D numbers per sequence.
    Returns: {"sigma_max": (B, T), "sigma_min": (B, T), "median_max": scalar,
        "median_min": scalar (medians over all steps and sequences)}.

    >>> import jax, jax.numpy as jnp
    >>> from analysis import cells, gradients
    >>> cell = cells.get("rnn", input_size=1, hidden_size=4, candidate="identity")
    >>> p = dict(cell.init(jax.random.key(0)), u=0.5 * jnp.eye(4))
    >>> out = gradients.jacobian_singular_values(cell.step, p, jnp.ones((1, 3, 1)),
    ...                                          cell.initial_carry(1))
    >>> round(float(out["median_max"]), 6), round(float(out["median_min"]), 6)
    (0.5, 0.5)
    """
    xs, carry0 = _check(xs, carry0, "jacobian_singular_values")
    hi, lo = _singular(static_step(step), params, xs, carry0)
    return {
        "sigma_max": hi,
        "sigma_min": lo,
        "median_max": jnp.median(hi),
        "median_min": jnp.median(lo),
    }


def log10_condition(
    step: Callable,
    params: Any,
    xs: ArrayLike,
    carry0: Carry,
    *,
    key: ArrayLike | None = None,
    burn_in: int = 0,
) -> dict[str, Array]:
    """log10 of the long-term Jacobian's condition number from the full Lyapunov spectrum.

    Formula: log10 kappa = n (lambda_1 - lambda_D) / ln 10, n = T - burn_in, lambda from
    `cell_stats.carry_lyapunov` with k = D (averaged over the batch).

    Args: step; params; xs (B, T, I); carry0 {name: (B, ...)}; key: the frame's PRNG key
        (default key(0)); burn_in: steps not averaged, in [0, T - 1].
    Returns: {"log10_condition": scalar, "spectrum": (D,) exponents per step, descending}.
    """
    xs, carry0 = _check(xs, carry0, "log10_condition")
    t_len = xs.shape[1]
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < t_len:
        raise ValueError(f"log10_condition: burn_in must be in [0, {t_len - 1}], got {burn_in!r}")
    d = sum(math.prod(v.shape[1:]) for v in carry0.values())
    key = jax.random.key(0) if key is None else key
    lam = carry_lyapunov(step, params, xs, carry0, d, key, burn_in=burn_in)
    return {
        "log10_condition": (t_len - burn_in) * (lam[0] - lam[-1]) / math.log(10.0),
        "spectrum": lam,
    }
