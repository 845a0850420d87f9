"""Piecewise-linear activations: kinks get a custom_jvp convention, stated at each one.

Where a select would map NaN to a constant, `keep_nan` puts the NaN back, so NaN input
gives NaN in f, f' and f'' (jax.nn gives 0 for relu'(NaN); we do not hide it).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from kernels._core import Activation, Kink, Properties, keep_nan, make_activation, register

_INF = float("inf")

__all__ = ["hard_sigmoid", "hard_tanh", "identity", "leaky_relu", "relu"]


def _step(x, lo, hi, closed: bool):
    """1 on the interval (lo, hi) (closed when ``closed``), else 0, NaN kept."""
    inside = (x >= lo) if closed else (x > lo)
    if hi != _INF:
        inside = inside & ((x <= hi) if closed else (x < hi))
    return keep_nan(x, jnp.where(inside, 1, 0).astype(x.dtype))


def _zero2(x):
    return keep_nan(x, jnp.zeros_like(x))


@register("relu")
def relu() -> Activation:
    r"""Rectified linear unit.

    .. math:: \mathrm{relu}(z) = \max(z, 0),\quad \mathrm{relu}'(z) = [z > 0],\quad
              \mathrm{relu}''(z) = 0
    """

    def f(x):
        return jnp.maximum(x, 0)

    def d1(x):
        return _step(x, 0, _INF, closed=False)

    def reference(x):
        return jnp.where(x > 0, x, 0 * x)

    return make_activation(
        "relu",
        f,
        d1,
        _zero2,
        reference,
        kinks=(
            Kink(
                at=0.0,
                left=0.0,
                right=1.0,
                convention=0.0,
                reason="relu'(0) = 0 as on the seed page and in jax.nn: a unit at 0 is off",
                jax_nn=0.0,
            ),
        ),
        properties=Properties(
            range=(0.0, _INF),
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
        grad_from_output=lambda y: _step(y, 0, _INF, closed=False),
        doc=relu.__doc__,
    )


def _leaky_kink(k: float) -> Kink:
    return Kink(
        at=0.0,
        left=k,
        right=1.0,
        convention=k,
        reason=(
            "leaky'(0) = k as on the seed page and in PyTorch, so that k = 0 gives "
            "relu'(0) = 0; jax.nn (where(x >= 0, ...)) gives 1"
        ),
        jax_nn=1.0,
    )


def _leaky_properties(k: float) -> Properties:
    slope = max(1.0, abs(k))
    return Properties(
        range=(-_INF, _INF) if k > 0 else (0.0, _INF),
        bounded=False,
        monotonic=k >= 0,
        zero_centered=k == 1,
        saturating="negative" if k == 0 else "none",
        saturates_where="z < 0 (f' = 0 exactly)" if k == 0 else "never",
        max_abs_grad=slope,
        lipschitz=slope,
        f_prime_at_zero=k,
    )


@register("leaky_relu", negative_slope=0.01)
def leaky_relu(negative_slope: float) -> Activation:
    r"""Leaky ReLU with slope ``k = negative_slope`` below zero.

    .. math:: \mathrm{leaky}(z) = z\ (z > 0),\ k z\ (z \le 0),\quad
              \mathrm{leaky}'(z) = 1\ (z > 0),\ k\ (z \le 0),\quad \mathrm{leaky}''(z) = 0

    Written with a select, not ``max(z, k z)``, so that it is also right for k > 1. For
    k = 0 the negative side is an exact 0 (0 * -inf would be NaN).
    """
    k = negative_slope

    def f(x):
        # k * NaN is NaN already; only the exact 0 of k = 0 needs the NaN put back.
        neg = k * x if k != 0 else keep_nan(x, jnp.zeros_like(x))
        return jnp.where(x > 0, x, neg)

    def d1(x):
        return keep_nan(x, jnp.where(x > 0, 1, k).astype(x.dtype))

    def reference(x):
        return jnp.where(x > 0, x, k * x)

    def from_output(y):
        # y > 0 exactly when z > 0 for k > 0 (and y = 0 on z <= 0 for k = 0); for k < 0
        # y >= 0 everywhere and does not tell the sides apart, so none is offered then.
        return keep_nan(y, jnp.where(y > 0, 1, k).astype(y.dtype))

    return make_activation(
        "leaky_relu",
        f,
        d1,
        _zero2,
        reference,
        kinks=(_leaky_kink(k),),
        properties=_leaky_properties(k),
        params={"negative_slope": k},
        jax_nn=partial(jax.nn.leaky_relu, negative_slope=k),
        grad_from_output=from_output if k >= 0 else None,
        doc=leaky_relu.__doc__,
    )


@register("hard_tanh")
def hard_tanh() -> Activation:
    r"""Hard tanh: the identity clipped to [-1, 1].

    .. math:: \mathrm{hardtanh}(z) = \min(\max(z, -1), 1),\quad
              \mathrm{hardtanh}'(z) = [-1 \le z \le 1],\quad \mathrm{hardtanh}''(z) = 0

    ``grad_from_output`` gives 0 at y = ±1: from y alone z = 1 and z > 1 look the same, so
    it takes the saturated side; it differs from ``grad`` only at z = ±1 exactly.
    """

    def f(x):
        return jnp.clip(x, -1, 1)

    def d1(x):
        return _step(x, -1, 1, closed=True)

    def reference(x):
        return jnp.where(x < -1, -1.0, jnp.where(x > 1, 1.0, x)).astype(x.dtype)

    reason = "hardtanh'(±1) = 1: the seed page (-1 <= z <= 1) and jax.nn agree; PyTorch uses 0"
    return make_activation(
        "hard_tanh",
        f,
        d1,
        _zero2,
        reference,
        kinks=(
            Kink(at=-1.0, left=0.0, right=1.0, convention=1.0, reason=reason, jax_nn=1.0),
            Kink(at=1.0, left=1.0, right=0.0, convention=1.0, reason=reason, jax_nn=1.0),
        ),
        properties=Properties(
            range=(-1.0, 1.0),
            bounded=True,
            monotonic=True,
            zero_centered=True,
            saturating="both",
            saturates_where="|z| > 1 (f' = 0 exactly)",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=1.0,
        ),
        jax_nn=jax.nn.hard_tanh,
        grad_from_output=lambda y: _step(y, -1, 1, closed=False),
        doc=hard_tanh.__doc__,
    )


@register("hard_sigmoid")
def hard_sigmoid() -> Activation:
    r"""Hard sigmoid, jax.nn's definition (as PyTorch's ``hardsigmoid``).

    .. math:: \mathrm{hardsigmoid}(z) = \mathrm{relu6}(z + 3) / 6
              = \min(\max(z + 3, 0), 6) / 6,\quad
              \mathrm{hardsigmoid}'(z) = [-3 \le z \le 3] / 6

    (Keras 2 used clip(0.2 z + 0.5, 0, 1) instead; a different function.)
    ``grad_from_output`` gives 0 at y = 0 and y = 1, as for hard_tanh.
    """

    def f(x):
        return jnp.clip(x + 3, 0, 6) / 6

    def d1(x):
        return _step(x, -3, 3, closed=True) / 6

    def reference(x):
        return jnp.where(x < -3, 0.0, jnp.where(x > 3, 1.0, (x + 3) / 6)).astype(x.dtype)

    reason = (
        "f'(±3) = 1/6: hard_sigmoid(z) = (1 + hard_tanh(z/3))/2 keeps hard_tanh's closed "
        "interval; jax.nn and PyTorch give 0"
    )
    return make_activation(
        "hard_sigmoid",
        f,
        d1,
        _zero2,
        reference,
        kinks=(
            Kink(at=-3.0, left=0.0, right=1 / 6, convention=1 / 6, reason=reason, jax_nn=0.0),
            Kink(at=3.0, left=1 / 6, right=0.0, convention=1 / 6, reason=reason, jax_nn=0.0),
        ),
        properties=Properties(
            range=(0.0, 1.0),
            bounded=True,
            monotonic=True,
            zero_centered=False,
            saturating="both",
            saturates_where="|z| > 3 (f' = 0 exactly)",
            max_abs_grad=1 / 6,
            lipschitz=1 / 6,
            f_prime_at_zero=1 / 6,
        ),
        jax_nn=jax.nn.hard_sigmoid,
        grad_from_output=lambda y: _step(y, 0, 1, closed=False) / 6,
        doc=hard_sigmoid.__doc__,
    )


@register("identity")
def identity() -> Activation:
    r"""Identity, for Greff et al.'s no-input/no-output-activation LSTM variants.

    .. math:: f(z) = z,\quad f'(z) = 1,\quad f''(z) = 0
    """

    def f(x):
        return x

    def d1(x):
        return keep_nan(x, jnp.ones_like(x))

    def reference(x):
        return x

    return make_activation(
        "identity",
        f,
        d1,
        _zero2,
        reference,
        properties=Properties(
            range=(-_INF, _INF),
            bounded=False,
            monotonic=True,
            zero_centered=True,
            saturating="none",
            saturates_where="never",
            max_abs_grad=1.0,
            lipschitz=1.0,
            f_prime_at_zero=1.0,
        ),
        jax_nn=jax.nn.identity,
        grad_from_output=lambda y: keep_nan(y, jnp.ones_like(y)),
        doc=identity.__doc__,
    )
