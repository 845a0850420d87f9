"""Gradient flossing during training (Engelken 2023), with the protocol of the author's code.

Each flossing step draws one fresh sequence of the task, computes `gradients.flossing_loss` of
the cell's ``cfg.floss`` largest Lyapunov exponents along it (from zero states, the carry the
model starts from) and takes one optax Adam step on the recurrent cell's parameters (not the
read-out) at the seed's learning rate, with the flossing optimizer's own state, kept across
bursts (`TrainState.floss_opt`). The schedule::

    before training:  cfg.floss_pretrain flossing steps                     ("preflossing")
    during training:  cfg.floss_steps flossing steps after every cfg.floss_every updates,
                      cfg.floss_bursts times                                 ("interflossing")

Read from github.com/RainerEngelken/GradientFlossing, GradientFlossing_ExampleCode.jl
(commit b05137409c87) and the README's example call: Ep = 50 preflossing steps, Ef = 10
epochs between bursts, Ei = 50 steps a burst, Ni = 2 bursts, batch 1 while flossing, nLE = 75
exponents of N = 80 units, target Lwnt = 0, ADAM at the training rate lr = 1e-3 (betas 0.9,
0.999, no clipping; training itself clips, ClipNorm(0.03)), a separate optimizer
``optFlossing`` created once, the flossed parameters (ws, J, b): input, recurrent and bias, and
10 + ceil(Tp / 10) steps left out of the average (here `burn_in`, at most half the sequence).
His bursts start at the top of training epoch ei with mod(ei, Ef) = 0 (after ei - 1 updates);
here they follow update n = Ef, 2 Ef, ... The flossing trajectory is the task's sequence (his
Tp = 55 of T = 300 steps).

The bursts run inside the training chunk (`floss_chunk`) under a ``lax.cond`` whose predicate
is the chunk's step count, the same for every seed, so the vmapped program runs a burst only
where one is due.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import Array

from analysis.experiments.train_config import TrainConfig
from analysis.experiments.train_model import StepMetrics, TrainState, evaluate, train_step
from analysis.flow.cell_stats import carry_lyapunov
from analysis.flow.flossing import flossing_loss

__all__ = [
    "FLOSS_STREAM",
    "floss_burn_in",
    "floss_chunk",
    "floss_pretrain",
    "floss_steps",
    "largest_exponent",
]

FLOSS_STREAM = 2  # fold_in stream of the flossing sequences (0: model, 1: training data)
_FRAME_STREAM = 3  # the random initial frame, the same at every flossing step (his sONS)
_EXPONENT_KEY = 2023  # the held-out sequence of `largest_exponent`


def floss_burn_in(length: int) -> int:
    """Steps left out of the exponents' average: min(10 + ceil(T / 10), T // 2).

    Args: length: T, the flossing sequence's length. Returns: burn_in in [0, T - 1].
    """
    return min(10 + math.ceil(length / 10), length // 2)


def _one_sequence(key: Array, cfg: TrainConfig) -> tuple[Array, dict[str, Array]]:
    x, _ = cfg.task_spec().make_batch(key, 1)
    carry = cfg.recurrent_cell().initial_carry(1)
    return x[0], {n: v[0] for n, v in carry.items()}


def _floss_update(key: Array, state: TrainState, cfg: TrainConfig, index: Array) -> TrainState:
    """One flossing step on sequence `index` of the seed's flossing stream; masked like
    `train_step` (a diverged or finished seed, or a non-finite flossing loss, keeps its state)."""
    data_key = jax.random.fold_in(jax.random.fold_in(key, FLOSS_STREAM), index)
    frame_key = jax.random.fold_in(key, _FRAME_STREAM)
    xs, carry0 = _one_sequence(data_key, cfg)
    cell = cfg.recurrent_cell()
    burn_in = floss_burn_in(xs.shape[0])

    def loss(p: Any) -> Array:
        return flossing_loss(
            cell.step,
            p,
            xs,
            carry0,
            cfg.floss,
            target=cfg.floss_target,
            key=frame_key,
            burn_in=burn_in,
        )

    value, grads = jax.value_and_grad(loss)(state.params.recurrent)
    opt = optax.adam(state.lr)
    updates, opt_state = opt.update(grads, state.floss_opt, state.params.recurrent)
    new = optax.apply_updates(state.params.recurrent, updates)
    ok = (state.diverged_at < 0) & (state.step < cfg.steps) & jnp.isfinite(value)

    def keep(a: Any, b: Any) -> Any:
        return jax.tree.map(lambda u, v: jnp.where(ok, u, v), a, b)

    params = state.params._replace(lstm=keep(new, state.params.recurrent))
    return state._replace(params=params, floss_opt=keep(opt_state, state.floss_opt))


def floss_steps(
    key: Array, state: TrainState, cfg: TrainConfig, n: int, first: Array
) -> TrainState:
    """`n` flossing steps on sequences first, first + 1, ... of the flossing stream.

    Args: key: the seed's key; state; cfg: the run (floss > 0); n: steps (static);
        first: index of the first sequence. Returns: the state, flossed.
    """
    return jax.lax.fori_loop(0, n, lambda i, s: _floss_update(key, s, cfg, first + i), state)


def floss_pretrain(key: Array, state: TrainState, cfg: TrainConfig) -> TrainState:
    """The flossing before training: ``cfg.floss_pretrain`` steps (sequences 0, 1, ...)."""
    return floss_steps(key, state, cfg, cfg.floss_pretrain, jnp.int32(0))


def floss_chunk(
    key: Array, state: TrainState, start: Array, cfg: TrainConfig
) -> tuple[TrainState, StepMetrics, Array, Array]:
    """`train_model.train_chunk` with the flossing bursts that fall in it.

    Before update n (n = start + j, j < eval_every) a burst of ``cfg.floss_steps`` runs when
    n > 0, n % floss_every == 0 and n // floss_every <= floss_bursts.

    Args: key: the seed's key; state; start: updates done before this chunk (the same for
        every seed, an unbatched int32); cfg: the run.
    Returns: as `train_chunk`: (state, metrics (eval_every,), test loss, solved).
    """

    def body(s: TrainState, j: Array) -> tuple[TrainState, StepMetrics]:
        n = start + j
        burst = n // cfg.floss_every
        due = (n > 0) & (n % cfg.floss_every == 0) & (burst <= cfg.floss_bursts)
        first = cfg.floss_pretrain + (burst - 1) * cfg.floss_steps
        s = jax.lax.cond(
            due, lambda t: floss_steps(key, t, cfg, cfg.floss_steps, first), lambda t: t, s
        )
        return train_step(key, s, cfg)

    state, metrics = jax.lax.scan(body, state, jnp.arange(cfg.eval_every, dtype=start.dtype))
    test_loss, solved = evaluate(state.params, cfg)
    return state, metrics, test_loss, solved


def largest_exponent(key: Array, state: TrainState, cfg: TrainConfig) -> Array:
    """The cell's largest Lyapunov exponent on one held-out sequence of the task, from zero
    states (burn-in `floss_burn_in`): a scalar, the same sequence for every seed."""
    del key
    xs, carry0 = _one_sequence(jax.random.key(_EXPONENT_KEY), cfg)
    cell = cfg.recurrent_cell()
    lam = carry_lyapunov(
        cell.step,
        state.params.recurrent,
        xs[None],
        {n: v[None] for n, v in carry0.items()},
        1,
        jax.random.key(_EXPONENT_KEY),
        burn_in=floss_burn_in(xs.shape[0]),
    )
    return lam[0]
