"""Telemetry: what the cell does along the sequence (the why behind a gradient curve).

Per step t, over batch and hidden units: the mean forget gate, the share of saturated gate
values (below eps or above 1 - eps), max |c_t| and max |h_t|; one `lstm.scan_steps` pass with
an observer.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells import lstm

__all__ = ["SATURATION_EPS", "max_abs", "telemetry"]

Array = jax.Array
SATURATION_EPS = 0.01


def max_abs(x: Array) -> Array:
    """max |x| over all entries, NaN if any entry is NaN and inf if any is infinite.

    Args:
      x: any shape.
    Returns:
      a scalar in x.dtype.
    """
    m = jnp.max(jnp.where(jnp.isfinite(x), jnp.abs(x), jnp.zeros_like(x)))
    m = jnp.where(jnp.any(jnp.isinf(x)), jnp.inf, m)
    return jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, m)


def _observe(gates: lstm.Gates, state: lstm.Carry) -> dict[str, Array]:
    i, f, _, o = gates
    h, c = state
    g = jnp.stack([i, f, o])
    sat = (g < SATURATION_EPS) | (g > 1 - SATURATION_EPS)
    return {
        "forget_mean": jnp.mean(f.astype(jnp.float32)),
        "saturated_fraction": jnp.mean(sat.astype(jnp.float32)),
        "c_max": max_abs(c),
        "h_max": max_abs(h),
    }


@functools.partial(jax.jit, static_argnames=("cfg",))
def _telemetry(params, xs, cfg, h0, c0):
    _, _, stats = lstm.scan_steps(params, xs, cfg, h0=h0, c0=c0, observe=_observe)
    return stats


def telemetry(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> dict[str, Array]:
    """What the cell does along the sequence, each a (T,) array, over batch and hidden units:

    ``forget_mean``: mean forget gate f_t; ``saturated_fraction``: share of the i, f, o gate
    values below 0.01 or above 0.99 (defined for gates with values in [0, 1]; there a sigmoid's
    slope y(1 - y) is below 0.0099, under 4% of its peak 0.25); ``c_max``: max |c_t|;
    ``h_max``: max |h_t|.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; h0, c0: broadcastable to (B, H).
    Returns:
      dict of those four names, each (T,).
    """
    xs = lstm.prepare_inputs(xs, cfg, "gradients.telemetry")
    return _telemetry(params, xs, cfg, h0, c0)
