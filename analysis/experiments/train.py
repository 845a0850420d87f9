"""optax training of a recurrent cell (the LSTM, or any cell of `analysis.cells`) with a linear
read-out on a long-range task, seeds vmapped.

Speed: one jitted program runs a chunk of ``eval_every`` steps under ``lax.scan`` and then the
test loss, for all seeds at once (``runtime.map_batch``: vmap over seeds, the seed axis sharded
over every device). Batches are drawn inside it from ``fold_in(data_key, step)``, so Python
runs once per chunk, and the program never recompiles after its first call: the step count is
a traced value and a final partial chunk is masked, not a new shape.

Divergence: the first non-finite training loss of a seed freezes that seed (its parameters
stop changing) and is recorded as ``diverged_at``: the 0-based index of that step, i.e. the
number of updates applied before it. Its metrics up to and including that step are kept.

Gradient flow: with ``cfg.snapshots`` > 0, `analysis.experiments.snapshots` measures every
seed at evenly spaced chunk boundaries; their time is kept apart (``snapshot_s``) so its share
of the training time is on record. Variants training in threads (`sweep.run` workers) take
turns chunk-plus-snapshot (``_TURN``), so ``snapshot_s`` is the snapshots' own time and not
the wait for another variant's chunk (before: 25% of the training time at T = 400 in the
default report, against ~2% measured alone).

The model, the step and the config live in `train_model` and `train_config`; their public
names are re-exported here (``train.TrainConfig``, ``train.train_step``, ...).
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import analysis.runtime as runtime
from analysis.experiments import snapshots, train_floss
from analysis.experiments.train_config import OPTIMIZERS, TrainConfig
from analysis.experiments.train_model import (
    TEST_KEY,
    Model,
    StepMetrics,
    TrainState,
    evaluate,
    forward,
    global_norm,
    init_model,
    init_state,
    loss_fn,
    make_optimizer,
    run_cell,
    run_lstm,
    test_correct,
    train_chunk,
    train_step,
)
from analysis.util import stats
from analysis.util.progress import progress

__all__ = [
    "OPTIMIZERS",
    "TEST_KEY",
    "Model",
    "StepMetrics",
    "TrainConfig",
    "TrainState",
    "evaluate",
    "forward",
    "global_norm",
    "init_config",
    "init_model",
    "init_state",
    "loss_fn",
    "make_optimizer",
    "program_config",
    "run_cell",
    "run_lstm",
    "test_correct",
    "train",
    "train_chunk",
    "train_step",
]


def _evaluate_state(key: jax.Array, state: TrainState, cfg: TrainConfig) -> tuple[Any, Any]:
    del key
    return evaluate(state.params, cfg)


def _correct_state(key: jax.Array, state: TrainState, cfg: TrainConfig) -> Any:
    del key
    return test_correct(state.params, cfg)


def _task_record(task: Any) -> dict[str, Any]:
    """The task's name, T and criterion; a real data set's record (`Dataset.info`, the
    majority-class rate, the solved threshold) under "data"."""
    about = {"name": task.name, "T": task.length, "criterion": task.criterion}
    if task.data is not None:
        about["data"] = dict(task.data)
    return about


def _accuracy(cfg: TrainConfig, keys: Any, state: TrainState, rows: list[dict]) -> list[dict]:
    """A classification task's final test accuracy per seed on its whole test split, added to
    each seed's row: "test_accuracy", "test_correct", "test_n", "test_accuracy_ci" (Wilson
    95% interval over the test sequences); another task's rows are returned as they are."""
    task = cfg.task_spec()
    if task.accuracy is None:
        return rows
    n = task.test_size
    correct = np.asarray(runtime.map_batch(functools.partial(_correct_state, cfg=cfg), keys, state))
    for row, k in zip(rows, correct, strict=True):
        p = stats.wilson(int(k), n)
        row.update(test_correct=p.k, test_n=n, test_accuracy=p.rate)
        row["test_accuracy_ci"] = [p.low, p.high]
    return rows


@dataclass
class _Log:
    """What the loop collects, host-side."""

    metrics: list[StepMetrics] = field(default_factory=list)
    test_steps: list[int] = field(default_factory=lambda: [0])
    test_loss: list[np.ndarray] = field(default_factory=list)
    solved: list[np.ndarray] = field(default_factory=list)
    snaps: list[dict] = field(default_factory=list)
    snap_s: float = 0.0
    snap_first_s: float | None = None
    t_first: float | None = None


