"""The real sequences: each loader against its file's own header and counts and a row read by
hand from the raw text; the digits split's class counts; no heavy package imported; bad
input named in one line."""

import gzip
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from analysis import data
from analysis.data import parse, sources
from analysis.experiments import tasks


def _raw(package: str, rel: str) -> Path:
    # located here independently of the loader (find_spec on the top-level name)
    return Path(importlib.util.find_spec(package).submodule_search_locations[0]) / rel


def _ts_text(path: Path) -> tuple[dict[str, str], list[str]]:
    """Headers and data lines of a .ts file by plain string handling."""
    headers, rows, body = {}, [], False
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if body:
            rows.append(line)
        elif line.lower().startswith("@data"):
            body = True
        else:
            key, _, value = line[1:].partition(" ")
            headers[key.lower()] = value
    return headers, rows


def _znorm(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


def test_acsf1_matches_its_headers_and_a_hand_read_row():
    ds = data.load("acsf1")
    for split, x, y in (("TRAIN", ds.x_train, ds.y_train), ("TEST", ds.x_test, ds.y_test)):
        headers, rows = _ts_text(_raw("aeon", f"datasets/data/ACSF1/ACSF1_{split}.ts"))
        length = int(headers["serieslength"])
        labels = headers["classlabel"].split()[1:]
        assert x.shape == (len(rows), length, 1) == (100, 1460, 1)
        assert ds.info["classes"] == labels and y.max() + 1 == len(labels) == 10
    # the 8th test series, read from the text: values before ':', its label after
    values, label = rows[7].split(":")
    raw = np.array([float(v) for v in values.split(",")], np.float64)
    np.testing.assert_allclose(ds.x_test[7, :, 0], _znorm(raw), rtol=0, atol=3e-6)
    assert ds.info["classes"][ds.y_test[7]] == label
    assert ds.x_test.dtype == np.float32 and ds.y_test.dtype == np.int32


def test_trace_matches_its_arrays_and_a_hand_read_row():
    ds = data.load("trace")
    with np.load(_raw("tslearn", ".cached_datasets/Trace.npz")) as raw:
        assert raw["X_train"].shape == ds.x_train.shape == (100, 275, 1)
        assert raw["X_test"].shape == ds.x_test.shape == (100, 275, 1)
        written = sorted(set(raw["y_train"].tolist()))
        assert written == [1, 2, 3, 4] and ds.info["classes"] == ["1", "2", "3", "4"]
        np.testing.assert_array_equal(ds.y_test, raw["y_test"] - 1)
        np.testing.assert_allclose(ds.x_train[5, :, 0], _znorm(raw["X_train"][5, :, 0]), atol=3e-6)


def test_digits_hand_read_row_and_stratified_split():
    ds = data.load("digits")
    path = _raw("sklearn", "datasets/data/digits.csv.gz")
    lines = gzip.decompress(path.read_bytes()).decode().split()
    table = np.array([[int(v) for v in ln.split(",")] for ln in lines])
    assert table.shape == (1797, 65)
    x = np.concatenate([ds.x_train, ds.x_test])[:, :, 0]
    y = np.concatenate([ds.y_train, ds.y_test])
    assert x.shape == (1797, 64) and x.min() == 0 and x.max() == 1
    # the file's 4th line, by hand: somewhere in the splits, scaled by 1/16, with its digit
    first = np.array([int(v) for v in lines[3].split(",")])
    hits = np.flatnonzero(np.all(x == first[:64] / 16.0, axis=1))
    assert hits.size >= 1 and set(y[hits].tolist()) == {first[64]}
    counts = np.bincount(table[:, 64], minlength=10)
    assert np.bincount(ds.y_test, minlength=10).tolist() == [round(c / 4) for c in counts]
    assert np.bincount(y, minlength=10).tolist() == counts.tolist()
    assert ds.info["split"]["seed"] == 0 and ds.info["split"]["test"] == len(ds.y_test)


def test_digits_delay_appends_blank_steps_and_checksums_are_the_files():
    plain, late = data.load("digits"), data.load("digits", delay=5)
    assert late.x_train.shape == (1347, 69, 1) and late.info["delay"] == 5
    np.testing.assert_array_equal(late.x_train[:, :64], plain.x_train)
    assert not late.x_train[:, 64:].any()
    for name in data.names():
        for rel, pinned, got in zip(
            sources.SOURCES[name].files,
            sources.SOURCES[name].sha256,
            data.load(name).info["checksum"],
            strict=True,
        ):
            digest = hashlib.sha256(_raw(sources.SOURCES[name].package, rel).read_bytes())
            assert got == f"sha256:{digest.hexdigest()}" == f"sha256:{pinned}"


def test_loading_imports_none_of_the_packages():
    code = (
        "import sys\nfrom analysis import data\n"
        "for n in data.names(): data.load(n)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aeon', 'tslearn', 'sklearn', 'numba', 'joblib', 'pandas')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("mnist", {}, "valid data sets: acsf1, digits, trace"),
        ("digits", {"delay": -1}, "delay must be an integer >= 0"),
        ("digits", {"delay": 2.5}, "delay must be an integer >= 0"),
        ("trace", {"delay": 3}, "delay is an option of digits only"),
    ],
)
def test_bad_names_and_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        data.load(name, **options)


