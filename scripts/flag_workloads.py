"""The workloads of `bench_xla_flags.py` (imported from beside it): what a flag is measured on.

Each returns the seconds of one warm run at the default report's shapes (or the CPU
benchmark shapes): decay a whole "Why gating?" cell, training seconds per step (first chunk
excluded), `lstm` one forward+backward of `lstm.apply` (median of 5), `tanh` forward + input
gradient of the kernel on 10^7 float32 (median of 9).
"""

from __future__ import annotations

import statistics
import time

__all__ = ["WORKLOADS", "run"]

WORKLOADS = ("decay-gru", "decay-lstm", "train-100", "train-400", "lstm-S1", "lstm-S2", "tanh")


def _warm(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up."""
    import jax

    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(workload: str) -> float:
    """Seconds of one warm run of `workload` (train: seconds per step).

    Args:
        workload: one of `WORKLOADS`.

    Returns:
        seconds.
    """
    import jax
    import jax.numpy as jnp

    from analysis.experiments import decay, train
    from analysis.report import config, gating, stages

    cfg = config.preset("default")
    if workload.startswith("decay"):
        name = workload.split("-")[1]
        cell = next(c for c in gating.decay_cells(cfg) if c["cell"]["name"] == name)
        return _warm(lambda: decay.run_cell(cell, list(range(cfg.decay_seeds))), 1)
    if workload.startswith("train"):
        cell = stages.train_cell(cfg, "tanh/tanh", int(workload.split("-")[1]))
        run = {**cell, "steps": 4 * cfg.train_eval_every, "snapshots": 0}
        result = train.train(train.TrainConfig.from_dict(run), list(range(cfg.train_seeds)))
        return 1.0 / result["steps_per_s"]
    if workload == "tanh":
        import kernels

        x = jax.random.normal(jax.random.key(0), (10_000_000,), jnp.float32)
        act = kernels.get("tanh")
        fn = jax.jit(lambda v: jax.vjp(act.fn, v)[1](jnp.ones_like(v)))
        return _warm(lambda: fn(x), 9)
    from analysis.bench import shapes
    from analysis.cells import lstm

    shape = shapes.SHAPES[workload.split("-")[1]]
    lcfg = lstm.LSTMConfig(input_size=shape.input_size, hidden_size=shape.hidden)
    params = lstm.init(jax.random.key(0), lcfg)
    xs = jax.random.normal(jax.random.key(1), (shape.batch, shape.length, shape.input_size))
    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(lstm.apply(p, x, lcfg)[0])))
    return _warm(lambda: grad(params, xs), 5)
