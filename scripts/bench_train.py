"""Benchmark `actgrad train` at the report's shapes: seed-steps/s and snapshot overhead.

    python scripts/bench_train.py --out BENCH_train.md
    python scripts/bench_train.py --lengths 10 --steps 20 --seeds 2 --out /tmp/b.md

For each length T, one run with gradient-flow snapshots: seed-steps/s excludes the first chunk
(compilation) and the snapshot calls; the snapshot overhead is the time of every snapshot after
the first (which compiles) over that training time. Seeds run vmapped in one program.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Bench:
    lengths: tuple[int, ...] = (50, 100, 200, 400)
    steps: int = 600
    eval_every: int = 30
    batch: int = 16
    hidden: int = 32
    seeds: int = 8
    snapshots: int = 20
    out: str = "BENCH_train.md"


def parse() -> Bench:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", default="50,100,200,400", help="comma-separated T values")
    for name in ("steps", "eval_every", "batch", "hidden", "seeds", "snapshots"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(Bench, name))
    p.add_argument("--out", default=Bench.out)
    a = p.parse_args()
    lengths = tuple(int(v) for v in a.lengths.split(","))
    knobs = {k: getattr(a, k) for k in ("steps", "eval_every", "batch", "hidden", "seeds")}
    return Bench(lengths, **knobs, snapshots=a.snapshots, out=a.out)


def row(b: Bench, t: int) -> str:
    from analysis.experiments.train import TrainConfig, train

    cfg = TrainConfig(
        task="adding",
        length=t,
        steps=b.steps,
        batch=b.batch,
        hidden_size=b.hidden,
        eval_every=b.eval_every,
        lr=2e-2,
        snapshots=b.snapshots,
    )
    r = train(cfg, list(range(b.seeds)), desc=f"T={t}")
    steady = (b.steps - b.eval_every) / r["steps_per_s"]  # seconds of training after chunk 1
    overhead = 100 * r["snapshot_s"] / steady
    return (
        f"| {t} | {b.batch} | {b.hidden} | {b.seeds} | {r['steps_per_s'] * b.seeds:.0f} | "
        f"{r['compile_s']:.1f} | {overhead:.1f}% | {r['snapshot_first_s']:.1f} |"
    )


def main() -> None:
    from analysis.runtime import compile_cache
    from analysis.util import io

    b = parse()
    cache = compile_cache.enable()
    rows = [row(b, t) for t in b.lengths]
    meta = io.run_metadata()
    text = "\n".join(
        [
            "## `actgrad train` at the report's shapes (adding problem, tanh LSTM, Adam)",
            "",
            f"Device: {meta['device']}; jax {meta['versions'].get('jax')}, optax "
            f"{meta['versions'].get('optax')}; {b.steps} steps, {b.snapshots} snapshots, "
            f"compile cache {cache or 'off'}.",
            "",
            "| T | batch | hidden | seeds | seed-steps/s | first chunk incl. compile (s) "
            "| snapshot overhead | first snapshot incl. compile (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )
    io.atomic_write_text(b.out, text)
    print(text)


if __name__ == "__main__":
    from analysis.runtime import configure_xla

    configure_xla()  # the flags the actgrad command runs with, before JAX starts
    main()
