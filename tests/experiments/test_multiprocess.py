"""A real 2-process JAX run on 127.0.0.1 (CPU, gloo collectives), against a 1-process run.

Each process is started the documented way (README "Scaling out"): the same command, with
JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID set. Process 1 is given its
own --out, which must stay empty: only process 0 writes. Killing process 1 mid-sweep must
end process 0 with one line within 60 s, and a rerun must finish the sweep without losing,
repeating or recomputing a cell. Numbers are float64 and compared to 1e-12.

Robust on a loaded 2-core machine: generous timeouts, a free port per run, children in
their own session and always killed, output to files (never a pipe that can fill up).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from analysis.runtime import hosts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "experiments" / "_sweep_worker.py"
TIMEOUT_S = 240  # a run on a loaded 2-core machine; they take 10-40 s when it is idle
# Three cells that differ only in the forget bias, a traced input: one program, compiled once
# by the first cell, so process 1 is killed while the second cell executes (a fraction of a
# second to seconds), and a late kill is still caught by the third.
DECAY = [
    "decay", "--hidden", "8", "--length", "1000", "--batch", "16", "--seeds", "3",
    "--lyapunov-k", "2", "--dtype", "float64", "--compare", "forget_bias=0.5,1.5,2.5",
]  # fmt: skip
TRAIN = [
    "--seeds", "4", "--steps", "12", "--eval-every", "6", "--batch", "4", "--hidden", "3",
    "--length", "6", "--test-batch", "8",
]  # fmt: skip
# Fields that say when and where a number was made, not what it is.
UNCOMPARED = {"seconds", "wall_s", "compile_s", "steps_per_s", "snapshot_s", "snapshot_first_s"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runs:
    """Started children (each in its own session), logs under one folder, all killed at end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], name: str, env: dict[str, str]) -> subprocess.Popen:
        # A compile cache of this test's own: a warm shared one would shrink the window in
        # which process 1 is killed (it is killed while the second cell compiles).
        cache = str(self.logs / "jax-cache")
        base = {**os.environ, "JAX_PLATFORMS": "cpu", "ACTGRAD_PROGRESS": "0", **env}
        base["ACTGRAD_JAX_CACHE"] = cache
        # Commands that do not turn the cache on themselves use it too: the rerun after the
        # kill then loads the program the first run compiled instead of compiling it again.
        base["JAX_COMPILATION_CACHE_DIR"] = cache
        base["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        base.pop("XLA_FLAGS", None)  # one CPU device per process
        # The child holds its own copies of these; ours are closed right after the start.
        out = open(self.logs / f"{name}.out", "w")
        err = open(self.logs / f"{name}.err", "w")
        proc = subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=base, stdout=out, stderr=err,
            start_new_session=True,
        )  # fmt: skip
        out.close()
        err.close()
        self.procs.append(proc)
        return proc

    def start_pair(
        self, argv: list[str], outs: tuple[Path, Path] | None, name: str, env: dict | None = None
    ) -> list:
        """Processes 0 and 1 of one run; each gets ``--out outs[i]`` unless ``outs`` is None."""
        env = {
            **(env or {}),
            hosts.ENV_COORDINATOR: f"127.0.0.1:{_free_port()}",
            hosts.ENV_NUM_PROCESSES: "2",
            "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo",
        }
        return [
            self.start(
                argv if outs is None else [*argv, "--out", str(outs[i])],
                f"{name}{i}",
                {**env, hosts.ENV_PROCESS_ID: str(i)},
            )
            for i in range(2)
        ]

    def err(self, name: str) -> str:
        return (self.logs / f"{name}.err").read_text(errors="replace")

    def wait_ok(self, proc: subprocess.Popen, name: str) -> None:
        rc = proc.wait(timeout=TIMEOUT_S)
        assert rc == 0, f"{name} exited {rc}:\n{self.err(name)[-3000:]}"

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    r = Runs(tmp_path)
    try:
        yield r
    finally:
        r.kill_all()


