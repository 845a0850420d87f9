"""Forward+backward throughput of each kernel against its jax.nn twin, and verify-all time.

    python scripts/bench_kernels.py [--size 10000000] [--repeats 15] [--out FILE]

Each timed call is ``y, vjp(ct)`` of f at `size` float32 values: the forward output and
the input gradient for a given cotangent, both materialized, as in a training step.
Ours and the twin are jitted the same way, get the same x and ct, are warmed up (not
timed), are awaited with block_until_ready and alternate call by call; medians over
repeats, with the
interquartile range of the per-pair ratio. Where ours is slower, a probe looks for an
input where the twin's f' is wrong.
Writes a markdown section (stdout, or --out FILE atomically).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    size: int = 10_000_000
    repeats: int = 15
    seed: int = 0
    out: str | None = None
    skip_verify: bool = False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=Config.size)
    p.add_argument("--repeats", type=int, default=Config.repeats)
    p.add_argument("--seed", type=int, default=Config.seed)
    p.add_argument("--out", default=None, help="write the markdown here (default: print)")
    p.add_argument("--skip-verify", action="store_true", help="do not time actgrad verify")
    cfg = Config(**vars(p.parse_args()))
    if cfg.size < 1 or cfg.repeats < 2:
        p.error("--size must be >= 1 and --repeats >= 2")

    from analysis.bench import kernels as kernel_bench
    from analysis.util.io import atomic_write_text

    res = kernel_bench.run(cfg.size, cfg.repeats, cfg.seed, with_verify=not cfg.skip_verify)
    text = kernel_bench.markdown(res)
    if cfg.out:
        atomic_write_text(cfg.out, text)
    else:
        print(text)


if __name__ == "__main__":
    from analysis.runtime import configure_xla

    configure_xla()  # the flags the actgrad command runs with, before JAX starts
    main()
