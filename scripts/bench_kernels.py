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
import statistics
import time
from dataclasses import dataclass

PROBES = (-1e3, -100.0, -30.0, -20.0, -10.0, -5.0, 5.0, 10.0, 20.0, 30.0, 1e3)
PROBES_SPECIAL = (float("-inf"), float("inf"), float("nan"))


@dataclass(frozen=True)
class Config:
    size: int = 10_000_000
    repeats: int = 15
    seed: int = 0
    out: str | None = None
    skip_verify: bool = False


def _timer(f, x, ct):
    import jax

    def step(x, ct):
        y, pull = jax.vjp(f, x)
        return y, pull(ct)[0]

    run = jax.jit(step)
    jax.block_until_ready(run(x, ct))  # compile and warm up, not timed

    def once() -> float:
        t = time.perf_counter()
        jax.block_until_ready(run(x, ct))
        return time.perf_counter() - t

    return once


def _twin_error(act) -> str:
    """The first probe where the twin's float32 f' is off (NaN-ness, or > 1% relative)
    and ours is right, both against our float64 f' (checked by `actgrad verify`)."""
    import jax
    import numpy as np

    def grads(f, dtype):
        return np.asarray(jax.vmap(jax.grad(f))(np.array(PROBES + PROBES_SPECIAL, dtype)))

    truth = grads(act.fn, np.float64)
    ours, twin = grads(act.fn, np.float32), grads(act.jax_nn, np.float32)

    def wrong(g, i):
        t = truth[i]
        if np.isnan(t) or np.isnan(g[i]):
            return np.isnan(t) != np.isnan(g[i])
        return abs(g[i] - t) > 0.01 * abs(t) if t != 0 else g[i] != 0

    for i, z in enumerate(PROBES + PROBES_SPECIAL):
        if wrong(twin, i) and not wrong(ours, i):
            return f"jax.nn f'({z:g}) = {twin[i]:.3g}; ours {ours[i]:.3g} (float64 {truth[i]:.3g})"
    return "no probe shows a twin error; within run-to-run spread (see IQR)"


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

    import jax
    import jax.numpy as jnp

    import kernels
    from analysis import verify
    from analysis.io import atomic_write_text, run_metadata

    kx, kc = jax.random.split(jax.random.key(cfg.seed))
    x = jax.random.normal(kx, (cfg.size,), jnp.float32) * 4
    ct = jax.random.normal(kc, (cfg.size,), jnp.float32)
    rows = []
    for name in kernels.names():
        act = kernels.get(name)
        ours, twin = _timer(act.fn, x, ct), _timer(act.jax_nn, x, ct)
        t_ours, t_twin = [], []
        for _ in range(cfg.repeats):  # alternating, so load drifts hit both alike
            t_ours.append(ours())
            t_twin.append(twin())
        pair = statistics.quantiles([o / w for o, w in zip(t_ours, t_twin, strict=True)], n=4)
        rows.append((act, statistics.median(t_ours), statistics.median(t_twin), pair))

    jax.config.update("jax_enable_x64", True)  # only for the float64 truth of the probes
    lines = [
        f"### Kernels: forward+backward on {cfg.size:,} float32 values",
        "",
        "| kernel | ours (ms) | jax.nn (ms) | ours / jax.nn | pair ratio IQR "
        "| Gvalues/s (ours) | why > 1.0 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for act, a, b, (q1, _, q3) in rows:
        why = _twin_error(act) if a > b else ""
        lines.append(
            f"| {act.name} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f} | {q1:.2f}–{q3:.2f} "
            f"| {cfg.size / a / 1e9:.3f} | {why} |"
        )
    if not cfg.skip_verify:
        t = time.perf_counter()
        reports = [verify.verify_activation(kernels.get(n)) for n in kernels.names()]
        secs = time.perf_counter() - t
        ok = sum(r.passed for r in reports)
        lines += [
            "",
            f"`actgrad verify` (all {len(reports)} kernels, float16/bfloat16/float32/float64, "
            f"in this process): {secs:.1f} s, {ok}/{len(reports)} pass.",
        ]
    meta = run_metadata()
    lines += [
        "",
        f"Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores "
        f"({meta['machine']['platform']}); JAX device: {meta['device']}; versions: "
        f"{meta['versions']}; median of {cfg.repeats} alternating calls, warm-up excluded.",
        "",
    ]
    text = "\n".join(lines)
    if cfg.out:
        atomic_write_text(cfg.out, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
