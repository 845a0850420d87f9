"""Results that say what made them: schema and version on every line and JSON file; a store of
another schema refused; cell keys that cover every field that changes a cell's numbers."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest

from analysis.cli import app
from analysis.experiments import sweep
from analysis.util import io
from analysis.util.constants import RESULTS_SCHEMA

VERSION = importlib.import_module("analysis").__version__
TINY_DECAY = ["decay", "--hidden", "2", "--length", "4", "--batch", "1", "--seeds", "1"]


def test_every_results_line_and_json_file_carries_schema_and_version(tmp_path):
    store = sweep.ResultsStore(tmp_path)
    rec = store.append({"cell": 1}, [0], {"v": 1.0})
    line = json.loads((tmp_path / "results.jsonl").read_text())
    assert line == rec and line["schema"] == RESULTS_SCHEMA and line["actgrad"] == VERSION
    io.atomic_write_json(tmp_path / "a.json", {"x": 1})
    assert json.loads((tmp_path / "a.json").read_text()) == {
        "schema": RESULTS_SCHEMA,
        "actgrad": VERSION,
        "x": 1,
    }
    meta = io.run_metadata()
    assert meta["schema"] == RESULTS_SCHEMA and meta["actgrad"] == VERSION
    # An explicit schema is kept (a caller may record another on purpose); lists stay lists.
    assert io.stamp({"schema": 7})["schema"] == 7
    assert io.stamp([1, 2]) == [1, 2]


def _write_line(path, **fields):
    rec = {"config": {"cell": 0}, "seeds": [0], "result": {}, **fields}
    path.write_text(json.dumps(rec) + "\n")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"schema": RESULTS_SCHEMA + 1, "actgrad": "9.9.9"}, f"schema {RESULTS_SCHEMA + 1}"),
        ({}, "no schema"),
        ({"schema": "one"}, "schema one"),
        ({"schema": float(RESULTS_SCHEMA)}, f"schema {float(RESULTS_SCHEMA)}"),
    ],
)
def test_resuming_a_store_of_another_schema_is_refused_naming_both(tmp_path, fields, named):
    path = tmp_path / "results.jsonl"
    _write_line(path, **fields)
    calls = []
    with pytest.raises(sweep.SchemaMismatchError) as info:
        sweep.run([{"cell": 0}, {"cell": 1}], [0], lambda c, s: calls.append(c) or {}, tmp_path)
    msg = str(info.value)
    assert named in msg and f"writes schema {RESULTS_SCHEMA}" in msg and "\n" not in msg
    assert calls == []  # refused before any work
    if "actgrad" in fields:
        assert "actgrad 9.9.9" in msg


def test_cli_resume_of_another_schema_exits_2_with_one_line_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    _write_line(out / "results.jsonl", schema=0, actgrad="0.0.1")
    before = (out / "results.jsonl").read_bytes()
    assert app.main([*TINY_DECAY, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "schema 0 (actgrad 0.0.1)" in err
    assert f"writes schema {RESULTS_SCHEMA}" in err
    assert (out / "results.jsonl").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["results.jsonl"]


def test_a_mixed_store_is_refused_at_its_first_foreign_line(tmp_path):
    store = sweep.ResultsStore(tmp_path)
    store.append({"cell": 0}, [0], {})
    with open(tmp_path / "results.jsonl", "a") as fh:
        fh.write(json.dumps({"config": {"cell": 1}, "seeds": [0], "result": {}}) + "\n")
    with pytest.raises(sweep.SchemaMismatchError, match="line 2 has results schema no schema"):
        sweep.ResultsStore(tmp_path).load()


def _decay_cell() -> dict:
    from analysis.experiments.decay_config import DecayConfig

    return DecayConfig().to_dict()  # what the store keeps as a decay cell's config


def test_decay_and_train_cells_hold_every_field_their_numbers_depend_on():
    from analysis.cells import lstm
    from analysis.experiments.train import TrainConfig

    cell = _decay_cell()
    # The run's fields beside the cell's spec; the spec holds every LSTM field (init is its
    # `initializer`), `fused` included, though decay's own perturbation scan never uses it.
    lstm_fields = {f.name for f in dataclasses.fields(lstm.LSTMConfig)} - {"init"}
    run = {"input_size", "hidden_size", "dtype", "length", "batch", "loss", "lyapunov_k"}
    assert set(cell) == run | {"cell"}
    assert set(cell["cell"]) == lstm_fields - {"input_size", "hidden_size", "dtype"} | {
        "name",
        "initializer",
    }
    for field in ("gate", "candidate", "output", "initializer", "forget_bias"):
        assert field in cell["cell"]
    train = TrainConfig().to_dict()
    for field in ("dtype", "optimizer", "lr"):
        assert field in train
    for field in ("initializer", "candidate", "output", "gate", "fused"):
        assert field in train["cell"]


def _with(cell: dict, field: str, value) -> dict:
    """`cell` with `field` set where the config keeps it: the run's fields or its cell spec."""
    field = "initializer" if field == "init" else field
    if field in cell["cell"]:
        return {**cell, "cell": {**cell["cell"], field: value}}
    return {**cell, field: value}


@pytest.mark.parametrize(
    ("field", "a", "b"),
    [
        ("dtype", "float32", "float64"),
        ("loss", "last", "mean"),
        ("init", "orthogonal", "chrono"),
        ("candidate", "formula:z/(1+abs(z))", "formula:z/(1+abs(z))^2"),
        ("candidate", "leaky_relu", "relu"),
        ("forget_bias", 1.0, 1.0000000000000002),
    ],
)
def test_cell_keys_differ_in_any_field_that_changes_numbers(field, a, b):
    cell = _decay_cell()
    assert sweep.cell_key(_with(cell, field, a)) != sweep.cell_key(_with(cell, field, b))
    # ... and not in how the same config is spelled (order, tuple vs list, numpy scalars).
    spelled = _with(cell, field, a)
    same = dict(reversed(list(spelled.items())))
    same["cell"] = dict(reversed(list(spelled["cell"].items())))
    assert sweep.cell_key(same) == sweep.cell_key(spelled)


def test_a_store_of_the_flat_schema_1_records_is_refused_with_one_line(tmp_path, capsys):
    # Before schema 2 a config held the LSTM's fields flat beside the run's.
    out = tmp_path / "out"
    out.mkdir()
    flat = {"cell": "lstm", "input_size": 1, "hidden_size": 2, "gate": "sigmoid"}
    flat |= {"candidate": "tanh", "output": "tanh", "forget_bias": 1.0, "init": "orthogonal"}
    flat |= {"dtype": "float32", "unroll": 1, "remat": False, "t_max": None, "length": 4}
    flat |= {"batch": 1, "loss": "last", "lyapunov_k": 4}
    rec = {"schema": 1, "actgrad": "0.1.0", "config": flat, "seeds": [0], "result": {}}
    (out / "results.jsonl").write_text(json.dumps(rec) + "\n")
    before = (out / "results.jsonl").read_bytes()
    assert app.main([*TINY_DECAY, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1 has results schema 1 (actgrad 0.1.0)" in err
    assert f"writes schema {RESULTS_SCHEMA}; use another --out" in err and RESULTS_SCHEMA == 2
    assert (out / "results.jsonl").read_bytes() == before
