"""Smooth activations: sigmoid, tanh, softsign, softplus, elu, gelu, gelu_tanh, silu."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from kernels._core import Activation, Kink, Properties, make_activation, register

__all__ = ["elu", "gelu", "gelu_tanh", "sigmoid", "silu", "softplus", "softsign", "tanh"]


def _logistic_pair(v):
    """(sigma(v), sigma'(v)) from one exp: t = sigma(-|v|) <= 1/2, then
    sigma(v) = 1 - t (v >= 0) or t, and sigma'(v) = t (1 - t).

    Why: sigma(v) sigma(-v) costs two exps and 1 - t never cancels (t <= 1/2), so both
    keep relative accuracy in both tails. Use it inside a derivative only: a forward
    pass that also called it would share t with f', and XLA then writes t to memory
    and reads it back twice (the forward uses `lax.logistic`, accurate on its own).
    """
    t = lax.logistic(-jnp.abs(v))
    return jnp.where(v >= 0, 1 - t, t), t * (1 - t)


@register("sigmoid")
def sigmoid() -> Activation:
    r"""Logistic sigmoid.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}},\quad
              \sigma'(z) = \sigma(z)\,\sigma(-z),\quad
              \sigma''(z) = -\sigma'(z)\tanh(z/2)

    ``lax.logistic`` never overflows; sigma(z) sigma(-z), formed as t (1 - t) with
    t = sigma(-|z|) (see `_logistic_pair`), keeps relative accuracy in both tails where
    sigma(1 - sigma) would round to 0. f and f' each take one exp of z: recomputing it
    is cheaper than storing t for both (the jax.nn twin's f' reads y back instead).
    """

    def f(x):
        # 1 / (1 + e^-z) keeps relative accuracy in both tails by itself (e^-z is large,
        # not cancelled, for z < 0), and not sharing t with f' saves a memory pass.
        return lax.logistic(x)

    def d1(x):
        return _logistic_pair(x)[1]

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


# Beyond |z| = _CLIP every derivative term below that carries exp(-z^2/2), sigma(-|z|) or
# the like is exactly 0 even in float64, so clipping z there changes no finite result and
# keeps inf * 0 (NaN) out of the formulas at z = ±inf.
_CLIP = 1000.0
_SQRT_2PI_INV = 0.3989422804014327  # 1 / sqrt(2 pi)
_INF = float("inf")


def _clip(x):
    return jnp.clip(x, -_CLIP, _CLIP)


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
            range=(0.0, _INF),
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
            range=(-a, _INF) if a >= 0 else (0.0, _INF),
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
        return jnp.where(x < -_CLIP, jnp.zeros_like(x), x * _Phi(_clip(x)))

    def d1(x):
        xc = _clip(x)
        return _Phi(xc) + xc * _phi(xc)

    def d2(x):
        xc = _clip(x)
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
            range=(-0.16997120747990369, _INF),
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
    xc = _clip(x)
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
        return xc, v, dv, *_logistic_pair(v)

    def f(x):
        # sigma(v) by lax.logistic, not `parts`: see `_logistic_pair` on sharing t.
        return jnp.where(x < -_CLIP, jnp.zeros_like(x), x * lax.logistic(_gelu_v(x)[1]))

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
            range=(-0.17004075057125406, _INF),
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
        # lax.logistic, not `_logistic_pair`: see there on sharing t with f'.
        return jnp.where(x < -_CLIP, jnp.zeros_like(x), x * lax.logistic(_clip(x)))

    def d1(x):
        xc = _clip(x)
        s, ds = _logistic_pair(xc)
        return s + xc * ds

    def d2(x):
        xc = _clip(x)
        ds = _logistic_pair(xc)[1]
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
            range=(-0.2784645427610738, _INF),
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
