"""`cells.CellSpec`: a cell by name and every slot and option, frozen, hashable, JSON-able;
the run configs hold one, from flat fields or a nested record alike."""

from __future__ import annotations

import json

import pytest

from analysis import cells
from analysis.experiments.decay_config import DecayConfig
from analysis.experiments.train_config import TrainConfig


@pytest.mark.parametrize("name", cells.names())
def test_every_cell_spec_round_trips_through_json_with_its_defaults_completed(name):
    spec = cells.CellSpec(name)
    described = cells.describe(name)
    want = {**described["slots"], **described["options"]}
    del want["dtype"]  # the run's, never the spec's
    assert dict(spec.options) == want
    assert [k for k, _ in spec.options] == sorted(want)
    again = cells.CellSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and hash(again) == hash(spec)
    assert spec.to_dict()["name"] == name


def test_equal_cells_are_equal_specs_however_they_are_spelled():
    a = cells.CellSpec.of("lstm", candidate="relu", forget_bias=1)
    b = cells.CellSpec("lstm", (("forget_bias", 1.0), ("candidate", "relu"), ("gate", "sigmoid")))
    c = cells.CellSpec.from_dict({"name": "lstm", "candidate": "relu"})
    assert a == b == c and len({a, b, c}) == 1
    assert json.dumps(a.to_dict()) == json.dumps(c.to_dict())  # 1 and 1.0: one JSON value
    assert a != cells.CellSpec.of("lstm", candidate="tanh")
    assert a != cells.CellSpec.of("gru", candidate="relu")
    assert a["candidate"] == "relu" and a.get("scale") is None and a.get("t_max", 0) is None
    assert a.replace(candidate="tanh") == cells.CellSpec()
    cell = a.build(input_size=2, hidden_size=3, dtype="float64")
    assert cell == cells.get("lstm", input_size=2, hidden_size=3, dtype="float64", candidate="relu")


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("gru", {"scale": 1.0}, "gru has no slot or option 'scale' ('scale' belongs to indrnn"),
        ("gru", {"output": "relu"}, "its slots: gate, candidate; its options: "),
        ("lstm", {"dtype": "float64"}, "dtype is not a cell option here"),
        ("lstm", {"hidden_size": 3}, "hidden_size is not a cell option here"),
        ("lstm", {"candidate": ["relu"]}, "candidate must be a JSON scalar"),
        ("nope", {}, "unknown cell 'nope'; valid cells: gru, indrnn, janet, lnlstm, lstm"),
    ],
)
def test_an_unknown_option_is_one_value_error_line_listing_the_valid_ones(name, options, match):
    with pytest.raises(ValueError) as info:
        cells.CellSpec.of(name, **options)
    assert match in str(info.value) and "\n" not in str(info.value)


def test_a_flat_record_and_a_nested_one_give_the_same_train_config():
    flat = {"task": "copy", "length": 4, "cell": "lstm", "candidate": "relu", "forget_bias": 3}
    flat |= {"init": "uniform", "fused": False, "hidden_size": 5}
    spec = cells.CellSpec.of(
        "lstm", candidate="relu", forget_bias=3.0, initializer="uniform", fused=False
    )
    nested = TrainConfig(task="copy", length=4, hidden_size=5, spec=spec)
    record = nested.to_dict()
    assert record["cell"] == spec.to_dict() and "candidate" not in record
    for given in (flat, record, json.loads(json.dumps(record))):
        assert TrainConfig.from_dict(given) == nested
    gru = {"cell": "gru", "candidate": "relu", "init": "uniform"}
    assert TrainConfig.from_dict(gru).spec == cells.CellSpec.of(
        "gru", candidate="relu", initializer="uniform"
    )


def test_a_flat_record_and_a_nested_one_give_the_same_decay_config():
    flat = {"cell": "lstm", "candidate": "relu", "t_max": 9, "init": "chrono", "length": 7}
    spec = cells.CellSpec.of("lstm", candidate="relu", t_max=9, initializer="chrono")
    nested = DecayConfig(length=7, spec=spec)
    for given in (flat, nested.to_dict(), json.loads(json.dumps(nested.to_dict()))):
        assert DecayConfig.from_dict(given) == nested
    assert nested.lstm_config().init == "chrono" and nested.lstm_config().t_max == 9
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        DecayConfig.from_dict({"colour": 1})


def test_flat_config_reads_a_stored_config_as_flat_fields():
    record = TrainConfig(spec=cells.CellSpec.of(candidate="relu")).to_dict()
    flat = cells.flat_config(record)
    assert flat["cell"] == "lstm" and flat["candidate"] == "relu" and flat["length"] == 100
    assert cells.flat_config({"cell": "gru", "candidate": "relu"})["cell"] == "gru"