def test_a_corrupted_file_names_its_line_and_a_missing_one_the_fix(tmp_path, monkeypatch):
    src = _raw("aeon", "datasets/data/ACSF1/ACSF1_TRAIN.ts")
    lines = src.read_text().splitlines()
    bad = next(i for i, ln in enumerate(lines) if ln.startswith("@data")) + 3  # 0-based
    lines[bad] = lines[bad].replace(",", ",x", 1)
    broken = tmp_path / "ACSF1_TRAIN.ts"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(sources.DataFileError, match=re.escape(f"{broken}:{bad + 1}: 'x")):
        parse.read_ts(broken)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(sources.DataFileError, match=r"pip install --no-deps.*aeon==1\.6\.0"):
        data.load("acsf1")


def test_classification_batches_come_from_the_train_split():
    task = tasks.get("digits", 67, delay=3)
    ds = data.load("digits")
    x, y = task.make_batch(jax.random.key(3), 16)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (16, 67, 1) and not x[:, 64:].any()
    for row, label in zip(x[:, :64, 0], y, strict=True):
        match = np.flatnonzero(np.all(ds.x_train[:, :, 0] == row, axis=1))
        assert match.size and label in ds.y_train[match]
    x_test, y_test = task.test_set()
    assert x_test.shape == (450, 67, 1) and task.test_size == 450
    # solved: halfway from the majority-class rate (train's most frequent class) to 1
    major = np.argmax(np.bincount(ds.y_train))
    m = np.mean(ds.y_test == major)
    assert task.data["solved_threshold"] == pytest.approx(m + (1 - m) / 2)
    logits = np.eye(10, dtype=np.float32)[np.asarray(y_test)]
    assert bool(task.solved(logits, y_test)) and float(task.accuracy(logits, y_test)) == 1.0


def test_configs_round_trip_with_delay_and_inputs():
    from analysis.experiments.decay_config import DecayConfig
    from analysis.experiments.train_config import TrainConfig

    cfg = TrainConfig.from_dict({"task": "digits", "delay": 200, "hidden_size": 4})
    assert cfg.length == cfg.task_spec().length == 264
    record = json.loads(json.dumps(cfg.to_dict()))
    assert record["delay"] == 200 and TrainConfig.from_dict(record) == cfg
    assert hash(TrainConfig.from_dict(record)) == hash(cfg)
    assert "delay" not in TrainConfig().to_dict()  # a synthetic run's record is unchanged
    # every blank step costs what a step costs (the data constants do not grow with it)
    base = {"task": "digits", "hidden_size": 4}
    plain, one = (TrainConfig.from_dict({**base, "delay": d}).estimated_bytes(2) for d in (0, 1))
    assert cfg.estimated_bytes(2) - plain == pytest.approx(200 * (one - plain), abs=2)
    assert one > plain
    dec = DecayConfig(inputs="acsf1", hidden_size=3)
    assert dec.length == 1460 and DecayConfig.from_dict(dec.to_dict()) == dec
    assert "inputs" not in DecayConfig().to_dict()
