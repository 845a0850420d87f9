"""Piecewise-linear activations: kinks get a custom_jvp convention, stated at each one."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kernels._core import Activation, Kink, Properties, make_activation, register


@register("relu")
def relu() -> Activation:
    r"""Rectified linear unit.

    .. math:: \mathrm{relu}(z) = \max(z, 0),\quad \mathrm{relu}'(z) = [z > 0],\quad
              \mathrm{relu}''(z) = 0
    """

    def f(x):
        return jnp.maximum(x, 0)

    def d1(x):
        return jnp.where(x > 0, jnp.ones_like(x), jnp.zeros_like(x))

    def d2(x):
        return jnp.zeros_like(x)

    def reference(x):
        return jnp.where(x > 0, x, 0 * x)

    return make_activation(
        "relu",
        f,
        d1,
        d2,
        reference,
        kinks=(
            Kink(
                at=0.0,
                left=0.0,
                right=1.0,
                convention=0.0,
                reason="relu'(0) = 0 as on the seed page and in jax.nn: a unit at 0 is off",
            ),
        ),
        properties=Properties(
            range=(0.0, float("inf")),
            bounded=False,
            monotonic=True,
            zero_centered=False,
            saturating="negative",
            saturates_where="z < 0 (f' = 0 exactly)",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=0.0,
        ),
        jax_nn=jax.nn.relu,
        grad_from_output=lambda y: jnp.where(y > 0, jnp.ones_like(y), jnp.zeros_like(y)),
        doc=relu.__doc__,
    )


@register("identity")
def identity() -> Activation:
    r"""Identity, for Greff et al.'s no-input/no-output-activation LSTM variants.

    .. math:: f(z) = z,\quad f'(z) = 1,\quad f''(z) = 0
    """

    def f(x):
        return x

    def d1(x):
        return jnp.ones_like(x)

    def d2(x):
        return jnp.zeros_like(x)

    return make_activation(
        "identity",
        f,
        d1,
        d2,
        f,
        properties=Properties(
            range=(float("-inf"), float("inf")),
            bounded=False,
            monotonic=True,
            zero_centered=True,
            saturating="none",
            saturates_where="never",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=1.0,
        ),
        jax_nn=None,
        grad_from_output=lambda y: jnp.ones_like(y),
        doc=identity.__doc__,
    )
