"""Smooth saturating activations: sigmoid, tanh, softsign, softplus (ELU, GELU and SiLU are in
`kernels.smooth_relu`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from kernels._core import Activation, Kink, Properties, make_activation, register
from kernels._stable import INF, logistic_pair

__all__ = ["sigmoid", "softplus", "softsign", "tanh"]


@register("sigmoid")
def sigmoid() -> Activation:
    r"""Logistic sigmoid.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}},\quad
              \sigma'(z) = \sigma(z)\,\sigma(-z),\quad
              \sigma''(z) = -\sigma'(z)\tanh(z/2)

    ``lax.logistic`` never overflows; sigma(z) sigma(-z), formed as t (1 - t) with
    t = sigma(-|z|) (see `logistic_pair`), keeps relative accuracy in both tails where
    sigma(1 - sigma) would round to 0. f and f' each take one exp of z: recomputing it
    is cheaper than storing t for both (the jax.nn twin's f' reads y back instead).
    """

    def f(x):
        # 1 / (1 + e^-z) keeps relative accuracy in both tails by itself (e^-z is large,
        # not cancelled, for z < 0), and not sharing t with f' saves a memory pass.
        return lax.logistic(x)

    def d1(x):
        return logistic_pair(x)[1]

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


@register("softsign")
def softsign() -> Activation:
    r"""Softsign.

    .. math:: f(z) = \frac{z}{1 + |z|},\quad f'(z) = \frac{1}{(1 + |z|)^2},\quad
              f''(z) = \frac{-2\,\mathrm{sign}(z)}{(1 + |z|)^3}

    f' squares r = 1/(1 + |z|) rather than forming (1 + |z|)^2, which overflows first;
    f divides (z * r would lose z = max float to a subnormal r) and is sign(z) at ±inf.
    """

    def f(x):
        return jnp.where(jnp.isinf(x), jnp.sign(x), x / (1 + jnp.abs(x)))

    def d1(x):
        r = 1 / (1 + jnp.abs(x))
        return r * r

    def d2(x):
        r = 1 / (1 + jnp.abs(x))
        return -2 * jnp.sign(x) * r * r * r

    def reference(x):
        return x / (1 + jnp.abs(x))

    return make_activation(
        "softsign",
        f,
        d1,
        d2,
        reference,
        kinks=(
            Kink(
                at=0.0,
                left=2.0,
                right=-2.0,
                convention=0.0,
                reason="f''(0) = 0, the mean of the one-sided limits, keeps f'' odd like f",
                order=2,
                jax_nn=-2.0,
            ),
        ),
        properties=Properties(
            range=(-1.0, 1.0),
            bounded=True,
            monotonic=True,
            zero_centered=True,
            saturating="both",
            saturates_where="z -> ±inf, polynomially (f' ~ 1/z^2), slower than tanh",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=1.0,
        ),
        jax_nn=jax.nn.soft_sign,
        # |y| = |z|/(1+|z|) gives 1/(1+|z|) = 1 - |y|.
        grad_from_output=lambda y: jnp.square(1 - jnp.abs(y)),
        doc=softsign.__doc__,
    )


@register("softplus")
def softplus() -> Activation:
    r"""Softplus.

    .. math:: f(z) = \log(1 + e^z) = \mathrm{logaddexp}(z, 0),\quad f'(z) = \sigma(z),\quad
              f''(z) = \sigma(z)\,\sigma(-z)

    ``logaddexp`` never overflows; from y = f(z), f' = 1 - e^{-y} = -expm1(-y).
    """

    def f(x):
        return jnp.logaddexp(x, jnp.zeros_like(x))

    def d1(x):
        return lax.logistic(x)

    def d2(x):
        return lax.logistic(x) * lax.logistic(-x)

    def reference(x):
        return jnp.log(1 + jnp.exp(x))

    return make_activation(
        "softplus",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(0.0, INF),
            bounded=False,
            monotonic=True,
            zero_centered=False,
            saturating="negative",
            saturates_where="z -> -inf",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=0.5,
        ),
        jax_nn=jax.nn.softplus,
        grad_from_output=lambda y: -jnp.expm1(-y),
        doc=softplus.__doc__,
    )
