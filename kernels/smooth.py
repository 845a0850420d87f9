"""Smooth activations: sigmoid and tanh (more are added by the kernels issue)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from kernels._core import Activation, Properties, make_activation, register


@register("sigmoid")
def sigmoid() -> Activation:
    r"""Logistic sigmoid.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}},\quad
              \sigma'(z) = \sigma(z)\,\sigma(-z),\quad
              \sigma''(z) = -\sigma'(z)\tanh(z/2)

    ``lax.logistic`` never overflows; sigma(z) sigma(-z) keeps relative accuracy in both
    tails where sigma(1 - sigma) would round to 0.
    """

    def f(x):
        return lax.logistic(x)

    def d1(x):
        return lax.logistic(x) * lax.logistic(-x)

    def d2(x):
        return -d1(x) * jnp.tanh(x / 2)

    def reference(x):
        return 1 / (1 + jnp.exp(-x))

    return make_activation(
        "sigmoid",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(0.0, 1.0),
            bounded=True,
            monotonic=True,
            zero_centered=False,
            saturating="both",
            saturates_where="z -> -inf and z -> +inf",
            max_abs_grad=0.25,
            lipschitz=0.25,
            f_prime_at_zero=0.25,
        ),
        jax_nn=jax.nn.sigmoid,
        grad_from_output=lambda y: y * (1 - y),
        doc=sigmoid.__doc__,
    )


@register("tanh")
def tanh() -> Activation:
    r"""Hyperbolic tangent.

    .. math:: \tanh'(z) = 1 - \tanh^2(z) = \frac{4a}{(1+a)^2},\ a = e^{-2|z|},\quad
              \tanh''(z) = -2\tanh(z)\tanh'(z)

    The ``a`` form keeps relative accuracy for large |z|, where 1 - tanh^2 rounds to 0.
    """

    def f(x):
        return jnp.tanh(x)

    def d1(x):
        a = jnp.exp(-2 * jnp.abs(x))
        return 4 * a / jnp.square(1 + a)

    def d2(x):
        return -2 * jnp.tanh(x) * d1(x)

    def reference(x):
        return (jnp.exp(x) - jnp.exp(-x)) / (jnp.exp(x) + jnp.exp(-x))

    return make_activation(
        "tanh",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(-1.0, 1.0),
            bounded=True,
            monotonic=True,
            zero_centered=True,
            saturating="both",
            saturates_where="z -> -inf and z -> +inf",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=1.0,
        ),
        jax_nn=jnp.tanh,
        grad_from_output=lambda y: 1 - jnp.square(y),
        doc=tanh.__doc__,
    )