class _Outside:
    """How many calls made outside a turn (a variant's first calls) have finished."""

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self.n += 1


_OUTSIDE = _Outside()


def _snapshot(keys: Any, state: TrainState, cfg: TrainConfig, log: _Log, turn: bool) -> None:
    fn = functools.partial(snapshots.measure, cfg=cfg)
    seen, t0 = _OUTSIDE.n, time.perf_counter()
    log.snaps.append(jax.tree.map(np.asarray, runtime.map_batch(fn, keys, state)))
    dt = time.perf_counter() - t0
    if turn and _OUTSIDE.n != seen:
        # Another variant's first chunk ran in between: time a rerun (the same numbers)
        # instead, and count its time twice, for both runs.
        t0 = time.perf_counter()
        jax.block_until_ready(runtime.map_batch(fn, keys, state))
        dt = 2 * (time.perf_counter() - t0)
    if not turn:
        _OUTSIDE.bump()
    if log.snap_first_s is None:
        log.snap_first_s = dt  # includes compiling the snapshot program
    else:
        log.snap_s += dt


def _settled(state: TrainState, log: _Log, stop_when_solved: bool) -> bool:
    settled = np.asarray(state.diverged_at) >= 0
    if stop_when_solved:
        settled |= np.any(np.stack(log.solved, axis=1), axis=1)
    return bool(np.all(settled))


# Held by a training thread across one chunk and the snapshot after it (every chunk but the
# first, which compiles): another thread's chunk then cannot run in between, so a snapshot's
# time is its own and not the wait for the device (`runtime.map_batch` runs one program at a
# time). Compiling never holds it, so the next variant still compiles while this one trains;
# a variant's first calls (outside the turns) are counted by _OUTSIDE, and a snapshot they
# ran into is timed again (`_snapshot`).
_TURN = threading.Lock()


def _chunk(
    chunk: Any, keys: Any, state: TrainState, log: _Log, done: int, *shared: Any
) -> TrainState:
    """One chunk call; its metrics, test loss and solved flags appended to the log."""
    state, metrics, test_loss, ok = runtime.map_batch(chunk, keys, state, *shared)
    log.metrics.append(jax.tree.map(np.asarray, metrics))
    if log.t_first is None:
        log.t_first = time.perf_counter()
    log.test_steps.append(done)
    log.test_loss.append(np.asarray(test_loss))
    log.solved.append(np.asarray(ok))
    return state


