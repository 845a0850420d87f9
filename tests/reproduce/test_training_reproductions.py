"""The training reproductions (copy, adding, parity) end to end through `actgrad reproduce` at
the tiny preset, their small rules, and bad names."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

from analysis import reproduce
from analysis.reproduce import adding_hochreiter, copy_arjovsky


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis", "reproduce", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTGRAD_PROGRESS": "0"},
        timeout=300,
    )


@pytest.mark.parametrize("name", ["copy-arjovsky", "adding-hochreiter", "parity-deletang"])
def test_tiny_run_writes_its_json_and_figure_and_prints_every_row(name, tmp_path):
    done = _cli(name, "--tiny", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads((tmp_path / f"{name}.json").read_text())
    assert got["name"] == name and got["preset"] == "tiny"
    rows = got["result"]["rows"]
    assert rows and got["result"]["seeds"] == [0]
    for row in rows:
        assert {"where", "summary", "published_text", "ours_text", "low", "high"} <= set(row)
        assert row["agrees"] in (True, False, None)
        assert f"| {row['ours_text']} |" in done.stdout
    assert (tmp_path / f"{name}.png").stat().st_size > 0
    assert (tmp_path / f"{name}.svg").stat().st_size > 0


def test_an_unknown_name_lists_every_reproduction_and_exits_2():
    bad = _cli("copy")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "valid: " + ", ".join(reproduce.names()) in bad.stderr
    assert len(reproduce.names()) == 4


def test_every_reproduction_has_a_report_preset_and_its_own_differences():
    for r in reproduce.REPRODUCTIONS:
        assert r.report_differences and r.report_s > 0
        assert r.steps("report") >= 1
    with pytest.raises(ValueError, match="valid: tiny, report, default, full"):
        reproduce.run("copy-arjovsky", "quick")


def test_copy_classes_around_the_baseline():
    assert [copy_arjovsky.classify(r) for r in (0.5, 0.89, 0.9, 1.1, 1.11)] == [
        "below",
        "below",
        "at",
        "at",
        "above",
    ]
    assert copy_arjovsky.classify(float("nan")) == "above"


@pytest.mark.parametrize(("k", "n"), [(1, 2560), (0, 300), (7, 40)])
def test_the_exact_interval_is_clopper_pearson(k, n):
    # Clopper-Pearson from the beta quantiles (an independent formula)
    low = scipy.stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = scipy.stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    np.testing.assert_allclose(adding_hochreiter.exact_interval(k, n), (low, high), rtol=1e-8)
