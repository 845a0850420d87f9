"""Subprocess entry for tests/experiments/test_sweep.py (device counts, SIGKILL: a fresh process).

python tests/experiments/_sweep_worker.py map OUT_JSON
    map_seeds / map_batch of a random-matrix product chain on every JAX device; writes the
    numbers (float64), the device count and a per-key unbatched loop for comparison.
python tests/experiments/_sweep_worker.py sweep OUT_DIR CALLS_FILE N_CELLS SLEEP_S TAG
    a sweep whose run_cell appends "TAG CELL" to CALLS_FILE, then sleeps SLEEP_S.
python tests/experiments/_sweep_worker.py quiet SECONDS_0 SECONDS_1 [die]
    a multi-process run (hosts.initialize_distributed from the JAX_* variables) that runs
    no collective: process i sleeps SECONDS_i, then ends normally, or with "die" process 1
    SIGKILLs itself instead. Only the heartbeat watchdog can notice a dead peer here.
python tests/experiments/_sweep_worker.py train64 ARG...
    `actgrad train ARG...` (analysis.cli.app.main) with TrainConfig's default dtype float64:
    the command has no --dtype flag yet, and float64 is what makes a 2-process run and a
    1-process run comparable to 1e-12 (float32 differs in the last bit between them).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("ACTGRAD_PROGRESS", "0")


def chain(key, scale, depth: int):
    """tanh(M_depth ... tanh(M_1 x)) for Gaussian M_i / sqrt(8) and x drawn from key."""
    import jax
    import jax.numpy as jnp

    kx, *km = jax.random.split(key, depth + 1)
    y = jax.random.normal(kx, (8,), dtype=jnp.float64)
    for k in km:
        m = jax.random.normal(k, (8, 8), dtype=jnp.float64) / jnp.sqrt(8.0)
        y = jnp.tanh(scale * (m @ y))
    return {"y": y, "norm": jnp.linalg.norm(y)}


def chain_row(key, row, depth: int):
    return chain(key, row["scale"], depth)


def main_map(out_json: str) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from analysis.experiments import sweep
    from analysis.runtime import sharding
    from analysis.util import io

    seeds = [3, 1, 4, 1, 5, 9, 2]  # 7: padding is needed on 2 and 4 devices
    fn = functools.partial(chain, depth=5)
    keys = sweep.seed_keys(seeds)
    scale = jnp.asarray(1.5, dtype=jnp.float64)
    mapped = sweep.map_seeds(fn, keys, scale)
    loop = [fn(jax.random.key(s), scale) for s in seeds]

    cells = [{"scale": 0.5, "depth": 5}, {"scale": 2.0, "depth": 5}]
    rows, batched = sweep.stack_cells(cells, seeds[:3], ["scale"])
    stacked = sweep.unstack_cells(
        sweep.map_batch(functools.partial(chain_row, depth=5), rows, batched), len(cells)
    )
    # The program each device runs: its rows only (8 seeds / devices), never all of them.
    program, inputs = sharding._prepare(fn, sweep.seed_keys(range(8)), None, (scale,))
    hlo = program.lower(*inputs).compile().as_text()
    local_rows = [r for r in (1, 2, 4, 8) if f"f64[{r},8,8]" in hlo]
    stacked_loop = [[fn(jax.random.key(s), c["scale"]) for s in seeds[:3]] for c in cells]
    io.atomic_write_json(
        out_json,
        {
            "devices": jax.device_count(),
            "out_sharding": str(mapped["y"].sharding),
            "local_rows": local_rows,
            "mapped": mapped,
            "loop": {k: [r[k] for r in loop] for k in ("y", "norm")},
            "stacked": stacked,
            "stacked_loop": [[r["y"] for r in c] for c in stacked_loop],
        },
    )


def main_sweep(out_dir: str, calls: str, n_cells: int, sleep_s: float, tag: str) -> None:
    from analysis.experiments import sweep
    from analysis.util import io

    def run_cell(config, seeds):
        io.append_jsonl(calls, {"tag": tag, "cell": config["cell"]})
        time.sleep(sleep_s)
        return {"value": config["cell"] * 10 + sum(seeds)}

    cells = sweep.expand_grid({"name": "kill"}, {"cell": range(n_cells)})
    records = sweep.run(cells, [0, 1], run_cell, out_dir, workers=1)
    sweep.write_summary(out_dir, "summary", {"values": [r["result"]["value"] for r in records]})


def main_quiet(seconds: list[float], die: bool) -> None:
    import signal

    from analysis.runtime import hosts

    assert hosts.initialize_distributed()
    me = int(os.environ[hosts.ENV_PROCESS_ID])
    print("started", flush=True)
    time.sleep(seconds[me])
    if die and me == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    print("finished", flush=True)


def main_train64(argv: list[str]) -> int:
    import dataclasses

    import jax

    jax.config.update("jax_enable_x64", True)
    from analysis.cli import app
    from analysis.experiments import train

    @dataclasses.dataclass(frozen=True)
    class TrainConfig64(train.TrainConfig):
        dtype: str = "float64"

    # train_cmd imports TrainConfig from the module at call time, so this is what it uses.
    train.TrainConfig = TrainConfig64
    return app.main(["train", *argv])


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "map":
        main_map(*rest)
    elif mode == "sweep":
        main_sweep(rest[0], rest[1], int(rest[2]), float(rest[3]), rest[4])
    elif mode == "quiet":
        main_quiet([float(rest[0]), float(rest[1])], rest[2:] == ["die"])
    elif mode == "train64":
        sys.exit(main_train64(rest))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
