"""analysis.experiments.sweep: --compare parsing, grid, resumable store, devices, SIGKILL resume."""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis.experiments import sweep
from analysis.runtime import hosts, sharding
from analysis.util.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "experiments" / "_sweep_worker.py"


def _strict_float(v: str) -> float:
    x = float(v)
    if not np.isfinite(x):
        raise ValueError("must be finite")
    return x


FIELDS = {"candidate": str, "forget_bias": _strict_float, "hidden": int}


# --------------------------------------------------------------------------- parse_compare


def test_parse_compare_converts_each_value_with_its_field():
    got = sweep.parse_compare(["candidate=tanh, relu", "forget_bias=0,1,3", "hidden=8"], FIELDS)
    assert got == {"candidate": ("tanh", "relu"), "forget_bias": (0.0, 1.0, 3.0), "hidden": (8,)}
    assert list(got) == ["candidate", "forget_bias", "hidden"]
    assert all(type(v) is float for v in got["forget_bias"])
    assert sweep.parse_compare([], FIELDS) == {}


@pytest.mark.parametrize(
    ("specs", "needles"),
    [
        (["nonsense=1,2"], ["unknown field 'nonsense'", "candidate, forget_bias, hidden"]),
        (["candidate"], ["FIELD=V1,V2", "candidate, forget_bias, hidden"]),
        (["candidate="], ["empty value", "candidate"]),
        (["candidate=tanh,,relu"], ["empty value"]),
        (["hidden=8,"], ["empty value"]),
        (["hidden=8", "hidden=16"], ["'hidden' given twice"]),
        (["hidden=8,eight"], ["bad value 'eight'", "'hidden'"]),
        (["forget_bias=0,inf"], ["bad value 'inf'", "'forget_bias'", "finite"]),
        (["forget_bias=1,1.0"], ["repeated"]),
    ],
)
def test_parse_compare_refuses_bad_specs_in_one_line(specs, needles):
    with pytest.raises(UsageError) as err:
        sweep.parse_compare(specs, FIELDS)
    msg = str(err.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


# --------------------------------------------------------------------------- grid, keys


def test_expand_grid_is_the_product_in_field_order():
    base = {"candidate": "tanh", "forget_bias": 0.0, "hidden": 4, "length": 50}
    compare = {"hidden": (8, 16), "candidate": ("tanh", "relu", "elu")}
    cells = sweep.expand_grid(base, compare)
    expected = []
    for h in compare["hidden"]:  # first field outermost
        for c in compare["candidate"]:
            expected.append({**base, "hidden": h, "candidate": c})
    assert cells == expected
    assert sweep.expand_grid(base, {}) == [base]
    assert base["hidden"] == 4  # the base is not modified


def test_cell_key_ignores_field_order_and_survives_json():
    a = {"b": 1.0, "a": "tanh", "seeds": (1, 2)}
    b = {"seeds": [1, 2], "a": "tanh", "b": 1.0}
    assert sweep.cell_key(a) == sweep.cell_key(b)
    assert sweep.cell_key(json.loads(json.dumps(b))) == sweep.cell_key(a)
    assert sweep.cell_key({**a, "b": 2.0}) != sweep.cell_key(a)
    assert json.loads(sweep.cell_key(a)) == {"a": "tanh", "b": 1.0, "seeds": [1, 2]}


# --------------------------------------------------------------------------- store


def _lines(path: Path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_store_creates_nothing_until_append_then_roundtrips(tmp_path):
    out = tmp_path / "out"
    store = sweep.ResultsStore(out)
    assert store.load() == {}
    assert not out.exists()
    cfg = {"candidate": "relu", "forget_bias": 1.0}
    rec = store.append(cfg, [0, 1], {"rate": -0.5, "series": np.arange(3.0), "x": float("inf")})
    assert set(rec) == {"schema", "actgrad", "config", "seeds", "result", "versions", "device"}
    assert rec["schema"] == sweep.RESULTS_SCHEMA
    assert rec["result"] == {"rate": -0.5, "series": [0.0, 1.0, 2.0], "x": "inf"}
    assert "jax" in rec["versions"] and rec["device"]
    loaded = sweep.ResultsStore(out).load()
    assert loaded == {sweep.cell_key(cfg): rec}
    assert _lines(out / "results.jsonl") == [rec]
    assert sweep.ResultsStore(out).done({"forget_bias": 1.0, "candidate": "relu"})
    assert not sweep.ResultsStore(out).done({**cfg, "forget_bias": 2.0})
    with pytest.raises(ValueError, match="already stored"):
        store.append(cfg, [0, 1], {})


def test_torn_last_line_is_dropped_with_a_warning_and_cut_before_the_next_append(tmp_path, capsys):
    store = sweep.ResultsStore(tmp_path)
    first = store.append({"cell": 0}, [0], {"v": 0})
    path = tmp_path / "results.jsonl"
    whole = path.read_bytes()
    with open(path, "ab") as fh:  # what a kill mid-write leaves: no newline, half a record
        fh.write(b'{"config": {"cell": 1}, "seeds": [0], "res')
    store = sweep.ResultsStore(tmp_path)
    with pytest.warns(UserWarning, match="torn last line"):
        assert store.load() == {sweep.cell_key({"cell": 0}): first}
    assert "torn last line" in capsys.readouterr().err
    assert path.read_bytes().startswith(whole)  # loading alone changes nothing
    second = store.append({"cell": 1}, [0], {"v": 1})
    assert _lines(path) == [first, second]
    assert len(sweep.ResultsStore(tmp_path).load()) == 2


def test_unreadable_terminated_last_line_is_also_torn(tmp_path):
    store = sweep.ResultsStore(tmp_path)
    first = store.append({"cell": 0}, [0], {"v": 0})
    path = tmp_path / "results.jsonl"
    with open(path, "ab") as fh:
        fh.write(b"\x00\x00\x00\n")
    store = sweep.ResultsStore(tmp_path)
    with pytest.warns(UserWarning, match="torn"):
        assert len(store.load()) == 1
    second = store.append({"cell": 1}, [0], {"v": 1})
    assert _lines(path) == [first, second]


def test_damaged_middle_line_is_a_clear_error(tmp_path):
    store = sweep.ResultsStore(tmp_path)
    store.append({"cell": 0}, [0], {})
    store.append({"cell": 1}, [0], {})
    path = tmp_path / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"config": oops\n' + lines[1])
    with pytest.raises(UsageError, match="line 2 is not a results record") as err:
        sweep.ResultsStore(tmp_path).load()
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- run


def test_run_skips_finished_cells_and_returns_grid_order(tmp_path):
    calls = []

    def run_cell(config, seeds):
        calls.append(dict(config))
        return {"sum": config["a"] * 100 + config["b"] + sum(seeds)}

    cells = sweep.expand_grid({"a": 0, "b": 0}, {"a": (1, 2), "b": (3, 4, 5)})
    first = sweep.run(cells[:4], [7, 8], run_cell, tmp_path, workers=1)
    assert calls == cells[:4]
    records = sweep.run(cells, [7, 8], run_cell, tmp_path, workers=1)
    assert calls == cells  # the first four were not recomputed
    assert records[:4] == first
    assert [r["config"] for r in records] == cells
    assert [r["result"]["sum"] for r in records] == [
        a * 100 + b + 15 for a, b in itertools.product((1, 2), (3, 4, 5))
    ]
    assert _lines(tmp_path / "results.jsonl") == records
    assert sweep.run(cells, [7, 8], run_cell, tmp_path, workers=1) == records
    assert len(calls) == len(cells)


def test_run_with_two_workers_stores_each_cell_once_and_returns_grid_order(tmp_path):
    import threading
    import time

    calls = []
    lock = threading.Lock()

    def run_cell(config, seeds):
        time.sleep(0.02 * (6 - config["b"]))  # later cells finish first
        with lock:
            calls.append(config["b"])
        return {"b2": config["b"] ** 2, "seeds": list(seeds)}

    cells = sweep.expand_grid({"b": 0}, {"b": (1, 2, 3, 4, 5)})
    records = sweep.run(cells, [0, 1], run_cell, tmp_path, workers=2)
    assert [r["result"]["b2"] for r in records] == [1, 4, 9, 16, 25]
    assert sorted(calls) == [1, 2, 3, 4, 5]
    stored = _lines(tmp_path / "results.jsonl")
    assert sorted(r["config"]["b"] for r in stored) == [1, 2, 3, 4, 5]
    assert sweep.run(cells, [0, 1], run_cell, tmp_path, workers=2) == records
    assert len(calls) == 5  # nothing recomputed on the rerun


def _doubling(record):
    """1 -> 2 -> 4 -> (none); 10 -> (none)."""
    n = record["config"]["n"]
    return [{"n": 2 * n}] if n < 4 else []


@pytest.mark.parametrize("workers", [1, 2])
def test_follow_ups_run_after_their_parent_once_and_come_after_the_grid(tmp_path, workers):
    calls = []

    def run_cell(config, seeds):
        calls.append(config["n"])
        return {"n2": config["n"] ** 2}

    cells = [{"n": 1}, {"n": 10}]
    records = sweep.run(cells, [0], run_cell, tmp_path, workers=workers, follow=_doubling)
    assert [r["config"]["n"] for r in records] == [1, 10, 2, 4]
    assert [r["result"]["n2"] for r in records] == [1, 100, 4, 16]
    assert calls.index(1) < calls.index(2) < calls.index(4) and sorted(calls) == [1, 2, 4, 10]
    assert sorted(r["config"]["n"] for r in _lines(tmp_path / "results.jsonl")) == [1, 2, 4, 10]
    # a rerun takes every record from the store, follow-ups of stored records included
    again = sweep.run(cells, [0], run_cell, tmp_path, workers=workers, follow=_doubling)
    assert again == records and len(calls) == 4


def test_follow_ups_of_stored_records_are_run_on_resume(tmp_path):
    calls = []

    def run_cell(config, seeds):
        calls.append(config["n"])
        return {}

    sweep.run([{"n": 1}, {"n": 2}], [0], run_cell, tmp_path, workers=1)  # no follow-ups
    records = sweep.run([{"n": 1}], [0], run_cell, tmp_path, workers=1, follow=_doubling)
    assert calls == [1, 2, 4]  # 2 was stored (its follow-up 4 was not)
    assert [r["config"]["n"] for r in records] == [1, 2, 4]


def test_run_refuses_stored_cells_with_other_seeds_before_any_work(tmp_path):
    calls = []
    cells = [{"a": 1}, {"a": 2}]
    sweep.run(cells[:1], [0, 1], lambda c, s: calls.append(c) or {}, tmp_path)
    with pytest.raises(UsageError, match=r"seeds \[0, 1\], not \[0, 1, 2\]"):
        sweep.run(cells[::-1], [0, 1, 2], lambda c, s: calls.append(c) or {}, tmp_path)
    assert calls == [{"a": 1}]


def test_write_summary_is_atomic_json(tmp_path):
    path = sweep.write_summary(tmp_path / "sub", "decay", {"rate": np.float64(0.5), "x": [1]})
    assert path == tmp_path / "sub" / "decay.json"
    got = json.loads(path.read_text())
    assert got == {"schema": sweep.RESULTS_SCHEMA, "actgrad": got["actgrad"], "rate": 0.5, "x": [1]}
    assert got["actgrad"] == importlib.import_module("analysis").__version__
    assert [p.name for p in path.parent.iterdir()] == ["decay.json"]  # no temporary left


def test_initialize_distributed_reads_all_three_variables_or_none(monkeypatch):
    for name in (sweep.ENV_COORDINATOR, sweep.ENV_NUM_PROCESSES, sweep.ENV_PROCESS_ID):
        monkeypatch.delenv(name, raising=False)
    assert sweep.initialize_distributed() is False
    monkeypatch.setenv(sweep.ENV_COORDINATOR, "localhost:1234")
    with pytest.raises(UsageError, match="JAX_NUM_PROCESSES, JAX_PROCESS_ID missing"):
        sweep.initialize_distributed()
    monkeypatch.setenv(sweep.ENV_NUM_PROCESSES, "2")
    monkeypatch.setenv(sweep.ENV_PROCESS_ID, "2")
    with pytest.raises(UsageError, match=r"must lie in 0\.\.JAX_NUM_PROCESSES-1=1"):
        sweep.initialize_distributed()


# --------------------------------------------------------------------------- devices (in process)


def _quad(key, shift, power):
    x = jax.random.normal(key, (5,), dtype=jnp.float64)
    return {"s": jnp.sum((x + shift) ** power), "x": x}


def test_map_seeds_equals_a_loop_over_keys_and_does_not_recompile():
    traces = []

    def fn(key, shift):
        traces.append(1)
        return _quad(key, shift, 2)

    seeds = [0, 5, 2]
    shift = jnp.float64(0.25)
    out = sweep.map_seeds(fn, sweep.seed_keys(seeds), shift)
    for i, s in enumerate(seeds):
        x = np.asarray(jax.random.normal(jax.random.key(s), (5,), dtype=jnp.float64))
        np.testing.assert_allclose(out["x"][i], x, rtol=0, atol=0)
        np.testing.assert_allclose(out["s"][i], np.sum((x + 0.25) ** 2), rtol=1e-14)
    n = len(traces)
    sweep.map_seeds(fn, sweep.seed_keys([9, 8, 7]), jnp.float64(1.0))
    assert len(traces) == n
    # Equal partials share one program too.
    part = functools.partial(_quad, power=3)
    sweep.map_seeds(part, sweep.seed_keys(seeds), shift)
    hits = sharding._compiled.cache_info().hits
    sweep.map_seeds(functools.partial(_quad, power=3), sweep.seed_keys(seeds), shift)
    assert sharding._compiled.cache_info().hits == hits + 1


def test_stack_cells_rows_equal_each_cell_run_alone():
    cells = [{"k": "tanh", "shift": 0.0}, {"k": "tanh", "shift": 1.5}]
    seeds = [4, 6, 1]
    rows, batched = sweep.stack_cells(cells, seeds, ["shift"])
    out = sweep.map_batch(lambda key, row: _quad(key, row["shift"], 2), rows, batched)
    out = sweep.unstack_cells(out, len(cells))
    assert out["s"].shape == (2, 3)
    for c, cell in enumerate(cells):
        alone = sweep.map_seeds(
            functools.partial(_quad, power=2), sweep.seed_keys(seeds), jnp.float64(cell["shift"])
        )
        np.testing.assert_allclose(out["s"][c], alone["s"], rtol=1e-14)
    assert sweep.group_cells([*cells, {"k": "relu", "shift": 0.0}], ["shift"]) == [[0, 1], [2]]
    with pytest.raises(ValueError, match="differ outside"):
        sweep.stack_cells([*cells, {"k": "relu", "shift": 0.0}], seeds, ["shift"])


# --------------------------------------------------------------------------- subprocesses


def _env(devices: int | None = None) -> dict[str, str]:
    env = {**os.environ, "ACTGRAD_PROGRESS": "0", "JAX_PLATFORMS": "cpu"}
    if devices is not None:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def test_map_seeds_on_four_devices_equals_one_device(tmp_path):
    results = {}
    procs = {
        n: subprocess.Popen(
            [sys.executable, str(WORKER), "map", str(tmp_path / f"map{n}.json")],
            env=_env(n),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 4)
    }
    for n, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[n] = json.loads((tmp_path / f"map{n}.json").read_text())
    one, four = results[1], results[4]
    assert (one["devices"], four["devices"]) == (1, 4)
    assert "'seeds': 4" in four["out_sharding"]
    # Each of the 4 devices computes 2 of the 8 rows; one device computes all 8.
    assert four["local_rows"] == [2] and one["local_rows"] == [8]
    for key in ("y", "norm"):
        a, b = np.asarray(one["mapped"][key]), np.asarray(four["mapped"][key])
        assert a.shape[0] == 7
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a, np.asarray(one["loop"][key]), rtol=1e-12, atol=1e-12)
    for res in (one, four):
        np.testing.assert_allclose(
            np.asarray(res["stacked"]["y"]),
            np.asarray(res["stacked_loop"]),
            rtol=1e-12,
            atol=1e-12,
        )


def test_sigkill_mid_sweep_then_rerun_finishes_every_cell_exactly_once(tmp_path):
    out, calls = tmp_path / "out", tmp_path / "calls.jsonl"
    results = out / "results.jsonl"
    n_cells = 10
    cmd = [sys.executable, str(WORKER), "sweep", str(out), str(calls), str(n_cells), "0.3"]
    proc = subprocess.Popen([*cmd, "first"], env=_env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= 3:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    stored_before = {r["config"]["cell"] for r in _lines(results)}
    assert 3 <= len(stored_before) < n_cells
    assert not (out / "summary.json").exists()

    subprocess.run([*cmd, "second"], env=_env(), check=True, timeout=120, capture_output=True)
    records = _lines(results)
    assert sorted(r["config"]["cell"] for r in records) == list(range(n_cells))
    assert [r["result"]["value"] for r in records] == [
        r["config"]["cell"] * 10 + 1 for r in records
    ]
    log = [json.loads(line) for line in calls.read_text().splitlines()]
    second = [c["cell"] for c in log if c["tag"] == "second"]
    first = [c["cell"] for c in log if c["tag"] == "first"]
    assert not set(second) & stored_before  # finished cells were not recomputed
    assert sorted(second) == sorted(set(range(n_cells)) - stored_before)
    assert len(set(first) - stored_before) <= 1  # at most the cell in flight was lost
    summary = json.loads((out / "summary.json").read_text())
    assert summary["values"] == [c * 10 + 1 for c in range(n_cells)]


def test_multi_process_paths_broadcast_finished_cells_and_only_process_0_writes(
    tmp_path, monkeypatch
):
    calls = []

    def run_cell(config, seeds):
        calls.append(config["a"])
        return {"a": config["a"]}

    cells = [{"a": i} for i in range(4)]
    first = sweep.run(cells[:2], [0], run_cell, tmp_path, workers=1)
    # Process 0 of 2: finished cells go through the broadcast (one process: the identity).
    monkeypatch.setattr(hosts, "process_count", lambda: 2)
    records = sweep.run(cells, [0], run_cell, tmp_path, workers=1)
    assert calls == [0, 1, 2, 3] and records[:2] == first
    assert _lines(tmp_path / "results.jsonl") == records
    # Any other process computes but writes nothing.
    monkeypatch.setattr(hosts, "process_count", lambda: 1)
    monkeypatch.setattr(hosts, "process_index", lambda: 1)
    other = tmp_path / "other"
    got = sweep.run(cells, [0], run_cell, other)
    assert [r["result"] for r in got] == [r["result"] for r in records]
    assert sweep.write_summary(other, "s", {}) == other / "s.json"
    assert not other.exists()
