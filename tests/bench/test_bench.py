"""The benchmark harness at tiny shapes: workers run, tables come out, bad input exits 2.

No timed assertions: only that every row has its samples and the table has its rows.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.bench import peers as bench
from analysis.cli.app import main
from analysis.util.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
TINY = bench.SHAPES["tiny"]


def test_parse_shapes_and_rows_name_the_valid_choices():
    assert bench.parse_shapes("S1, S3") == ("S1", "S3")
    with pytest.raises(UsageError, match="valid shapes: S1, S2, S3"):
        bench.parse_shapes("S1,S9")
    with pytest.raises(UsageError, match="valid rows: torch"):
        bench.only(bench.BenchConfig(), "fused,cudnn")
    cfg = bench.only(bench.BenchConfig(), "torch,fused")
    assert [v.label for v in (*cfg.peers, *cfg.ours, *cfg.extras)] == ["torch", "fused"]


def test_worker_prints_one_json_line():
    cmd = [sys.executable, "-m", "analysis.bench.workers", "fused", "--batch", "2"]
    cmd += ["--hidden", "8", "--length", "5", "--input", "3", "--repeats", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    (line,) = out.stdout.strip().splitlines()
    msg = json.loads(line)
    assert msg["impl"] == "fused" and len(msg["samples_s"]) == 2 and msg["compile_s"] > 0


def test_time_shape_alternates_and_records_failures():
    variants = [
        bench.Implementation("torch", "torch"),
        bench.Implementation("fused", "fused"),
        bench.Implementation("bad", "fused", candidate="no_such_kernel"),
    ]
    rows = bench.time_shape(TINY, [v for v in variants if bench.installed(v)], repeats=2)
    by = {r.label: r for r in rows}
    assert len(by["fused"].samples_s) == 2 and by["fused"].error is None
    assert "no_such_kernel" in by["bad"].error and not by["bad"].samples_s
    if "torch" in by:
        assert len(by["torch"].samples_s) == 2


def test_run_bench_writes_table_targets_and_rss():
    cfg = bench.BenchConfig(
        shapes=("tiny",),
        repeats=2,
        extras_on=("tiny",),
        peers=(bench.Implementation("torch", "torch"),),
        ours=(bench.Implementation("fused", "fused"),),
        extras=(bench.Implementation("fused-relu", "fused", candidate="relu", output="relu"),),
        rss_shape=bench.SHAPES["tiny-long"],
        rss_variants=(bench.Implementation("fused", "fused"),),
    )
    result = bench.run_bench(cfg)
    text = bench.to_markdown(result)
    assert "### tiny (B=2, H=8, T=5, I=8)" in text
    assert "| fused |" in text and "| fused-relu |" in text
    assert "### Peak RSS" in text and result["rss"][0]["peak_rss_mb"] > 0
    measures = {t["measure"] for t in result["targets"]}
    assert "tiny fused relu/relu / tanh/tanh" in measures
    json.loads(json.dumps(result, default=str))


def test_cli_rejects_bad_input_before_work(capsys):
    assert main(["bench", "--shapes", "S1,S9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "valid shapes: S1, S2, S3" in err[0]
    assert main(["bench", "--repeats", "0"]) == 2
    assert main(["bench", "--only", "cudnn"]) == 2
    assert "valid rows" in capsys.readouterr().err


def test_cli_writes_markdown_and_json(tmp_path):
    md, js = tmp_path / "b.md", tmp_path / "b.json"
    args = ["bench", "--shapes", "tiny", "--repeats", "1", "--no-rss", "--only", "fused"]
    assert main([*args, "--out", str(md), "--json", str(js)]) == 0
    assert "| fused |" in md.read_text()
    assert json.loads(js.read_text())["shapes"]["tiny"]["rows"][0]["label"] == "fused"


def test_bench_gpu_script_tiny_runs_on_cpu():
    out = subprocess.run(
        [sys.executable, "scripts/bench_gpu.py", "--tiny", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    tail = out.stdout.strip().splitlines()
    assert tail[-1].startswith("| ")  # the table is printed last
    assert "| fused-u8 |" in out.stdout


def test_bench_step_script_prints_every_row_with_its_rate():
    args = ["--length", "4", "--seeds", "2", "--batch", "2", "--hidden", "4", "--repeats", "1"]
    out = subprocess.run(
        [sys.executable, "scripts/bench_step.py", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = [line.split("|")[1:-1] for line in out.stdout.splitlines() if line.startswith("| ")]
    names = [r[0].strip() for r in rows[2:]]  # past the header and the separator
    assert names[0] == "per-step product alone" and names[-1].startswith("one training step")
    assert len(names) == 6
    assert all(float(r[1]) > 0 for r in rows[2:])
    # every row with products reports a positive rate; the forward alone reports none
    assert [bool(r[2].strip()) for r in rows[2:]] == [True, True, True, True, False, True]
    assert all(float(r[2]) > 0 for r in rows[2:] if r[2].strip())
