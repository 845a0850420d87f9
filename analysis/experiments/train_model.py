"""The trained model and one optax step: recurrent cell + linear read-out, loss, update, masking.

Model: the run's cell (the LSTM of `analysis.cells.lstm` by default, with its fused path; any
other cell of `analysis.cells` through `train_cells.run_cell`) with a linear read-out,
prediction ``h_T W + b`` (B, K) for a "last" read-out task (adding), ``h_t W + b`` (B, T, K) for
an "all" read-out task (copy). The metric ``max_abs_c`` is max_t |c_t| for the LSTM and max
|state| over every state of the carry at every step for another cell. A seed's state freezes at
its first non-finite loss (``diverged_at``) and once ``cfg.steps`` updates are done, so a
fixed-length chunk of steps never needs a new program.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from analysis.cells import lstm
from analysis.experiments.train_cells import run_cell
from analysis.experiments.train_config import TrainConfig

__all__ = [
    "TEST_KEY",
    "Model",
    "StepMetrics",
    "TrainState",
    "evaluate",
    "forward",
    "global_norm",
    "init_model",
    "init_state",
    "loss_fn",
    "make_optimizer",
    "run_cell",
    "run_lstm",
    "test_correct",
    "train_chunk",
    "train_step",
]

TEST_KEY = 20_150_401  # one held-out batch, the same for every seed and variant
_MODEL_STREAM, _DATA_STREAM = 0, 1


class Model(NamedTuple):
    """The cell's parameters and the linear read-out w_out (H, K), b_out (K,).

    ``lstm`` holds the recurrent cell's params for every cell (the name is kept for existing
    callers); `recurrent` is the same field under a cell-neutral name.
    """

    lstm: Any
    w_out: Array
    b_out: Array

    @property
    def recurrent(self) -> Any:
        """The recurrent cell's params (the ``lstm`` field), for any cell."""
        return self.lstm


class TrainState(NamedTuple):
    """Per seed: `step` updates done; `diverged_at` = -1 until a non-finite loss; `lr` the
    seed's learning rate (a traced value, so seeds of one program may each have their own:
    the learning-rate search trains every rate of its grid in one program); `floss_opt` the
    gradient-flossing optimizer's state (`train_floss`), None when the run does not floss."""

    step: Array
    params: Model
    opt_state: Any
    diverged_at: Array
    lr: Array
    floss_opt: Any = None


class StepMetrics(NamedTuple):
    """One training step: loss, ||grad||_2 and ||update||_2 over all parameters, max_t |c_t|
    (another cell than the LSTM: max |state| over its whole carry at every step)."""

    loss: Array
    grad_norm: Array
    update_norm: Array
    max_abs_c: Array


def global_norm(tree: Any) -> Array:
    """sqrt(sum of squares of every leaf), scaled by max |x| first.

    Formula: m = max |x|, ||tree|| = m sqrt(sum (x/m)^2); float32 then does not overflow for
    norms above ~1.8e19 (optax.tree.norm squares unscaled).

    Args:
        tree: a pytree of arrays of any shapes.

    Returns:
        scalar; inf or nan if any entry is.
    """
    leaves = [jnp.ravel(x) for x in jax.tree.leaves(tree)]
    peak = jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in leaves]))
    scale = jnp.where(jnp.isfinite(peak) & (peak > 0), peak, jnp.ones_like(peak))
    total = sum(jnp.sum(jnp.square(x / scale)) for x in leaves)
    return jnp.where(jnp.isfinite(peak), scale * jnp.sqrt(total), peak)


def make_optimizer(
    name: str, lr: float | Array, clip: float | None = None, clip_by: str = "global_norm"
) -> optax.GradientTransformation:
    """optax adam | rmsprop | sgd at learning rate `lr`, after clipping the gradient if set.

    Args:
        name: one of train_config.OPTIMIZERS.
        lr: learning rate > 0, a number or a traced scalar (`TrainState.lr`).
        clip: the threshold, None for none.
        clip_by: "global_norm" (optax.clip_by_global_norm: g <- g min(1, clip / ||g||)) or
            "value" (optax.clip: each entry into [-clip, clip]).

    Returns:
        optax.GradientTransformation.
    """
    base = {"adam": optax.adam, "rmsprop": optax.rmsprop, "sgd": optax.sgd}[name](lr)
    if clip is None:
        return base
    rule = optax.clip_by_global_norm if clip_by == "global_norm" else optax.clip
    return optax.chain(rule(clip), base)


