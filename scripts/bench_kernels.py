"""Forward+backward throughput of each kernel against its jax.nn twin, and verify-all time.

    python scripts/bench_kernels.py [--size 10000000] [--repeats 7] [--out FILE]

Each timed call is grad(sum(f(x))) on `size` float32 values, jitted, warm-up excluded,
block_until_ready, ours and jax.nn interleaved in one loop; medians over repeats.
Writes a markdown section (stdout, or --out FILE atomically).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    size: int = 10_000_000
    repeats: int = 7
    seed: int = 0
    out: str | None = None
    skip_verify: bool = False


def _timer(fn, x):
    import jax

    jax.block_until_ready(fn(x))  # warm-up and compile, not timed

    def once() -> float:
        t = time.perf_counter()
        jax.block_until_ready(fn(x))
        return time.perf_counter() - t

    return once


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=Config.size)
    p.add_argument("--repeats", type=int, default=Config.repeats)
    p.add_argument("--seed", type=int, default=Config.seed)
    p.add_argument("--out", default=None, help="write the markdown here (default: print)")
    p.add_argument("--skip-verify", action="store_true", help="do not time actgrad verify")
    cfg = Config(**vars(p.parse_args()))
    if cfg.size < 1 or cfg.repeats < 1:
        p.error("--size and --repeats must be >= 1")

    import jax
    import jax.numpy as jnp

    import kernels
    from analysis import verify
    from analysis.io import atomic_write_text, run_metadata

    x = jax.random.normal(jax.random.key(cfg.seed), (cfg.size,), jnp.float32) * 4
    lines = [
        f"### Kernels: forward+backward on {cfg.size:,} float32 values",
        "",
        "| kernel | ours (ms) | jax.nn (ms) | ours / jax.nn | Gvalues/s (ours) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in kernels.names():
        act = kernels.get(name)
        if act.jax_nn is None:
            continue
        ours = _timer(jax.jit(jax.grad(lambda v, f=act.fn: jnp.sum(f(v)))), x)
        twin = _timer(jax.jit(jax.grad(lambda v, f=act.jax_nn: jnp.sum(f(v)))), x)
        t_ours, t_twin = [], []
        for _ in range(cfg.repeats):  # interleaved, so load drifts hit both alike
            t_ours.append(ours())
            t_twin.append(twin())
        a, b = statistics.median(t_ours), statistics.median(t_twin)
        lines.append(
            f"| {name} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f} | {cfg.size / a / 1e9:.3f} |"
        )
    if not cfg.skip_verify:
        t = time.perf_counter()
        reports = [verify.verify_activation(kernels.get(n)) for n in kernels.names()]
        secs = time.perf_counter() - t
        ok = sum(r.passed for r in reports)
        lines += [
            "",
            f"`actgrad verify` (all {len(reports)} kernels, float32 + float64, "
            f"100,000 random points each, plus float16/bfloat16 finiteness): "
            f"{secs:.1f} s, {ok}/{len(reports)} pass.",
        ]
    meta = run_metadata()
    lines += [
        "",
        f"Machine: {meta['device']}; versions: {meta['versions']}; "
        f"median of {cfg.repeats}, warm-up excluded.",
        "",
    ]
    text = "\n".join(lines)
    if cfg.out:
        atomic_write_text(cfg.out, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
