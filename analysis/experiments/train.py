"""optax training of the LSTM with a linear read-out on a long-range task.

Model: the LSTM of `analysis.cells.lstm` (its `step`, scanned); prediction ``h_T W + b`` (B, K) for a
"last" read-out task (adding), ``h_t W + b`` (B, T, K) for an "all" read-out task (copy).

Speed: one jitted program runs a chunk of ``eval_every`` steps under ``lax.scan`` and then the
test loss, for all seeds at once (``sweep.map_batch``: vmap over seeds, the seed axis sharded
over every device). Batches are drawn inside it from ``fold_in(data_key, step)``, so Python
runs once per chunk, and the program never recompiles after its first call: the step count is
a traced value and a final partial chunk is masked, not a new shape.

Divergence: the first non-finite training loss of a seed freezes that seed (its parameters
stop changing) and is recorded as ``diverged_at``: the 0-based index of that step, i.e. the
number of updates applied before it. Its metrics up to and including that step are kept.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from analysis._util.progress import progress
from analysis.cells import lstm
from analysis.experiments import sweep, tasks

OPTIMIZERS = ("adam", "rmsprop", "sgd")
TEST_KEY = 20_150_401  # one held-out batch, the same for every seed and variant
_MODEL_STREAM, _DATA_STREAM = 0, 1
# The fused LSTM stores every step's residuals (about 6 H numbers per row and step) while they
# fit in this many bytes per seed, and checkpoints every sqrt(T) steps beyond it. Storing was
# faster in training on CPU (3 seeds vmapped, H=32, B=32: T=100 106 vs 82 steps/s, T=1000
# 8.3 vs 8.0; H=64, B=64, T=100: 24.5 vs 22.1); checkpointing bounds memory for long T.
FUSED_STORE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run (a sweep cell); hashable, JSON-able.

    `length` is the sequence length T (for copy: the delay; T = delay + 20).
    `clip` is the global-norm threshold of optax.clip_by_global_norm, None for no clipping.
    """

    task: str = "adding"
    length: int = 100
    steps: int = 2000
    batch: int = 64
    hidden: int = 64
    gate: str = "sigmoid"
    candidate: str = "tanh"
    output: str = "tanh"
    forget_bias: float = 1.0
    init: str = "orthogonal"
    lr: float = 1e-2
    clip: float | None = None
    optimizer: str = "adam"
    eval_every: int = 50
    test_batch: int = 1000
    dtype: str = "float32"
    stop_when_solved: bool = False  # end once every seed has solved the task or diverged
    fused: bool = True  # the LSTM's hand-written backward (fast_lstm); False: lstm.step scanned

    def validate(self) -> TrainConfig:
        """ValueError (one line, naming the valid choices) on any bad field; self otherwise."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}"
            )
        for name in ("length", "steps", "batch", "hidden", "eval_every", "test_batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a finite number > 0 (or none), got {self.clip!r}")
        if not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be finite, got {self.forget_bias!r}")
        if not isinstance(self.fused, bool):
            raise ValueError(f"fused must be true or false, got {self.fused!r}")
        tasks.get(self.task, self.length, self.dtype)
        self.lstm_config()
        return self

    def lstm_config(self) -> lstm.LSTMConfig:
        return lstm.LSTMConfig(
            input_size=self.task_spec().input_size,
            hidden_size=self.hidden,
            gate=self.gate,
            candidate=self.candidate,
            output=self.output,
            forget_bias=self.forget_bias,
            init=self.init,
            dtype=self.dtype,
            fused=self.fused,
        )

    def task_spec(self) -> tasks.Task:
        return tasks.get(self.task, self.length, self.dtype)


class Model(NamedTuple):
    """LSTM parameters and the linear read-out w_out (H, K), b_out (K,)."""

    lstm: Any
    w_out: Array
    b_out: Array


class TrainState(NamedTuple):
    """Per seed: `step` updates done; `diverged_at` = -1 until a non-finite loss."""

    step: Array
    params: Model
    opt_state: Any
    diverged_at: Array


class StepMetrics(NamedTuple):
    """One training step: loss, ||grad||_2 and ||update||_2 over all parameters, max_t |c_t|."""

    loss: Array
    grad_norm: Array
    update_norm: Array
    max_abs_c: Array


def global_norm(tree: Any) -> Array:
    """sqrt(sum of squares of every leaf), scaled by max |x| first so that float32 does not
    overflow to inf for norms above ~1.8e19 (optax.tree.norm squares unscaled). inf or nan
    entries give inf or nan."""
    leaves = [jnp.ravel(x) for x in jax.tree.leaves(tree)]
    peak = jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in leaves]))
    scale = jnp.where(jnp.isfinite(peak) & (peak > 0), peak, jnp.ones_like(peak))
    total = sum(jnp.sum(jnp.square(x / scale)) for x in leaves)
    return jnp.where(jnp.isfinite(peak), scale * jnp.sqrt(total), peak)


def make_optimizer(name: str, lr: float, clip: float | None = None) -> optax.GradientTransformation:
    """optax adam | rmsprop | sgd at learning rate `lr`, after clip_by_global_norm(clip) if set."""
    base = {"adam": optax.adam, "rmsprop": optax.rmsprop, "sgd": optax.sgd}[name](lr)
    return base if clip is None else optax.chain(optax.clip_by_global_norm(clip), base)


def init_model(key: Array, cfg: TrainConfig) -> Model:
    """LSTM via lstm.init; read-out W ~ N(0, 1/H), b = 0."""
    task = cfg.task_spec()
    k_lstm, k_out = jax.random.split(key)
    w_out = jax.random.normal(k_out, (cfg.hidden, task.output_size), cfg.dtype)
    w_out = w_out / jnp.sqrt(jnp.asarray(cfg.hidden, cfg.dtype))
    return Model(
        lstm.init(k_lstm, cfg.lstm_config()), w_out, jnp.zeros(task.output_size, cfg.dtype)
    )


def run_lstm(params: Any, x: Array, cfg: lstm.LSTMConfig) -> tuple[Array, Array, Array]:
    """lstm.apply's recurrence, also returning max_{t,b,j} |c_t| (which apply does not).

    x (B, T, I) -> (hs (B, T, H), h_T (B, H), max |c|). With ``cfg.fused`` it is
    `fast_lstm.apply_fused_max_c` (same values and gradients, hand-written backward; max |c|
    carries no gradient); otherwise the steps are `lstm.step` itself under `lax.scan`.
    """
    if cfg.fused:
        from analysis.cells import fast_lstm

        stored = 6 * x.shape[0] * x.shape[1] * cfg.hidden_size * cfg.jnp_dtype.itemsize
        ck = 0 if stored <= FUSED_STORE_BYTES else max(1, round(math.sqrt(x.shape[1])))
        hs, (h_last, _), max_c = fast_lstm.apply_fused_max_c(params, x, cfg, checkpoint_every=ck)
        return hs, h_last, max_c
    zx = lstm.input_projection(params, x, cfg)
    carry = lstm.initial_carry(cfg, zx.shape[1])

    def body(carry: tuple[Array, Array], z: Array) -> tuple[tuple[Array, Array], Any]:
        (h, c), _ = lstm.step(params, cfg, carry, z)
        return (h, c), (h, jnp.max(jnp.abs(c)))

    if cfg.remat:
        body = jax.checkpoint(body)
    (h_last, _), (hs, max_c) = jax.lax.scan(body, carry, zx, unroll=cfg.unroll)
    return jnp.swapaxes(hs, 0, 1), h_last, jnp.max(max_c)


def forward(params: Model, x: Array, cfg: TrainConfig) -> tuple[Array, Array]:
    """x (B, T, I) -> (prediction (B, K) or (B, T, K), max_t |c_t|)."""
    task = cfg.task_spec()
    hs, h_last, max_c = run_lstm(params.lstm, x, cfg.lstm_config())
    h = h_last if task.readout == "last" else hs
    return h @ params.w_out + params.b_out, max_c


def _loss(params: Model, x: Array, y: Array, cfg: TrainConfig) -> tuple[Array, Array]:
    pred, max_c = forward(params, x, cfg)
    return cfg.task_spec().loss(pred, y), max_c


def _test_batch(cfg: TrainConfig) -> tuple[Array, Array]:
    return cfg.task_spec().make_batch(jax.random.key(TEST_KEY), cfg.test_batch)


def _evaluate(params: Model, cfg: TrainConfig) -> tuple[Array, Array]:
    x, y = _test_batch(cfg)
    pred, _ = forward(params, x, cfg)
    task = cfg.task_spec()
    return task.loss(pred, y), task.solved(pred, y)


def init_state(key: Array, cfg: TrainConfig) -> TrainState:
    """Fresh parameters and optimizer state for one seed's key."""
    params = init_model(jax.random.fold_in(key, _MODEL_STREAM), cfg)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.clip)
    return TrainState(jnp.int32(0), params, opt.init(params), jnp.int32(-1))