def init_model(key: Array, cfg: TrainConfig) -> Model:
    """The cell via lstm.init (another cell: its ``init``); read-out W ~ N(0, 1/H) of shape
    (H, K), b = 0 (K,).

    Args:
        key: a PRNG key.
        cfg: the run.

    Returns:
        Model in cfg.dtype.
    """
    task = cfg.task_spec()
    k_lstm, k_out = jax.random.split(key)
    w_out = jax.random.normal(k_out, (cfg.hidden_size, task.output_size), cfg.dtype)
    w_out = w_out / jnp.sqrt(jnp.asarray(cfg.hidden_size, cfg.dtype))
    if cfg.cell == "lstm":
        params = lstm.init(k_lstm, cfg.lstm_config())
    else:
        params = cfg.recurrent_cell().init(k_lstm)
    return Model(params, w_out, jnp.zeros(task.output_size, cfg.dtype))


def run_lstm(
    params: Any, x: Array, cfg: lstm.LSTMConfig, checkpoint_every: int | None = None
) -> tuple[Array, Array, Array]:
    """lstm.apply's recurrence, also returning max_{t,b,j} |c_t| (which apply does not).

    Args:
        params: lstm.LSTMParams.
        x: inputs (B, T, I).
        cfg: the cell; with ``cfg.fused`` `lstm.vjp.apply_fused_max_c` runs (same values and
            gradients, hand-written backward; max |c| carries no gradient), otherwise
            `lstm.scan_steps` with an observer of |c_t|.
        checkpoint_every: fused path only: None = the cells' store-or-checkpoint rule
            (`lstm.fused.default_chunk`), 0 = store every step, K = keep every K-th state.

    Returns:
        (hs (B, T, H), h_T (B, H), max |c| scalar).
    """
    if cfg.fused:
        from analysis.cells.lstm import vjp

        hs, (h_last, _), max_c = vjp.apply_fused_max_c(
            params, x, cfg, checkpoint_every=checkpoint_every
        )
        return hs, h_last, max_c
    hs, (h_last, _), max_c = lstm.scan_steps(
        params, x, cfg, observe=lambda gates, carry: jnp.max(jnp.abs(carry[1]))
    )
    return hs, h_last, jnp.max(max_c)


def forward(params: Model, x: Array, cfg: TrainConfig, **kw: Any) -> tuple[Array, Array]:
    """Prediction and max_t |c_t| (another cell: max |state|, `run_cell`).

    Args:
        params: Model.
        x: inputs (B, T, I).
        cfg: the run.
        **kw: passed to `run_lstm` (checkpoint_every); the LSTM only.

    Returns:
        (prediction (B, K) or (B, T, K), max |c| scalar).
    """
    task = cfg.task_spec()
    if cfg.cell == "lstm":
        hs, h_last, max_c = run_lstm(params.lstm, x, cfg.lstm_config(), **kw)
    elif kw:
        raise ValueError(f"forward: {sorted(kw)} are options of the LSTM's fused path only")
    else:
        hs, h_last, max_c = run_cell(params.lstm, x, cfg.recurrent_cell())
    h = h_last if task.readout == "last" else hs
    return h @ params.w_out + params.b_out, max_c


def loss_fn(params: Model, x: Array, y: Array, cfg: TrainConfig, **kw: Any) -> tuple[Array, Array]:
    """The task loss of `forward`'s prediction, with max |c| as auxiliary output.

    Args:
        params: Model; x: (B, T, I); y: the task's targets; cfg: the run; **kw: to `run_lstm`.

    Returns:
        (loss scalar, max |c| scalar).
    """
    pred, max_c = forward(params, x, cfg, **kw)
    return cfg.task_spec().loss(pred, y), max_c


def _test_data(cfg: TrainConfig) -> tuple[Array, Array]:
    task = cfg.task_spec()
    if task.test_set is not None:
        return task.test_set()  # a data set's whole test split
    return task.make_batch(jax.random.key(TEST_KEY), cfg.test_batch)


