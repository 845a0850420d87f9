"""One gradient-flossing step (k = 8) against one training step, at the report's shapes.

    nice python scripts/bench_flossing.py            # LSTM H = 16, batch 16, T = 100, adding

One seed. A training step is `train_step` (batch B, Adam, clipping as the report's); a
flossing step is `train_floss.floss_steps` with n = 1 (one sequence of T steps, the k largest
exponents by QR, their gradient, Adam). Each is timed as one call and as N steps in one
program (`train_chunk` / N against `floss_steps` n = N / N), interleaved, compiling excluded,
`jax.block_until_ready`, medians over repeats.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jax
import numpy as np

from analysis.experiments import train_floss
from analysis.experiments.train import TrainConfig, init_state, train_chunk, train_step
from analysis.runtime import configure_xla


@dataclass(frozen=True)
class Knobs:
    length: int = 100
    hidden: int = 16
    batch: int = 16
    k: int = 8
    chunk: int = 50
    calls: int = 20
    repeats: int = 7


def timed(f, args, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        out = f(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / calls


def main(kn: Knobs) -> None:
    cfg = TrainConfig(
        length=kn.length,
        hidden_size=kn.hidden,
        batch=kn.batch,
        clip=1.0,
        eval_every=kn.chunk,
        floss=kn.k,
        test_batch=256,
    )
    key = jax.random.key(0)
    state = init_state(key, cfg)
    first = np.int32(0)

    def floss(n: int):  # n static: the number of flossing steps in one program
        return jax.jit(lambda k, s, i: train_floss.floss_steps(k, s, cfg, n, i))

    rows = {
        "training step (one call)": (jax.jit(functools.partial(train_step, cfg=cfg)), 1),
        "flossing step (one call)": (floss(1), 1),
        f"training step (train_chunk / {kn.chunk})": (
            jax.jit(functools.partial(train_chunk, cfg=cfg)),
            kn.chunk,
        ),
        f"flossing step (floss_steps n={kn.chunk} / {kn.chunk})": (floss(kn.chunk), kn.chunk),
    }
    args = {name: (key, state, first) if "floss" in name else (key, state) for name in rows}
    for name, (f, _) in rows.items():
        jax.block_until_ready(f(*args[name]))  # compiles
    times = {name: [] for name in rows}
    for _ in range(kn.repeats):  # interleaved
        for name, (f, per) in rows.items():
            times[name].append(timed(f, args[name], max(1, kn.calls // per)) / per)
    med = {name: float(np.median(v)) for name, v in times.items()}
    print(f"jax {jax.__version__}; LSTM H={kn.hidden}, B={kn.batch}, T={kn.length}, k={kn.k}")
    print("| what | ms (median) |\n| --- | ---: |")
    for name, sec in med.items():
        print(f"| {name} | {sec * 1e3:.3f} |")
    names = list(med)
    print(
        f"ratio flossing / training, one call: {med[names[1]] / med[names[0]]:.2f}x; "
        f"in a {kn.chunk}-step program: {med[names[3]] / med[names[2]]:.2f}x"
    )


if __name__ == "__main__":
    configure_xla()  # the flags the actgrad command runs with, before JAX starts
    main(Knobs())