def _lines(path: Path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _assert_same_numbers(got, want, where: str = "") -> None:
    """Equal structure; numbers equal to 1e-12 (relative and absolute); fields in UNCOMPARED
    skipped."""
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for k in want:
            if k not in UNCOMPARED:
                _assert_same_numbers(got[k], want[k], f"{where}/{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same_numbers(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=where)
    else:
        assert got == want, where


def _results_by_cell(path: Path) -> dict[str, dict]:
    return {json.dumps(r["config"], sort_keys=True): r["result"] for r in _lines(path)}


def _wait_for_lines(path: Path, n: int, watch: list[subprocess.Popen], runs: Runs) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        for i, p in enumerate(watch):
            assert p.poll() is None, f"process {i} ended early:\n{runs.err(f'first{i}')[-3000:]}"
        time.sleep(0.01)
    raise AssertionError(f"{path}: fewer than {n} lines after {TIMEOUT_S} s")


def test_two_process_decay_equals_one_process_survives_a_killed_peer_and_resumes(tmp_path, runs):
    out, out_p1, ref = tmp_path / "out", tmp_path / "out_p1", tmp_path / "ref"
    results = out / "results.jsonl"
    one = runs.start(["-m", "analysis", *DECAY, "--out", str(ref)], "ref", {})
    first = runs.start_pair(["-m", "analysis", *DECAY], (out, out_p1), "first")
    _wait_for_lines(results, 1, first, runs)
    os.kill(first[1].pid, signal.SIGKILL)
    t_kill = time.monotonic()
    rc = first[0].wait(timeout=90)
    kill_to_exit = time.monotonic() - t_kill
    err = runs.err("first0")
    assert kill_to_exit < 60, kill_to_exit
    assert rc == hosts.EXIT_PEER_LOST, err
    assert "Traceback" not in err and "Check failure" not in err
    said = [line for line in err.splitlines() if line.startswith("actgrad")]
    assert len(said) == 1 and "process 0 of 2" in said[0] and "rerun" in said[0], err
    stored = results.read_bytes()
    n_stored = len(_lines(results))  # whole lines only: the cell in flight was not stored
    assert 1 <= n_stored < 3
    print(f"\nkill-to-exit: {kill_to_exit:.2f} s")

    again = runs.start_pair(["-m", "analysis", *DECAY], (out, out_p1), "again")
    for i, p in enumerate(again):
        runs.wait_ok(p, f"again{i}")
    runs.wait_ok(one, "ref")
    assert f"{n_stored} of 3 cells stored, running {3 - n_stored}" in runs.err("again0")
    assert results.read_bytes().startswith(stored)  # stored lines were never rewritten
    records = _lines(results)
    keys = [json.dumps(r["config"], sort_keys=True) for r in records]
    assert len(keys) == len(set(keys)) == 3  # no cell lost, none repeated
    _assert_same_numbers(_results_by_cell(results), _results_by_cell(ref / "results.jsonl"))
    summary = json.loads((out / "decay.json").read_text())
    want = json.loads((ref / "decay.json").read_text())
    _assert_same_numbers(summary["variants"], want["variants"])
    assert [p for p in out_p1.rglob("*") if p.is_file()] == []  # process 1 wrote nothing


def test_two_process_train_with_four_seeds_equals_one_process(tmp_path, runs):
    out, out_p1, ref = tmp_path / "out", tmp_path / "out_p1", tmp_path / "ref"
    one = runs.start([str(WORKER), "train64", *TRAIN, "--out", str(ref)], "ref", {})
    pair = runs.start_pair([str(WORKER), "train64", *TRAIN], (out, out_p1), "pair")
    for i, p in enumerate(pair):
        runs.wait_ok(p, f"pair{i}")
    runs.wait_ok(one, "ref")
    (got,) = _lines(out / "results.jsonl")
    (want,) = _lines(ref / "results.jsonl")
    assert got["config"] == want["config"] and got["config"]["dtype"] == "float64"
    assert got["seeds"] == want["seeds"] == [0, 1, 2, 3]
    _assert_same_numbers(got["result"], want["result"])
    summary = json.loads((out / "train.json").read_text())
    _assert_same_numbers(
        summary["variants"], json.loads((ref / "train.json").read_text())["variants"]
    )
    assert [p for p in out_p1.rglob("*") if p.is_file()] == []  # process 1 wrote nothing


def test_a_peer_lost_between_collectives_is_noticed_by_the_heartbeat_and_a_normal_end_is_not(
    tmp_path, runs
):
    # No collective runs here, so only the watchdog can notice; its silence is 6 s for the
    # test (20 s by default). Process 0 outlives process 1 by 3 silences either way.
    silence = {hosts.ENV_PEER_SILENCE: "6"}
    dies = runs.start_pair([str(WORKER), "quiet", "60", "1", "die"], None, "dies", silence)
    ends = runs.start_pair([str(WORKER), "quiet", "18", "0"], None, "ends", silence)
    t0 = time.monotonic()
    rc = dies[0].wait(timeout=90)
    took = time.monotonic() - t0
    err = runs.err("dies0")
    assert rc == hosts.EXIT_PEER_LOST, err
    assert took < 40, took  # 1 s, then 6 s of silence, plus start-up on a loaded machine
    said = [line for line in err.splitlines() if line.startswith("actgrad")]
    assert len(said) == 1 and "process 1 has sent no heartbeat for 6 s" in said[0], err
    assert "Traceback" not in err and "Check failure" not in err
    for i, p in enumerate(ends):
        runs.wait_ok(p, f"ends{i}")  # a peer that ended normally is not taken as dead
    assert (tmp_path / "ends0.out").read_text().split() == ["started", "finished"]