def evaluate(params: Model, cfg: TrainConfig) -> tuple[Array, Array]:
    """Test loss and the task's solved flag on the held-out batch (key TEST_KEY), or on a
    real data set's whole test split.

    Args:
        params: Model; cfg: the run (test_batch sequences).

    Returns:
        (loss scalar, solved bool scalar).
    """
    task = cfg.task_spec()
    x, y = _test_data(cfg)
    pred, _ = forward(params, x, cfg)
    return task.loss(pred, y), task.solved(pred, y)


def test_correct(params: Model, cfg: TrainConfig) -> Array:
    """How many sequences of a classification task's whole test split the model gets right.

    Formula: sum_b [argmax_k pred[b, k] == y[b]] over the ``Task.test_size`` test sequences.

    Args:
        params: Model; cfg: a run whose task has ``accuracy`` (a real data set's).

    Returns:
        int32 scalar.
    """
    task = cfg.task_spec()
    if task.accuracy is None:
        raise ValueError(f"test_correct: task {task.name!r} is not a classification task")
    x, y = _test_data(cfg)
    pred, _ = forward(params, x, cfg)
    return jnp.sum(jnp.argmax(pred, axis=-1) == y).astype(jnp.int32)


def init_state(key: Array, cfg: TrainConfig) -> TrainState:
    """Fresh parameters and optimizer state for one seed's key.

    Args:
        key: the seed's key; cfg: the run.

    Returns:
        TrainState at step 0, not diverged.
    """
    params = init_model(jax.random.fold_in(key, _MODEL_STREAM), cfg)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.clip, cfg.clip_by)
    lr = jnp.asarray(cfg.lr, cfg.dtype)
    # the flossing optimizer's Adam moments (optax.adam's state does not depend on its rate)
    floss_opt = optax.adam(cfg.lr).init(params.recurrent) if cfg.floss else None
    return TrainState(jnp.int32(0), params, opt.init(params), jnp.int32(-1), lr, floss_opt)


def train_step(key: Array, state: TrainState, cfg: TrainConfig) -> tuple[TrainState, StepMetrics]:
    """One update on the batch drawn from fold_in(fold_in(key, 1), step).

    The update is skipped (state kept) once the seed has diverged or `cfg.steps` are done.
    The learning rate is the state's (`TrainState.lr`), not ``cfg.lr``.

    Args:
        key: the seed's key; state: its TrainState; cfg: the run.

    Returns:
        (new TrainState, StepMetrics of this step).
    """
    data_key = jax.random.fold_in(jax.random.fold_in(key, _DATA_STREAM), state.step)
    x, y = cfg.task_spec().make_batch(data_key, cfg.batch)
    (loss, max_c), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, x, y, cfg)
    opt = make_optimizer(cfg.optimizer, state.lr, cfg.clip, cfg.clip_by)
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    running = (state.diverged_at < 0) & (state.step < cfg.steps)
    finite = jnp.isfinite(loss)
    apply = running & finite

    def keep(new: Any, old: Any) -> Any:
        return jax.tree.map(lambda a, b: jnp.where(apply, a, b), new, old)

    new_state = TrainState(
        step=state.step + apply.astype(state.step.dtype),
        params=keep(params, state.params),
        opt_state=keep(opt_state, state.opt_state),
        diverged_at=jnp.where(running & ~finite, state.step, state.diverged_at),
        lr=state.lr,
        floss_opt=state.floss_opt,
    )
    return new_state, StepMetrics(loss, global_norm(grads), global_norm(updates), max_c)


def train_chunk(
    key: Array, state: TrainState, cfg: TrainConfig
) -> tuple[TrainState, StepMetrics, Array, Array]:
    """`cfg.eval_every` steps under lax.scan, then (test loss, solved) on the held-out batch.

    Args:
        key: the seed's key; state: TrainState; cfg: the run.

    Returns:
        (TrainState, StepMetrics with leading axis eval_every, test loss, solved).
    """
    state, metrics = jax.lax.scan(
        lambda s, _: train_step(key, s, cfg), state, None, length=cfg.eval_every
    )
    test_loss, solved = evaluate(state.params, cfg)
    return state, metrics, test_loss, solved
