"""Stable pieces shared by the smooth kernels (`kernels.smooth`, `kernels.smooth_relu`).

Private to `kernels`: the names are public so that the two kernel modules share them.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

__all__ = ["CLIP", "INF", "clip", "logistic_pair"]

# Beyond |z| = CLIP every derivative term of the smooth kernels that carries exp(-z^2/2),
# sigma(-|z|) or the like is exactly 0 even in float64, so clipping z there changes no finite
# result and keeps inf * 0 (NaN) out of the formulas at z = ±inf.
CLIP = 1000.0
INF = float("inf")


def clip(x):
    """x clipped to [-CLIP, CLIP] (see `CLIP`)."""
    return jnp.clip(x, -CLIP, CLIP)


def logistic_pair(v):
    """(sigma(v), sigma'(v)) from one exp: t = sigma(-|v|) <= 1/2, then
    sigma(v) = 1 - t (v >= 0) or t, and sigma'(v) = t (1 - t).

    Why: sigma(v) sigma(-v) costs two exps and 1 - t never cancels (t <= 1/2), so both
    keep relative accuracy in both tails. Use it inside a derivative only: a forward
    pass that also called it would share t with f', and XLA then writes t to memory
    and reads it back twice (the forward uses `lax.logistic`, accurate on its own).
    """
    t = lax.logistic(-jnp.abs(v))
    return jnp.where(v >= 0, 1 - t, t), t * (1 - t)
