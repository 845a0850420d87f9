"""Benchmark `actgrad train`: steps/s at T = 100 and 1000, and the default run's wall time.

    python scripts/bench_train.py --out BENCH_train.md
    python scripts/bench_train.py --lengths 10 --steps 20 --default-steps 20 --out /tmp/b.md

Steps/s excludes the first chunk (compilation); the default run is `actgrad train --task
adding --length 100` in a fresh process, timed from start to exit (import and compile
included), which is what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bench:
    lengths: tuple[int, ...] = (100, 1000)
    steps: int = 200
    eval_every: int = 50
    batch: int = 64
    hidden: int = 64
    seeds: int = 1
    default_steps: int | None = None  # None: the command's own default budget
    out: str = "BENCH_train.md"


def parse() -> Bench:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", default="100,1000", help="comma-separated T values")
    p.add_argument("--steps", type=int, default=Bench.steps)
    p.add_argument("--eval-every", type=int, default=Bench.eval_every)
    p.add_argument("--batch", type=int, default=Bench.batch)
    p.add_argument("--hidden", type=int, default=Bench.hidden)
    p.add_argument("--seeds", type=int, default=Bench.seeds)
    p.add_argument("--default-steps", type=int, default=None, help="shorten the default run")
    p.add_argument("--out", default=Bench.out)
    a = p.parse_args()
    lengths = tuple(int(v) for v in a.lengths.split(","))
    return Bench(lengths, a.steps, a.eval_every, a.batch, a.hidden, a.seeds, a.default_steps, a.out)


def default_run(b: Bench) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "analysis", "train", "--task", "adding", "--length", "100"]
        if b.default_steps is not None:
            cmd += ["--steps", str(b.default_steps)]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--out", tmp], check=True, capture_output=True)
        wall = time.perf_counter() - t0
        (variant,) = json.loads((Path(tmp) / "train.json").read_text())["variants"]
    run = variant["per_seed"][0]
    return {
        "wall": wall,
        "solved": run["solved_step"],
        "final": run["final_test_loss"],
        "steps": variant["config"]["steps"],
        "train_wall": variant["wall_s"],
    }


def main() -> None:
    from analysis._util import io
    from analysis.experiments.train import TrainConfig, train

    b = parse()
    seeds = list(range(b.seeds))
    rows = []
    for t in b.lengths:
        cfg = TrainConfig(
            task="adding",
            length=t,
            steps=b.steps,
            batch=b.batch,
            hidden=b.hidden,
            eval_every=b.eval_every,
        )
        r = train(cfg, seeds, desc=f"T={t}")
        rows.append(
            f"| {t} | {b.batch} | {b.hidden} | {b.seeds} | {r['steps_per_s']:.1f} | "
            f"{r['compile_s']:.1f} |"
        )
    d = default_run(b)
    meta = io.run_metadata()
    text = "\n".join(
        [
            "## `actgrad train` speed (adding problem, tanh LSTM, Adam)",
            "",
            f"Device: {meta['device']}; jax {meta['versions'].get('jax')}, "
            f"optax {meta['versions'].get('optax')}.",
            "",
            "| T | batch | hidden | seeds | steps/s | first chunk incl. compile (s) |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"Default run `actgrad train --task adding --length 100` ({d['steps']} steps): "
            f"{d['wall']:.1f} s wall from process start to exit ({d['train_wall']:.1f} s training), "
            f"solved (test MSE < 0.01) at step {d['solved']}, final test MSE {d['final']:.3g}.",
            "",
        ]
    )
    io.atomic_write_text(b.out, text)
    print(text)


if __name__ == "__main__":
    main()
