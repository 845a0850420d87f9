"""Sweep cells in worker processes (analysis.runtime.pool) against the in-process sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _pool_cells import affinity_cell, chain_follow, dying_cell, failing_cell, pid_cell, timed_cell

from analysis.experiments import decay, sweep
from analysis.experiments.decay_config import DecayConfig
from analysis.runtime import pool, pool_worker


def _stored(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / sweep.RESULTS_FILE).read_text().splitlines()]


def test_cells_run_in_other_processes_and_are_stored_once(tmp_path):
    cells = [{"x": x} for x in range(4)]
    records = sweep.run(cells, [0, 1], pid_cell, tmp_path, processes=2)
    pids = {r["result"]["pid"] for r in records}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert [r["result"]["twice"] for r in records] == [0, 2, 4, 6]  # grid order
    assert all(r["result"]["seeds"] == [0, 1] for r in records)
    assert sorted(r["config"]["x"] for r in _stored(tmp_path)) == [0, 1, 2, 3]
    # a rerun resumes: nothing is recomputed or appended twice
    again = sweep.run(cells, [0, 1], pid_cell, tmp_path, processes=2)
    assert [r["result"]["pid"] for r in again] == [r["result"]["pid"] for r in records]
    assert len(_stored(tmp_path)) == 4


def test_a_follow_up_goes_first_to_the_next_free_worker(tmp_path):
    # x = 1 keeps one worker busy; the other runs x = 0, then its follow-up x = 100 before
    # x = 2 (queued last it would run after x = 2 and x = 3), each once, records after the grid
    cells = [{"x": 0}, {"x": 1, "sleep": 1.5}, {"x": 2}, {"x": 3}]
    records = sweep.run(cells, [0], timed_cell, tmp_path, processes=2, follow=chain_follow)
    assert [r["config"]["x"] for r in records] == [0, 1, 2, 3, 100]
    start = {r["config"]["x"]: r["result"]["start"] for r in records}
    assert start[100] < start[2]
    assert sorted(r["config"]["x"] for r in _stored(tmp_path)) == [0, 1, 2, 3, 100]


@pytest.mark.parametrize(
    ("workers", "cores", "expected"),
    [
        (2, {0, 1}, [(0,), (1,)]),
        (2, {3, 1, 7, 5}, [(1, 3), (5, 7)]),
        (3, range(8), [(0, 1), (2, 3, 4), (5, 6, 7)]),
        (3, {0, 1}, [None, None, None]),  # more workers than cores: not pinned
        (2, None, [None, None]),  # no affinity mask (macOS)
    ],
)
def test_core_shares_are_disjoint_and_cover_every_core(workers, cores, expected):
    assert pool_worker.core_shares(workers, cores) == expected


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_each_worker_runs_on_its_own_share_of_the_cores(tmp_path):
    pool.shutdown()  # fresh workers, whatever an earlier test left
    cells = [{"x": x, "sleep": 0.5} for x in range(2)]
    records = sweep.run(cells, [0], affinity_cell, tmp_path, processes=2)
    assert len({r["result"]["pid"] for r in records}) == 2  # one cell per worker
    mine = sorted(os.sched_getaffinity(0))
    cpus = [r["result"]["cpus"] for r in records]
    if len(mine) >= 2:
        assert not set(cpus[0]) & set(cpus[1]) and sorted(cpus[0] + cpus[1]) == mine
    else:
        assert cpus == [mine, mine]


def test_decay_numbers_equal_the_in_process_sweep(tmp_path):
    base = dict(input_size=1, hidden_size=4, length=30, batch=2, loss="last", dtype="float64")
    base["lyapunov_k"] = 0  # compiling dominates this test; the exponents are not the point
    cells = [
        DecayConfig.from_dict({**base, "cell": "rnn", "candidate": act}).to_dict()
        for act in ("tanh", "relu")
    ]
    inside = sweep.run(cells, [0, 1, 2], decay.run_cell, tmp_path / "a", processes=1)
    workers = sweep.run(cells, [0, 1, 2], decay.run_cell, tmp_path / "b", processes=2)
    for a, b in zip(inside, workers, strict=True):
        assert a["config"] == b["config"]
        assert a["result"]["norms"].keys() == b["result"]["norms"].keys()
        for name, values in a["result"]["norms"].items():
            np.testing.assert_array_equal(values, b["result"]["norms"][name], err_msg=name)
        assert a["result"]["fit"] == b["result"]["fit"]


def test_an_error_in_a_cell_is_raised_and_finished_cells_are_kept(tmp_path):
    cells = [{"x": x} for x in range(3)]
    with pytest.raises(ValueError, match="broken on purpose"):
        sweep.run(cells, [0], failing_cell, tmp_path, processes=2)
    assert sorted(r["config"]["x"] for r in _stored(tmp_path)) == [0, 1]


def test_a_dead_worker_is_one_error_and_the_next_sweep_starts_fresh(tmp_path):
    cells = [{"x": x} for x in range(3)]
    with pytest.raises(RuntimeError, match="worker process died \\(exit code 3"):
        sweep.run(cells, [0], dying_cell, tmp_path / "a", processes=2)
    records = sweep.run(cells, [0], pid_cell, tmp_path / "b", processes=2)
    assert [r["result"]["twice"] for r in records] == [0, 2, 4]


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(tmp_path):
    here = Path(__file__).resolve().parent
    script = tmp_path / "user_script.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(here)!r})\n"
        "from _pool_cells import pid_cell\n"
        "from analysis.experiments import sweep\n"
        "print('script body ran')\n"
        f"r = sweep.run([{{'x': 1}}, {{'x': 2}}], [0], pid_cell, {str(tmp_path / 'out')!r}, processes=2)\n"
        "print(sorted(x['result']['twice'] for x in r))\n"
    )
    root = here.parents[1]
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["script body ran", "[2, 4]"]


def test_what_cannot_go_to_a_process_runs_in_this_one(tmp_path):
    def closure(cell, seeds):  # not picklable: the threaded path runs it
        return {"pid": os.getpid()}

    assert not pool.usable(closure, 2, 3)
    assert not pool.usable(pid_cell, 1, 3) and not pool.usable(pid_cell, 2, 1)
    assert pool.usable(pid_cell, 2, 3)
    records = sweep.run([{"x": 0}, {"x": 1}], [0], closure, tmp_path, processes=2)
    assert {r["result"]["pid"] for r in records} == {os.getpid()}


@pytest.mark.parametrize(("text", "expected"), [("3", 3), ("1", 1), (" 2 ", 2), ("", None)])
def test_default_processes_reads_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv(pool.ENV_PROCESSES, text)
    want = expected if expected is not None else max(1, min(2, os.cpu_count() or 1))
    assert pool.default_processes() == want


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_process_count_is_one_line_and_exit_2(monkeypatch, capsys, text):
    monkeypatch.setenv(pool.ENV_PROCESSES, text)
    with pytest.raises(ValueError, match="ACTGRAD_PROCESSES must be a positive integer"):
        pool.default_processes()
    from analysis.cli.app import main

    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ACTGRAD_PROCESSES must be a positive integer" in err
