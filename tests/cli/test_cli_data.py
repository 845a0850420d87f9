"""`actgrad train --task trace|digits|acsf1` and `actgrad decay --inputs ...` end to end: bad
input is one line and exit 2 before work; a tiny run writes accuracy and what drove it."""

import importlib.util
import json
from pathlib import Path

import pytest

from analysis import cli
from analysis.data import sources

TINY = ["--steps", "2", "--eval-every", "2", "--batch", "4", "--hidden", "2", "--seeds", "2"]


def _exit(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # argparse's own errors exit from the parser
        return int(exc.code)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--task", "trace", "--delay", "3"], "delay is an option of digits only"),
        (["train", "--task", "trace", "--length", "50"], "T = 275 from its data"),
        (["train", "--task", "digits", "--delay", "-1"], "delay must be an integer >= 0"),
        (["train", "--task", "adding", "--delay", "4"], "digits task only"),
        (["train", "--task", "digits", "--delay", "1000000000"], "needs about"),
        (["train", "--task", "mnist"], "real data: acsf1, digits, trace"),
        (["decay", "--inputs", "mnist"], "valid inputs: noise, acsf1, digits, trace"),
        (["decay", "--inputs", "trace", "--length", "10"], "T = 275"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_work(argv, match, tmp_path, capsys):
    out = tmp_path / "out"
    assert _exit([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err, err
    assert not out.exists()


def test_a_corrupted_or_missing_file_is_one_line(tmp_path, capsys, monkeypatch):
    train_ts, test_ts = sources.locate("acsf1")
    lines = train_ts.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("@data")) + 2
    lines[at] = lines[at].rpartition(":")[0]  # the label cut off
    broken = tmp_path / "ACSF1_TRAIN.ts"
    broken.write_text("\n".join(lines))
    monkeypatch.setattr(sources, "locate", lambda name: (broken, test_ts))
    assert _exit(["train", "--task", "acsf1", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{broken}:{at + 1}: no ':label'" in err, err
    monkeypatch.undo()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert _exit(["train", "--task", "trace", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make venv" in err and "tslearn==0.10.0" in err, err


def test_tiny_trace_training_writes_test_accuracy(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--task", "trace", *TINY, "--snapshots", "0", "--out", str(out)]) == 0
    result = json.loads(Path(out / "train.json").read_text())
    (variant,) = result["variants"]
    assert variant["task"]["T"] == 275 and variant["config"]["length"] == 275
    assert variant["task"]["data"]["checksum"][0].startswith("sha256:")
    for seed in variant["per_seed"]:
        k, n = seed["test_correct"], seed["test_n"]
        assert n == 100 and seed["test_accuracy"] == k / n
        low, high = seed["test_accuracy_ci"]
        assert 0 <= low <= k / n <= high <= 1 and high - low > 0.05
    assert "test accuracy per seed" in capsys.readouterr().out


def test_tiny_decay_driven_by_digits_records_its_inputs(tmp_path):
    out = tmp_path / "decay"
    argv = ["decay", "--inputs", "digits", "--hidden", "3", "--batch", "3", "--seeds", "1"]
    assert cli.main([*argv, "--lyapunov-k", "0", "--out", str(out)]) == 0
    (record,) = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]
    assert record["config"]["inputs"] == "digits" and record["config"]["length"] == 64
    assert record["result"]["inputs"]["name"] == "digits"
    assert len(record["result"]["norms"]["h"][0]) == 64
