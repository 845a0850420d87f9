"""Gradient flow during training: snapshots of the per-step gradient norms at chosen steps.

At a snapshot the current cell of every seed is measured on one fixed held-out batch
(``cfg.snapshot_batch`` sequences drawn from key SNAPSHOT_KEY, the same for every seed,
variant and step), with the probe loss of the decay analysis, L = 0.5 mean_b ||h_T||^2:

* ``log_h`` (T,): ln ||dL/dh_t|| for every t, in time order, one backward pass, finite at any
  T in any dtype: the LSTM's fused `gradients.per_step_grad_norms(...).log_h`, any other
  cell's `state_norms.state_grad_log_norms(cell.step, ...)["h"]`;
* ``rate`` and ``half_life``: the least-squares slope of ln ||dL/dh_t|| per step going back
  (`gradients.fit_decay(log_norms=...)`) and ln 2 / -rate;
* ``lyapunov_max``: the largest Lyapunov exponent of the step map of the whole carry ((h, c)
  for the LSTM) on that batch (`gradients.lyapunov_spectrum`, `cell_stats.carry_lyapunov`);
* ``max_abs_c``: max_{t,b,j} |c_t| on that batch; another cell: max |state| over every state
  of its carry at every step (`train_cells.run_cell`).

Snapshots are taken at chunk boundaries (the training loop runs ``eval_every`` steps per
program call): `schedule` picks the boundaries nearest to ``cfg.snapshots`` evenly spaced
steps in [0, cfg.steps].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from analysis.experiments.train_cells import run_cell
from analysis.experiments.train_config import TrainConfig
from analysis.experiments.train_model import TrainState
from analysis.flow import cell_stats, gradients, state_norms

__all__ = ["SNAPSHOT_KEY", "log10_norm", "measure", "schedule", "to_records"]

SNAPSHOT_KEY = 20_150_402
_LYAPUNOV_KEY = 7


def schedule(cfg: TrainConfig) -> tuple[int, ...]:
    """The chunk boundaries at which snapshots are taken.

    Formula: targets s_j = round(j * steps / (n - 1)), j = 0..n-1 (n = cfg.snapshots; n = 1
    gives step 0); each is moved to the nearest boundary min(k * eval_every, steps);
    duplicates collapse, so fewer than n steps come back when there are fewer boundaries.

    Args:
        cfg: the run (snapshots, steps, eval_every).

    Returns:
        sorted tuple of step counts (0 = at initialisation).
    """
    n = cfg.snapshots
    if n == 0:
        return ()
    every = min(cfg.eval_every, cfg.steps)
    bounds = np.unique(np.minimum(np.arange(0, cfg.steps + every, every), cfg.steps))
    targets = np.linspace(0, cfg.steps, n) if n > 1 else np.zeros(1)
    picked = {int(bounds[np.argmin(np.abs(bounds - t))]) for t in targets}
    return tuple(sorted(picked))


def _batch(cfg: TrainConfig) -> jax.Array:
    x, _ = cfg.task_spec().make_batch(jax.random.key(SNAPSHOT_KEY), cfg.snapshot_batch)
    return x


def measure(key: jax.Array, state: TrainState, cfg: TrainConfig) -> dict[str, jax.Array]:
    """One seed's snapshot on the fixed batch (jit/vmap-able; `runtime.map_batch` maps it).

    Args:
        key: the seed's key (unused: the batch and the Lyapunov frame are fixed).
        state: the seed's TrainState.
        cfg: the run.

    Returns:
        {"step": int32 scalar, "log_h": (T,), "lyapunov_max": scalar, "max_abs_c": scalar}.
    """
    del key
    params, xs = state.params.lstm, _batch(cfg)
    lyap_key = jax.random.key(_LYAPUNOV_KEY)
    if cfg.cell == "lstm":
        lcfg = cfg.lstm_config(fused=False)  # jvp (Lyapunov) and the observer need the scan
        # The fused norms (same values, hand-written backward) cost half the plain scan's.
        # log_h never underflows (the backward pass renormalises and keeps the log-scale).
        log_h = gradients.per_step_grad_norms(params, xs, cfg.lstm_config(fused=True)).log_h
        lyap = gradients.lyapunov_spectrum(params, xs, lcfg, k=1, key=lyap_key)
        max_c = jnp.max(gradients.telemetry(params, xs, lcfg)["c_max"])
    else:
        cell = cfg.recurrent_cell()
        carry0 = cell.initial_carry(xs.shape[0])
        log_h = state_norms.state_grad_log_norms(cell.step, params, xs, carry0, "last")["h"]
        lyap = cell_stats.carry_lyapunov(cell.step, params, xs, carry0, k=1, key=lyap_key)
        max_c = run_cell(params, xs, cell)[2]
    return {"step": state.step, "log_h": log_h, "lyapunov_max": lyap[0], "max_abs_c": max_c}


def _fit(log_h: np.ndarray) -> tuple[float, float]:
    fit = gradients.fit_decay(log_norms=np.asarray(log_h, np.float64))
    return float(fit.rate), float(fit.half_life)


def to_records(taken: Sequence[dict[str, Any]], seed_index: int, last_step: int) -> list[dict]:
    """One seed's snapshots as JSON-able records, rates fitted, repeats of a frozen state
    (after divergence or the last step) dropped.

    Args:
        taken: host copies of `measure` outputs with a leading seed axis, in step order.
        seed_index: which row is this seed.
        last_step: the seed's last update count (a diverged seed: its diverged_at).

    Returns:
        [{"step", "log_h" (list, T), "rate", "half_life", "lyapunov_max", "max_abs_c"}].
    """
    out: list[dict] = []
    for snap in taken:
        step = int(snap["step"][seed_index])
        if step > last_step or (out and out[-1]["step"] == step):
            continue
        log_h = np.asarray(snap["log_h"][seed_index], np.float64)
        rate, half_life = _fit(log_h)
        out.append(
            {
                "step": step,
                "log_h": [float(v) for v in log_h],
                "rate": rate,
                "half_life": half_life,
                "lyapunov_max": float(snap["lyapunov_max"][seed_index]),
                "max_abs_c": float(snap["max_abs_c"][seed_index]),
            }
        )
    return out


def log10_norm(snapshot: dict) -> np.ndarray:
    """log10 ||dL/dh_t|| of a snapshot record, indexed by steps back from T: (T,).

    Args:
        snapshot: one `to_records` entry.

    Returns:
        float64 array, s = 0 is the last step.
    """
    return np.asarray(snapshot["log_h"], np.float64)[::-1] / math.log(10)
