"""Kernel speed against the jax.nn twins (`scripts/bench_kernels.py` writes the table).

Each timed call is ``y, vjp(ct)`` of f at n float32 values: the forward output and the input
gradient for a given cotangent, both materialized, as in a training step. Ours and the twin
are jitted the same way, get the same x and ct, are warmed up (not timed), are awaited with
``block_until_ready`` and alternate call by call; medians over repeats, with the
interquartile range of the per-pair ratio. Where ours is slower, ``twin_error`` looks for an
input where the twin's f' is wrong, against our float64 f' (which `actgrad verify` checks).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["PROBES", "markdown", "run", "twin_error"]

PROBES = (-1e3, -100.0, -30.0, -20.0, -10.0, -5.0, 5.0, 10.0, 20.0, 30.0, 1e3)
PROBES_SPECIAL = (float("-inf"), float("inf"), float("nan"))


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


def twin_error(act) -> str:
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


def run(size: int, repeats: int, seed: int = 0, with_verify: bool = True) -> dict[str, Any]:
    """Time every kernel against its twin; optionally time verifying all kernels."""
    import jax
    import jax.numpy as jnp

    import kernels
    from analysis.checks import verify
    from analysis.util.io import run_metadata

    kx, kc = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (size,), jnp.float32) * 4
    ct = jax.random.normal(kc, (size,), jnp.float32)
    rows = []
    for name in kernels.names():
        act = kernels.get(name)
        ours, twin = _timer(act.fn, x, ct), _timer(act.jax_nn, x, ct)
        t_ours, t_twin = [], []
        for _ in range(repeats):  # alternating, so load drifts hit both alike
            t_ours.append(ours())
            t_twin.append(twin())
        q1, _, q3 = statistics.quantiles([o / w for o, w in zip(t_ours, t_twin, strict=True)], n=4)
        a, b = statistics.median(t_ours), statistics.median(t_twin)
        rows.append({"kernel": name, "ours_s": a, "twin_s": b, "iqr": (q1, q3), "why": ""})
    with jax.enable_x64(True):  # only for the float64 truth of the probes
        for row in rows:
            if row["ours_s"] > row["twin_s"]:
                row["why"] = twin_error(kernels.get(row["kernel"]))
    out: dict[str, Any] = {"size": size, "repeats": repeats, "rows": rows, **run_metadata()}
    if with_verify:
        t = time.perf_counter()
        reports = [verify.verify_activation(kernels.get(n)) for n in kernels.names()]
        out["verify"] = {
            "seconds": time.perf_counter() - t,
            "passed": sum(r.passed for r in reports),
            "kernels": len(reports),
        }
    return out


def markdown(res: Mapping[str, Any]) -> str:
    """The BENCHMARKS.md section for a `run` result."""
    n = res["size"]
    lines = [
        f"### Kernels: forward+backward on {n:,} float32 values",
        "",
        "| kernel | ours (ms) | jax.nn (ms) | ours / jax.nn | pair ratio IQR "
        "| Gvalues/s (ours) | why > 1.0 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in res["rows"]:
        a, b, (q1, q3) = r["ours_s"], r["twin_s"], r["iqr"]
        lines.append(
            f"| {r['kernel']} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f} | {q1:.2f}–{q3:.2f} "
            f"| {n / a / 1e9:.3f} | {r['why']} |"
        )
    if "verify" in res:
        v = res["verify"]
        lines += [
            "",
            f"`actgrad verify` (all {v['kernels']} kernels, float16/bfloat16/float32/float64, "
            f"in this process): {v['seconds']:.1f} s, {v['passed']}/{v['kernels']} pass.",
        ]
    m = res["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['platform']}); JAX device: "
        f"{res['device']}; versions: {res['versions']}; median of {res['repeats']} alternating "
        "calls, warm-up excluded.",
        "",
    ]
    return "\n".join(lines)
