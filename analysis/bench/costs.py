"""Cost of activation kernels, forward and forward+backward, timed side by side.

Answers the seed page's cost claims ("hard tanh is computationally cheaper than tanh",
"tanh's gradient computation is less expensive") on the machine at hand. On a GPU these
elementwise kernels are memory-bound, so their cost is set by bytes moved, not arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

import kernels
from analysis.util.timing import time_interleaved

__all__ = ["elementwise_costs"]


def elementwise_costs(
    names: Sequence[str], n: int = 2_000_000, repeats: int = 15, seed: int = 0
) -> dict[str, dict]:
    """Median seconds per call of f (forward) and of grad of sum(f) (forward+backward).

    float32 input of n values drawn from N(0, 2^2). Returns name -> {"forward_s", "fwd_bwd_s",
    "forward_range_s", "fwd_bwd_range_s" ([min, max] over the repeats), "ns_per_element_forward",
    "ns_per_element_fwd_bwd"}; all kernels are timed round-robin.
    """
    x = 2.0 * jax.random.normal(jax.random.key(seed), (n,), dtype=jnp.float32)
    fns = {}
    for name in names:
        act = kernels.get(name)
        fwd = jax.jit(act.fn)
        bwd = jax.jit(jax.grad(lambda v, f=act.fn: jnp.sum(f(v))))
        fns[f"{name}/forward"] = lambda f=fwd: f(x)
        fns[f"{name}/fwd_bwd"] = lambda f=bwd: f(x)
    timed = time_interleaved(fns, repeats=repeats)
    out = {}
    for name in names:
        fw = timed[f"{name}/forward"]["median_s"]
        fb = timed[f"{name}/fwd_bwd"]["median_s"]
        out[name] = {
            "forward_s": fw,
            "fwd_bwd_s": fb,
            # the spread over the repeats: a ratio is called a difference only where they part
            "forward_range_s": [timed[f"{name}/forward"][k] for k in ("min_s", "max_s")],
            "fwd_bwd_range_s": [timed[f"{name}/fwd_bwd"][k] for k in ("min_s", "max_s")],
            "ns_per_element_forward": fw / n * 1e9,
            "ns_per_element_fwd_bwd": fb / n * 1e9,
            "n": n,
            "repeats": repeats,
        }
    return out