def train_step(key: Array, state: TrainState, cfg: TrainConfig) -> tuple[TrainState, StepMetrics]:
    """One update on the batch drawn from fold_in(fold_in(key, 1), step).

    The update is skipped (state kept) once the seed has diverged or `cfg.steps` are done.
    """
    data_key = jax.random.fold_in(jax.random.fold_in(key, _DATA_STREAM), state.step)
    x, y = cfg.task_spec().make_batch(data_key, cfg.batch)
    (loss, max_c), grads = jax.value_and_grad(_loss, has_aux=True)(state.params, x, y, cfg)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.clip)
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
    )
    metrics = StepMetrics(loss, global_norm(grads), global_norm(updates), max_c)
    return new_state, metrics


def train_chunk(
    key: Array, state: TrainState, cfg: TrainConfig
) -> tuple[TrainState, StepMetrics, Array, Array]:
    """`cfg.eval_every` steps under lax.scan, then (test loss, solved) on the held-out batch."""
    state, metrics = jax.lax.scan(
        lambda s, _: train_step(key, s, cfg), state, None, length=cfg.eval_every
    )
    test_loss, solved = _evaluate(state.params, cfg)
    return state, metrics, test_loss, solved


def _evaluate_state(key: Array, state: TrainState, cfg: TrainConfig) -> tuple[Array, Array]:
    del key
    return _evaluate(state.params, cfg)


