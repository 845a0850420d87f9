"""How well conditioned a trained model's state map is, beyond the gradient norm.

For each seed's cell, on the same held-out sequences of its task from zero states: the median
over steps and sequences of the largest and smallest singular value of the per-step state
Jacobian (`gradients.jacobian_singular_values`), and log10 of the long-term Jacobian's
condition number from the full Lyapunov spectrum over the whole carry
(`gradients.log10_condition`, k = the carry's size; burn-in as flossing's,
`train_floss.floss_burn_in`). Engelken (2023) reports that gradient flossing lowers that
condition number; the report's remedies section measures it before and after training.

In float64 whatever the run's dtype (parameters and inputs cast, inside
``jax.enable_x64(True)``, which leaves the rest of the process as it was): a trained cell's
smallest singular values fall to 1e-5 and below, under float32's resolution relative to the
largest (about 1e-7): measured in float32 they would be rounding noise.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp

import analysis.runtime as runtime
from analysis.experiments import train_floss
from analysis.experiments.train import init_config
from analysis.experiments.train_config import TrainConfig
from analysis.experiments.train_model import init_state
from analysis.flow import gradients

__all__ = ["SEQUENCES", "conditioning", "initial_params"]

SEQUENCES = 4  # held-out sequences per measurement
_KEY = 7_000_003  # their batch key: the same sequences for every seed and every run


def initial_params(cfg: TrainConfig, seeds: Sequence[int]) -> Any:
    """Every seed's recurrent parameters at initialisation, as `train.train` starts them.

    Returns:
        the cell's parameters with a leading seed axis (S, ...).
    """
    fn = functools.partial(init_state, cfg=init_config(cfg))
    return runtime.map_seeds(fn, runtime.seed_keys(list(seeds))).params.recurrent


def conditioning(cfg: TrainConfig, params: Any) -> list[dict[str, float]]:
    """Per seed: {"sigma_max", "sigma_min", "log10_condition"} of its state map (module
    docstring) on `SEQUENCES` held-out sequences of ``cfg``'s task.

    Args:
        cfg: the run (its cell and task); params: the cell's parameters, leading axis seeds.

    Returns:
        one dict of floats per seed, in order.
    """
    x, _ = cfg.task_spec().make_batch(jax.random.key(_KEY), SEQUENCES)  # the run's own inputs
    wide = replace(cfg, dtype="float64")
    with jax.enable_x64(True):
        cell = wide.recurrent_cell()
        x = jnp.asarray(x, jnp.float64)
        carry0 = cell.initial_carry(SEQUENCES)
        burn_in = train_floss.floss_burn_in(int(x.shape[1]))
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        n_seeds = jax.tree.leaves(params)[0].shape[0]
        out = []
        for s in range(n_seeds):
            one = jax.tree.map(lambda a, s=s: a[s], params)
            sv = gradients.jacobian_singular_values(cell.step, one, x, carry0)
            kappa = gradients.log10_condition(cell.step, one, x, carry0, burn_in=burn_in)
            out.append(
                {
                    "sigma_max": float(sv["median_max"]),
                    "sigma_min": float(sv["median_min"]),
                    "log10_condition": float(kappa["log10_condition"]),
                }
            )
    return out
