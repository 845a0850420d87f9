"""What an XLA flag costs or buys: each workload under two values of it, side by side.

    python scripts/bench_xla_flags.py --rounds 3
    python scripts/bench_xla_flags.py --flag xla_backend_optimization_level --values default,1

Each measurement is its own fresh process (XLA reads its flags once), the two values
alternating; a workload (`scripts/flag_workloads.py`) runs once to compile (its XLA
compile seconds are recorded), then its warm time is taken. Reported: medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from flag_workloads import WORKLOADS, run  # scripts/flag_workloads.py, beside this one

TIMEOUT_S = 120  # every workload finishes in under 60 s here when it does not hang


def measure(workload: str, flags: str) -> tuple[float, float]:
    """(warm seconds, XLA compile seconds) of one fresh process."""
    env = {**os.environ, "XLA_FLAGS": flags, "ACTGRAD_PROGRESS": "0", "ACTGRAD_JAX_CACHE": "off"}
    cmd = [sys.executable, __file__, "--child", workload]
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=True, timeout=TIMEOUT_S
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    return row["s"], row["compile_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--flag", default="xla_cpu_enable_concurrency_optimized_scheduler")
    p.add_argument("--values", default="true,false", help="first,second; default: unset")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--child", choices=WORKLOADS)
    a = p.parse_args()
    if a.child:
        from analysis.runtime import configure_xla

        configure_xla()  # actgrad's other flags as the command sets them; the measured one kept
        import jax.monitoring

        compile_s = [0.0]
        key = "/jax/core/compile/backend_compile_duration"
        jax.monitoring.register_event_duration_secs_listener(
            lambda name, d, **kw: compile_s.__setitem__(0, compile_s[0] + d * (name == key))
        )
        print(json.dumps({"s": run(a.child), "compile_s": compile_s[0]}))
        return
    values = a.values.split(",")
    print(f"`--{a.flag}`, {a.rounds} rounds; warm s (train: s per step) and XLA compile s\n")
    print(
        f"| workload | {values[0]} | {values[1]} | ratio | compile {values[0]} | "
        f"compile {values[1]} | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for workload in a.workloads.split(","):
        runs: dict[str, list[tuple[float, float]]] = {v: [] for v in values}
        for r in range(a.rounds):
            for v in values if r % 2 == 0 else values[::-1]:
                runs[v].append(measure(workload, "" if v == "default" else f"--{a.flag}={v}"))
        warm = [statistics.median(t for t, _ in runs[v]) for v in values]
        comp = [statistics.median(c for _, c in runs[v]) for v in values]
        print(
            f"| {workload} | {warm[0]:.4f} | {warm[1]:.4f} | {warm[1] / warm[0]:.3f} | "
            f"{comp[0]:.2f} | {comp[1]:.2f} | {comp[1] / comp[0]:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