def _cut(values: np.ndarray, n: int) -> list[float]:
    return [float(v) for v in values[:n]]


def train(
    cfg: TrainConfig,
    seeds: Sequence[int],
    *,
    desc: str = "train",
) -> dict[str, Any]:
    """Train one model per seed (vmapped together) for cfg.steps steps; JSON-able results.

    Returns {"config", "seeds", "baseline", "criterion", "wall_s", "compile_s",
    "steps_per_s", "per_seed": [{"seed", "loss", "grad_norm", "update_norm", "max_abs_c",
    "test_steps", "test_loss", "solved_step", "diverged_at", "final_test_loss"}]}.
    Per-step lists run to the last step done (through `diverged_at` for a diverged seed);
    test_steps[i] is the number of updates behind test_loss[i] (0: at initialisation).
    """
    asked = cfg.validate()
    # A budget shorter than one chunk runs one shorter chunk, not a masked long one.
    cfg = replace(asked, eval_every=min(asked.eval_every, asked.steps))
    task = cfg.task_spec()
    keys = sweep.seed_keys(seeds)
    t_start = time.perf_counter()
    state = sweep.map_seeds(functools.partial(init_state, cfg=cfg), keys)
    test0, solved0 = sweep.map_batch(functools.partial(_evaluate_state, cfg=cfg), keys, state)
    chunk = functools.partial(train_chunk, cfg=cfg)
    n_chunks = -(-cfg.steps // cfg.eval_every)
    collected: list[StepMetrics] = []
    test_steps = [0]
    test_losses = [np.asarray(test0)]
    solved = [np.asarray(solved0)]
    t_first = None
    with progress(total=cfg.steps, desc=desc, unit="step") as bar:
        for i in range(n_chunks):
            state, metrics, test_loss, ok = sweep.map_batch(chunk, keys, state)
            metrics = jax.tree.map(np.asarray, metrics)
            if t_first is None:
                t_first = time.perf_counter()
            collected.append(metrics)
            done = min((i + 1) * cfg.eval_every, cfg.steps)
            test_steps.append(done)
            test_losses.append(np.asarray(test_loss))
            solved.append(np.asarray(ok))
            bar.update(done - bar.n)
            last = metrics.loss[:, -1]
            finite = last[np.isfinite(last)]
            bar.set_postfix(loss=f"{finite.mean():.4g}" if finite.size else "non-finite")
            settled = np.asarray(state.diverged_at) >= 0
            if cfg.stop_when_solved:
                settled |= np.any(np.stack(solved, axis=1), axis=1)
            if bool(np.all(settled)):
                break
    t_end = time.perf_counter()
    cat = StepMetrics(*(np.concatenate(m, axis=1) for m in zip(*collected, strict=True)))
    diverged = np.asarray(state.diverged_at)
    test_losses_a = np.stack(test_losses, axis=1)
    solved_a = np.stack(solved, axis=1)
    per_seed = []
    for s, seed in enumerate(seeds):
        d = int(diverged[s])
        n = cfg.steps if d < 0 else d + 1
        valid = [j for j, st in enumerate(test_steps) if d < 0 or st <= d]
        hit = [test_steps[j] for j in valid if bool(solved_a[s, j])]
        per_seed.append(
            {
                "seed": int(seed),
                "loss": _cut(cat.loss[s], n),
                "grad_norm": _cut(cat.grad_norm[s], n),
                "update_norm": _cut(cat.update_norm[s], n),
                "max_abs_c": _cut(cat.max_abs_c[s], n),
                "test_steps": [test_steps[j] for j in valid],
                "test_loss": [float(test_losses_a[s, j]) for j in valid],
                "solved_step": hit[0] if hit else None,
                "diverged_at": None if d < 0 else d,
                "final_test_loss": float(test_losses_a[s, valid[-1]]),
            }
        )
    steady = (t_end - t_first) if t_first is not None else 0.0
    steady_steps = max(len(collected) - 1, 0) * cfg.eval_every
    return {
        "config": asdict(asked),
        "seeds": [int(s) for s in seeds],
        "task": {"name": task.name, "T": task.length, "criterion": task.criterion},
        "baseline": task.baseline,
        "wall_s": t_end - t_start,
        "compile_s": (t_first - t_start) if t_first is not None else None,
        "steps_per_s": steady_steps / steady if steady > 0 and steady_steps else None,
        "per_seed": per_seed,
    }
