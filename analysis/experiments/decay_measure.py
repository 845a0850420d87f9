"""What one decay cell measures per seed, for the LSTM and for any other cell.

Per seed: parameters from the cell's init, inputs x ~ N(0, 1) of shape (B, T, I) (or, with
``inputs`` a data set, B sequences of its train split: `inputs`), then the
per-step gradient norms ||dL/d state_t|| and their natural logs (finite at any T: the backward
recursion renormalises its cotangent every step), telemetry along the sequence, and the top
``lyapunov_k`` Lyapunov exponents of the whole carry. The seeds of a cell run together under
``vmap`` (`runtime.map_seeds`).

The LSTM goes through `gradients.per_step_grad_norms` (its one-pass norms) with the forget bias
traced, so that cells differing only in it share one compiled program; every other cell goes
through `state_norms.state_grad_norms`, `cell_stats.cell_telemetry` and
`cell_stats.carry_lyapunov`, which take any ``step(params, carry, x_t)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

import analysis.runtime as runtime
from analysis import data
from analysis.cells import lstm
from analysis.experiments.decay_config import DecayConfig
from analysis.flow import cell_stats, gradients, state_norms

__all__ = ["inputs", "measure"]


def inputs(run: DecayConfig, key: Any, input_size: int, dtype: Any) -> Any:
    """The (B, T, I) inputs of one seed: N(0, 1) noise, or B sequences of a data set's train
    split chosen by ``key`` (without replacement while B <= N; the split is a constant).

    Args:
        run: the cell (``inputs``, ``batch``, ``length``); key: the seed's data key;
        input_size: I; dtype: the cell's jnp dtype.

    Returns:
        xs (B, T, I).
    """
    import jax
    import jax.numpy as jnp

    if run.inputs == "noise":
        return jax.random.normal(key, (run.batch, run.length, input_size), dtype)
    x = data.load(run.inputs).x_train
    pick = jax.random.choice(key, len(x), (run.batch,), replace=run.batch > len(x))
    return jnp.asarray(x, dtype)[pick]


def _lstm_seed(cfg: lstm.LSTMConfig, run: DecayConfig, key: Any, forget_bias: Any) -> dict:
    """One LSTM seed. ``cfg.forget_bias`` is 0 and the cell's comes in traced."""
    import jax
    import jax.numpy as jnp

    k_param, k_data, k_lyap = jax.random.split(key, 3)
    params = lstm.init(k_param, cfg)
    h = cfg.hidden_size
    params = params._replace(b=params.b.at[h : 2 * h].add(forget_bias.astype(params.b.dtype)))
    xs = inputs(run, k_data, cfg.input_size, cfg.jnp_dtype)
    norms = gradients.per_step_grad_norms(params, xs, cfg, run.loss)
    out = {
        "norms": {"h": norms.h, "c": norms.c},
        "log_norms": {"h": norms.log_h, "c": norms.log_c},
        "telemetry": gradients.telemetry(params, xs, cfg),
    }
    k = run.lyapunov_k
    spectrum = gradients.lyapunov_spectrum(params, xs, cfg, k=k, key=k_lyap) if k else None
    out["lyapunov"] = jnp.zeros((0,), cfg.jnp_dtype) if spectrum is None else spectrum
    return out


def _cell_seed(cell: Any, run: DecayConfig, key: Any) -> dict:
    """One seed of any `analysis.cells` cell."""
    import jax
    import jax.numpy as jnp

    k_param, k_data, k_lyap = jax.random.split(key, 3)
    params = cell.init(k_param)
    xs = inputs(run, k_data, cell.input_size, cell.jnp_dtype)
    carry0 = cell.initial_carry(run.batch)
    found = state_norms.state_grad_norms(cell.step, params, xs, carry0, run.loss)
    names = tuple(carry0)
    out = {
        "norms": {n: found[n] for n in names},
        "log_norms": {n: found[f"log_{n}"] for n in names},
        "telemetry": cell_stats.cell_telemetry(cell, params, xs, carry0),
    }
    k = run.lyapunov_k
    if k:
        out["lyapunov"] = cell_stats.carry_lyapunov(cell.step, params, xs, carry0, k=k, key=k_lyap)
    else:
        out["lyapunov"] = jnp.zeros((0,), cell.jnp_dtype)
    return out


def measure(run: DecayConfig, seeds: list[int]) -> dict[str, Any]:
    """Every seed's measurements of one decay cell, as float64 numpy arrays.

    Args:
      run: the cell.
      seeds: S seeds, measured together under vmap.

    Returns:
      ``{"norms": {state: (S, T)}, "log_norms": {state: (S, T)}, "telemetry": {name: (S, T)},
      "lyapunov": (S, k)}``; the LSTM's states are h and c, another cell's its carry's.
    """
    import jax
    import jax.numpy as jnp

    keys = runtime.seed_keys(seeds)
    if run.cell == "lstm":
        cfg = run.lstm_config()
        # init adds forget_bias to b[H:2H]; adding it after an init with 0 is the same.
        shared = dataclasses.replace(cfg, forget_bias=0.0)
        fb = jnp.asarray(cfg.forget_bias, jnp.float64 if cfg.dtype == "float64" else jnp.float32)
        # the partial is the program's cache key: it must not hold the forget bias
        run0 = dataclasses.replace(run, spec=run.spec.replace(forget_bias=0.0))
        fn = functools.partial(_lstm_seed, shared, run0)
        out = runtime.map_seeds(fn, keys, fb)
    else:
        out = runtime.map_seeds(functools.partial(_cell_seed, run.recurrent_cell(), run), keys)
    return jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), jax.device_get(out))
