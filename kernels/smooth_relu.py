"""Smooth ReLU-like activations: elu, gelu (exact and tanh form), silu.

They share the stable logistic pair and the clip of `kernels._stable` with `kernels.smooth`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from kernels._core import Activation, Kink, Properties, make_activation, register
from kernels._stable import CLIP, INF, clip, logistic_pair

__all__ = ["elu", "gelu", "gelu_tanh", "silu"]

_SQRT_2PI_INV = 0.3989422804014327  # 1 / sqrt(2 pi)


@register("elu", alpha=1.0)
def elu(alpha: float) -> Activation:
    r"""Exponential linear unit.

    .. math:: f(z) = z\ (z > 0),\ \alpha(e^z - 1)\ (z \le 0),\quad
              f'(z) = 1\ (z > 0),\ \alpha e^z\ (z \le 0),\quad
              f''(z) = 0\ (z > 0),\ \alpha e^z\ (z \le 0)

    ``expm1`` keeps relative accuracy near 0; the exponential sees min(z, 0) so the
    unused branch never overflows. For alpha = 1, f' is continuous and only f'' jumps at 0.
    """
    a = alpha

    def f(x):
        return jnp.where(x > 0, x, a * jnp.expm1(jnp.minimum(x, 0)))

    def d1(x):
        return jnp.where(x > 0, jnp.ones_like(x), a * jnp.exp(jnp.minimum(x, 0)))

    def d2(x):
        return jnp.where(x > 0, jnp.zeros_like(x), a * jnp.exp(jnp.minimum(x, 0)))

    def reference(x):
        return jnp.where(x > 0, x, a * (jnp.exp(x) - 1))

    why = "the z <= 0 branch at 0 (alpha e^0), as jax.nn and PyTorch do"
    second = Kink(
        at=0.0,
        left=a,
        right=0.0,
        convention=a,
        reason=f"f''(0) = alpha: {why}",
        order=2,
        jax_nn=a,
    )
    first = Kink(at=0.0, left=a, right=1.0, convention=a, reason=f"f'(0) = alpha: {why}", jax_nn=a)
    slope = max(1.0, abs(a))
    return make_activation(
        "elu",
        f,
        d1,
        d2,
        reference,
        kinks=(second,) if a == 1 else (first, second),
        properties=Properties(
            range=(-a, INF) if a >= 0 else (0.0, INF),
            bounded=False,
            monotonic=a >= 0,
            zero_centered=False,
            saturating="negative",
            saturates_where="z -> -inf (f' = alpha e^z)",
            max_abs_grad=slope,
            lipschitz=slope,
            f_prime_at_zero=a,
        ),
        params={"alpha": a},
        jax_nn=partial(jax.nn.elu, alpha=a),
        # y <= 0 exactly when z <= 0 (alpha > 0), and there alpha e^z = y + alpha.
        grad_from_output=((lambda y: jnp.where(y > 0, jnp.ones_like(y), y + a)) if a > 0 else None),
        doc=elu.__doc__,
    )


def _phi(x):
    return _SQRT_2PI_INV * jnp.exp(-0.5 * x * x)


def _Phi(x):
    # erfc keeps the lower tail accurate where 1 + erf(x/sqrt 2) would cancel to 0.
    return 0.5 * lax.erfc(-x * 0.7071067811865476)


@register("gelu")
def gelu() -> Activation:
    r"""GELU, exact (erf) form; ``gelu_tanh`` is the tanh approximation.

    .. math:: f(z) = z\,\Phi(z),\quad f'(z) = \Phi(z) + z\,\varphi(z),\quad
              f''(z) = \varphi(z)\,(2 - z^2)

    with Phi the standard normal CDF (via erfc, accurate in the lower tail) and phi its
    density. jax.nn twin: ``jax.nn.gelu(approximate=False)``.
    """

    def f(x):
        return jnp.where(x < -CLIP, jnp.zeros_like(x), x * _Phi(clip(x)))

    def d1(x):
        xc = clip(x)
        return _Phi(xc) + xc * _phi(xc)

    def d2(x):
        xc = clip(x)
        p = _phi(xc)
        # 2 phi - z (z phi): z^2 never forms on its own, so it cannot overflow.
        return 2 * p - xc * (xc * p)

    def reference(x):
        return 0.5 * x * (1 + jax.scipy.special.erf(x / jnp.sqrt(2.0)))

    return make_activation(
        "gelu",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(-0.16997120747990369, INF),
            bounded=False,
            monotonic=False,
            zero_centered=False,
            saturating="negative",
            saturates_where="z -> -inf",
            max_abs_grad=1.128904145185155,
            lipschitz=1.128904145185155,
            f_prime_at_zero=0.5,
        ),
        jax_nn=partial(jax.nn.gelu, approximate=False),
        doc=gelu.__doc__,
    )


_GELU_C = 0.7978845608028654  # sqrt(2 / pi)
_GELU_A = 0.044715


def _gelu_v(x):
    """(z clipped, v = 2 sqrt(2/pi) (z + 0.044715 z^3)) for `gelu_tanh`."""
    xc = clip(x)
    return xc, 2 * _GELU_C * xc * (1 + _GELU_A * (xc * xc))


@register("gelu_tanh")
def gelu_tanh() -> Activation:
    r"""GELU, tanh approximation (as ``jax.nn.gelu(approximate=True)``, PyTorch's "tanh").

    .. math:: f(z) = \tfrac12 z\,(1 + \tanh u) = z\,\sigma(v),\quad
              u = \sqrt{2/\pi}\,(z + 0.044715 z^3),\ v = 2u,

    .. math:: f'(z) = \sigma(v) + z v' \sigma'(v),\quad
              f''(z) = \sigma'(v)\,[2 v' + z v'' - z v'^2 \tanh(v/2)]

    with v' = 2 sqrt(2/pi)(1 + 3 a z^2), v'' = 12 sqrt(2/pi) a z and
    sigma'(v) = sigma(v) sigma(-v). 1 + tanh(u) = 2 sigma(2u) avoids the cancellation of
    1 + tanh(u) for z < 0.
    """

    def parts(x):
        xc, v = _gelu_v(x)
        dv = 2 * _GELU_C * (1 + 3 * _GELU_A * (xc * xc))
        return xc, v, dv, *logistic_pair(v)

    def f(x):
        # sigma(v) by lax.logistic, not `parts`: see `logistic_pair` on sharing t.
        return jnp.where(x < -CLIP, jnp.zeros_like(x), x * lax.logistic(_gelu_v(x)[1]))

    def d1(x):
        xc, _, dv, s, ds = parts(x)
        return s + (ds * xc) * dv

    def d2(x):
        xc, v, dv, _, ds = parts(x)
        d2v = 12 * _GELU_C * _GELU_A * xc
        # ds * z first: it is 0 wherever the other factors would be huge.
        dsx = ds * xc
        return 2 * ds * dv + dsx * d2v - (dsx * dv) * dv * jnp.tanh(v / 2)

    def reference(x):
        return 0.5 * x * (1 + jnp.tanh(_GELU_C * (x + _GELU_A * x**3)))

    return make_activation(
        "gelu_tanh",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(-0.17004075057125406, INF),
            bounded=False,
            monotonic=False,
            zero_centered=False,
            saturating="negative",
            saturates_where="z -> -inf",
            max_abs_grad=1.128993068658772,
            lipschitz=1.128993068658772,
            f_prime_at_zero=0.5,
        ),
        jax_nn=partial(jax.nn.gelu, approximate=True),
        doc=gelu_tanh.__doc__,
    )


@register("silu")
def silu() -> Activation:
    r"""SiLU (swish with beta = 1).

    .. math:: f(z) = z\,\sigma(z),\quad f'(z) = \sigma(z) + z\,\sigma(z)\sigma(-z),\quad
              f''(z) = \sigma(z)\sigma(-z)\,(2 - z \tanh(z/2))
    """

    def f(x):
        # lax.logistic, not `logistic_pair`: see there on sharing t with f'.
        return jnp.where(x < -CLIP, jnp.zeros_like(x), x * lax.logistic(clip(x)))

    def d1(x):
        xc = clip(x)
        s, ds = logistic_pair(xc)
        return s + xc * ds

    def d2(x):
        xc = clip(x)
        ds = logistic_pair(xc)[1]
        return 2 * ds - (xc * ds) * jnp.tanh(xc / 2)

    def reference(x):
        return x / (1 + jnp.exp(-x))

    return make_activation(
        "silu",
        f,
        d1,
        d2,
        reference,
        properties=Properties(
            range=(-0.2784645427610738, INF),
            bounded=False,
            monotonic=False,
            zero_centered=False,
            saturating="negative",
            saturates_where="z -> -inf",
            max_abs_grad=1.099839320128867,
            lipschitz=1.099839320128867,
            f_prime_at_zero=0.5,
        ),
        jax_nn=jax.nn.silu,
        doc=silu.__doc__,
    )