def _loop(cfg: TrainConfig, keys: Any, state: TrainState, log: _Log, desc: str) -> TrainState:
    """Chunks until cfg.steps are done (or every seed settled), snapshots where scheduled."""
    chunk = functools.partial(train_floss.floss_chunk if cfg.floss else train_chunk, cfg=cfg)
    due = set(snapshots.schedule(cfg))
    if 0 in due:
        _snapshot(keys, state, cfg, log, turn=False)
    n_chunks = -(-cfg.steps // cfg.eval_every)
    with progress(total=cfg.steps, desc=desc, unit="step") as bar:
        for i in range(n_chunks):
            done = min((i + 1) * cfg.eval_every, cfg.steps)
            with _TURN if i > 0 else contextlib.nullcontext():
                # flossing chunks take their first step's count (the same for every seed)
                start = (np.int32(i * cfg.eval_every),) if cfg.floss else ()
                state = _chunk(chunk, keys, state, log, done, *start)
                if i == 0:
                    _OUTSIDE.bump()
                stop = _settled(state, log, cfg.stop_when_solved)
                # A run that stops early still ends with a snapshot of its final state.
                if done in due or (stop and due):
                    _snapshot(keys, state, cfg, log, turn=i > 0)
            bar.update(done - bar.n)
            last = log.metrics[-1].loss[:, -1]
            finite = last[np.isfinite(last)]
            bar.set_postfix(loss=f"{finite.mean():.4g}" if finite.size else "non-finite")
            if stop:
                break
    return state


def _per_seed(
    cfg: TrainConfig, seeds: Sequence[int], lrs: Sequence[float], state: TrainState, log: _Log
) -> list:
    cat = StepMetrics(*(np.concatenate(m, axis=1) for m in zip(*log.metrics, strict=True)))
    diverged = np.asarray(state.diverged_at)
    done = np.asarray(state.step)
    test_loss = np.stack(log.test_loss, axis=1)
    solved = np.stack(log.solved, axis=1)
    rows = []
    for s, (seed, lr) in enumerate(zip(seeds, lrs, strict=True)):
        d = int(diverged[s])
        n = cfg.steps if d < 0 else d + 1
        valid = [j for j, st in enumerate(log.test_steps) if d < 0 or st <= d]
        hit = [log.test_steps[j] for j in valid if bool(solved[s, j])]
        rows.append(
            {
                "seed": int(seed),
                "lr": float(lr),
                "loss": [float(v) for v in cat.loss[s][:n]],
                "grad_norm": [float(v) for v in cat.grad_norm[s][:n]],
                "update_norm": [float(v) for v in cat.update_norm[s][:n]],
                "max_abs_c": [float(v) for v in cat.max_abs_c[s][:n]],
                "test_steps": [log.test_steps[j] for j in valid],
                "test_loss": [float(test_loss[s, j]) for j in valid],
                "solved_step": hit[0] if hit else None,
                "diverged_at": None if d < 0 else d,
                "final_test_loss": float(test_loss[s, valid[-1]]),
                "flow_snapshots": snapshots.to_records(log.snaps, s, int(done[s])),
            }
        )
    return rows


def init_config(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with the fields `init_state` never reads set to their defaults.

    The jitted init program is keyed by its config, so the LSTM variants of one length (which
    differ only in activations and budget) then share one program: 3.4-3.9 s of compiling per
    training cell here, paid once per length instead of once per variant.

    Args:
        cfg: the run.

    Returns:
        a TrainConfig whose `init_state` is identical to ``cfg``'s.
    """
    if cfg.cell != "lstm":
        return cfg  # a cell's options may steer its init: keep them all
    d = TrainConfig()
    slots = {k: d.spec[k] for k in ("gate", "candidate", "output", "fused")}
    return replace(
        cfg,
        lr=d.lr,
        spec=cfg.spec.replace(**slots),
        steps=d.steps,
        eval_every=d.eval_every,
        test_batch=d.test_batch,
        stop_when_solved=d.stop_when_solved,
        snapshots=d.snapshots,
        snapshot_batch=d.snapshot_batch,
    )


def program_config(cfg: TrainConfig) -> TrainConfig:
    """`cfg` as the jitted training programs see it: the learning rate is each seed's
    (`TrainState.lr`), so runs that differ only in it share their compiled programs (the
    learning-rate search and the evaluation at the chosen rate compile once).

    Args:
        cfg: the run.

    Returns:
        ``cfg`` with ``lr`` at its default.
    """
    return replace(cfg, lr=TrainConfig().lr)


def train(
    cfg: TrainConfig,
    seeds: Sequence[int],
    *,
    desc: str = "train",
    lrs: Sequence[float] | None = None,
    keep_state: bool = False,
) -> dict[str, Any]:
    """Train one model per seed (vmapped together) for cfg.steps steps; JSON-able results.

    Args:
        cfg: the run (validated on construction).
        seeds: S integer seeds; seed s uses jax.random.key(s) (a seed may repeat: with `lrs`,
            the same initialisation and batches at several rates). desc: progress label.
        lrs: S learning rates, one per seed (each finite and > 0); None: ``cfg.lr`` for all.
        keep_state: also return the final TrainState (seeds first, not JSON-able).

    Returns:
        {"config" (``cfg.to_dict()``: the cell and all its options), "seeds", "task",
        "baseline", "wall_s", "compile_s", "steps_per_s", "snapshot_s", "snapshot_first_s",
        "per_seed": [{"seed", "loss", "grad_norm", "update_norm", "max_abs_c", "test_steps",
        "test_loss", "solved_step", "diverged_at", "final_test_loss", "flow_snapshots", "lr",
        and with ``cfg.floss`` "floss"}]} (`_with_floss`); a real data set adds
        "task"["data"] and per seed the final accuracy on its test split (`_accuracy`); with
        ``keep_state`` "state". Per-step lists run to the last step done (through
        `diverged_at` for a diverged seed); test_steps[i] counts the updates behind
        test_loss[i]. ``snapshot_s``: every snapshot after the first (which compiles).
    """
    lrs = _learning_rates(cfg, seeds, lrs)
    # A budget shorter than one chunk runs one shorter chunk, not a masked long one.
    run = program_config(replace(cfg, eval_every=min(cfg.eval_every, cfg.steps)))
    task = run.task_spec()
    keys = runtime.seed_keys(seeds)
    t_start = time.perf_counter()
    state = _initial_state(run, keys, lrs)
    state, floss = _preflossed(run, keys, state)
    test0, solved0 = runtime.map_batch(functools.partial(_evaluate_state, cfg=run), keys, state)
    _OUTSIDE.bump()
    log = _Log(test_loss=[np.asarray(test0)], solved=[np.asarray(solved0)])
    state = _loop(run, keys, state, log, desc)
    floss = _final_exponent(run, keys, state, floss)
    t_end = time.perf_counter()
    rows = _accuracy(run, keys, state, _per_seed(run, seeds, lrs, state, log))  # not in wall_s
    first = log.t_first
    steady = (t_end - first - log.snap_s) if first is not None else 0.0
    steady_steps = max(len(log.metrics) - 1, 0) * run.eval_every
    return {
        "config": cfg.to_dict(),
        "seeds": [int(s) for s in seeds],
        "task": _task_record(task),
        "baseline": task.baseline,
        "wall_s": t_end - t_start,
        "compile_s": (first - t_start) if first is not None else None,
        "steps_per_s": steady_steps / steady if steady > 0 and steady_steps else None,
        "snapshot_s": log.snap_s,
        "snapshot_first_s": log.snap_first_s,
        "per_seed": _with_floss(rows, floss),
        **({"state": state} if keep_state else {}),
    }


def _initial_state(run: TrainConfig, keys: Any, lrs: Sequence[float]) -> TrainState:
    """Every seed's fresh state (one vmapped program), each with its own learning rate."""
    state = runtime.map_seeds(functools.partial(init_state, cfg=init_config(run)), keys)
    state = state._replace(lr=jnp.asarray(lrs, dtype=state.lr.dtype))
    _OUTSIDE.bump()
    return state


def _learning_rates(
    cfg: TrainConfig, seeds: Sequence[int], lrs: Sequence[float] | None
) -> list[float]:
    """One learning rate per seed: ``lrs``, or ``cfg.lr`` for every seed; ValueError unless
    there is one finite rate > 0 per seed."""
    lrs = [float(cfg.lr)] * len(seeds) if lrs is None else [float(a) for a in lrs]
    if len(lrs) != len(seeds) or not all(math.isfinite(a) and a > 0 for a in lrs):
        raise ValueError(f"train: lrs must be {len(seeds)} finite numbers > 0, got {lrs!r}")
    return lrs


def _exponent_fn(cfg: TrainConfig) -> Any:
    return functools.partial(train_floss.largest_exponent, cfg=cfg)


def _preflossed(cfg: TrainConfig, keys: Any, state: TrainState) -> tuple[TrainState, dict]:
    """The flossing before training, with the largest exponent before and after it ({} and
    the state unchanged when the run does not floss)."""
    if not cfg.floss:
        return state, {}
    out = {"init": runtime.map_batch(_exponent_fn(cfg), keys, state)}
    if cfg.floss_pretrain:
        fn = functools.partial(train_floss.floss_pretrain, cfg=cfg)
        state = runtime.map_batch(fn, keys, state)
    out["pretrained"] = runtime.map_batch(_exponent_fn(cfg), keys, state)
    return state, out


def _final_exponent(cfg: TrainConfig, keys: Any, state: TrainState, floss: dict) -> dict:
    """``floss`` with the largest exponent after training ("final"), for a flossing run."""
    if not cfg.floss:
        return floss
    return {**floss, "final": runtime.map_batch(_exponent_fn(cfg), keys, state)}


def _with_floss(rows: list[dict], floss: dict) -> list[dict]:
    """Each seed's row with ``floss``: its largest exponent {"init", "pretrained", "final"}
    (`train_floss.largest_exponent`); rows unchanged for a run that does not floss."""
    if not floss:
        return rows
    for s, row in enumerate(rows):
        row["floss"] = {f"lyapunov_max_{k}": float(np.asarray(v)[s]) for k, v in floss.items()}
    return rows
