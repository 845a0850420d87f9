"""What actgrad's XLA flag default costs: each workload with and without it, side by side.

    python scripts/bench_xla_flags.py --rounds 3

Each measurement is its own fresh process (XLA reads its flags once), the two settings
alternating; a workload runs once to compile, then its warm wall time (decay) or steady
training rate (train, first chunk excluded) is taken. Reported: medians and new / old.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
TIMEOUT_S = 60  # every workload finishes in under 40 s here when it does not hang
WORKLOADS = ("decay-gru", "decay-lstm", "train-100", "train-400")


def child(workload: str) -> float:
    """Seconds of one warm run of the workload (train: seconds per step)."""
    from analysis.experiments import decay, train
    from analysis.report import config, gating, stages

    cfg = config.preset("default")
    if workload.startswith("decay"):
        name = "gru" if workload == "decay-gru" else "lstm"
        cell = next(c for c in gating.decay_cells(cfg) if c.get("cell", "lstm") == name)
        decay.run_cell(cell, list(range(cfg.decay_seeds)))
        t0 = time.perf_counter()
        decay.run_cell(cell, list(range(cfg.decay_seeds)))
        return time.perf_counter() - t0
    length = int(workload.split("-")[1])
    cell = stages.train_cell(cfg, "tanh/tanh", length)
    run = train.TrainConfig.from_dict({**cell, "steps": 4 * cfg.train_eval_every, "snapshots": 0})
    result = train.train(run, list(range(cfg.train_seeds)))
    return 1.0 / result["steps_per_s"]


def measure(workload: str, flag_value: str, hangs: list[str]) -> float:
    """One fresh process's time; a run that hangs (the bug the flag avoids) is counted, rerun."""
    env = {**os.environ, "XLA_FLAGS": f"--{FLAG}={flag_value}", "ACTGRAD_PROGRESS": "0"}
    while True:
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--child", workload],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=TIMEOUT_S,
            )
            return json.loads(out.stdout.strip().splitlines()[-1])["s"]
        except subprocess.TimeoutExpired:
            hangs.append(flag_value)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--child", choices=WORKLOADS)
    a = p.parse_args()
    if a.child:
        print(json.dumps({"s": child(a.child)}))
        return
    print(f"| workload | {FLAG}=true (s) | =false (actgrad default) (s) | false / true | hung |")
    print("| --- | --- | --- | --- | --- |")
    for workload in a.workloads.split(","):
        times: dict[str, list[float]] = {"true": [], "false": []}
        hangs: list[str] = []
        for r in range(a.rounds):
            for value in ("true", "false") if r % 2 == 0 else ("false", "true"):
                times[value].append(measure(workload, value, hangs))
        old, new = (statistics.median(times[v]) for v in ("true", "false"))
        hung = ", ".join(f"{v}: {hangs.count(v)}" for v in ("true", "false"))
        print(f"| {workload} | {old:.4f} | {new:.4f} | {new / old:.3f} | {hung} |", flush=True)


if __name__ == "__main__":
    main()
