"""`actgrad decay` end to end: bad input, files written, exit codes, resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import cli
from analysis.experiments import decay

SMALL = ["--length", "24", "--hidden", "4", "--batch", "2"]


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--candidate", "nope"], "valid names"),
        (["--gate", "tanhh"], "valid names"),
        (["--length", "0"], "length"),
        (["--batch", "-3"], "batch"),
        (["--hidden", "2.5"], "invalid int"),
        (["--hidden-size", "0"], "hidden_size"),
        (["--seeds", "0"], "seeds"),
        (["--dtype", "float8"], "float16"),
        (["--init", "chrono"], "t_max"),
        (["--lyapunov-k", "999"], "lyapunov_k"),
        (["--loss", "max"], "valid"),
        (["--compare", "nosuch=1,2"], "valid fields"),
        (["--compare", "candidate=tanh,nope"], "valid names"),
        (["--compare", "forget_bias=0,x"], "forget_bias"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_work(tmp_path, capsys, argv, match):
    out = tmp_path / "out"
    try:
        rc = cli.main(["decay", *argv, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors (one line via OneLineParser)
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert pytest.importorskip("re").search(match, err), err
    assert not out.exists()


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = cli.main(["decay", *SMALL, "--out", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "cannot be written" in err


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) if path.exists() else []


def _ends_a_line(path: Path) -> bool:
    return path.exists() and path.read_bytes().endswith(b"\n")


def test_cli_writes_files_and_resumes_after_sigkill(tmp_path):
    out = tmp_path / "decay"
    argv = [sys.executable, "-m", "analysis", "decay", *SMALL, "--seeds", "2", "--out", str(out)]
    argv += ["--lyapunov-k", "0", "--compare", "candidate=tanh,relu,identity"]
    env = {**os.environ, "ACTGRAD_PROGRESS": "0"}
    results = out / "results.jsonl"
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # Kill once a whole line is in: a reader can see a line of several pages half written.
    while not _ends_a_line(results) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = _lines(results)
    # Whole lines, then at most one torn last line: a kill that lands inside the write of a
    # later cell stops it at a page boundary (Linux ends a write early for a fatal signal).
    before = [line for line in lines if line.endswith(b"\n")]
    assert before, "no cell finished before the kill"
    assert lines[: len(before)] == before and len(lines) - len(before) <= 1
    # a torn last line, as a crash in the middle of a write would leave
    with results.open("ab") as fh:
        fh.write(b'{"config": {"candidate": "re')

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = _lines(results)
    assert after[: len(before)] == before  # finished cells are never rewritten
    records = [json.loads(line) for line in after]
    keys = {json.dumps(r["config"], sort_keys=True) for r in records}
    assert len(records) == len(keys) == 3
    assert "torn" in done.stderr
    for rec in records:
        assert set(rec) >= {"config", "seeds", "result", "versions", "device"}
        assert rec["seeds"] == [0, 1]
        # the cell: one spec; "inputs" only when not noise (noise records stay as they were)
        assert set(rec["config"]) == {"cell", *decay.RUN_FIELDS} - {"inputs"}
        lstm_options = set(decay.LSTM_FIELDS) - {"input_size", "hidden_size", "dtype", "init"}
        assert set(rec["config"]["cell"]) == {"name", "initializer", "fused", *lstm_options}
        assert len(rec["result"]["norms"]["h"]) == 2 and len(rec["result"]["norms"]["h"][0]) == 24
    for name in ("decay.json", "decay.png", "decay.svg", "telemetry.png", "telemetry.svg"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "decay.json").read_text())
    assert len(summary["variants"]) == 3 and summary["versions"]["jax"]
    assert "candidate=identity" in done.stdout  # the table


def test_fail_on_explosion_exit_code(tmp_path, capsys):
    # ReLU in both slots with b_f = 3: the cell state runs away (measured: rate > 0, max|c| ~ 40)
    argv = ["decay", "--length", "64", "--hidden", "32", "--batch", "4", "--seeds", "1"]
    argv += ["--lyapunov-k", "0", "--candidate", "relu", "--output", "relu", "--forget-bias", "3"]
    argv += ["--out", str(tmp_path), "--fail-on-explosion"]
    assert cli.main(argv) == 1
    table = capsys.readouterr().out
    assert "exploded: " in table and table.split("\n")[1].split()[-1] in ("growing", "exploding")
    rec = json.loads((tmp_path / "results.jsonl").read_text())
    assert rec["result"]["exploded"] is True


def test_explosion_rules():
    import numpy as np

    ok = np.ones(5)
    assert decay.explosion(ok, ok, -0.1, 1.0, 10) is None
    assert "non-finite" in decay.explosion(np.array([1.0, np.inf]), ok, -0.1, 1.0, 10)
    assert "non-finite" in decay.explosion(ok, ok, -0.1, float("nan"), 10)
    assert "grows" in decay.explosion(ok, ok, 0.01, 1.0, 10)
    assert "length" in decay.explosion(ok, ok, -0.1, 11.0, 10)
