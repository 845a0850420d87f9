"""A tiny report, built once per test session for the tests that read a finished report."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory) -> Path:
    """The folder of ``actgrad report --preset tiny`` (about a minute on two cores).

    ACTGRAD_TEST_REPORT=DIR checks an existing report instead, to rerun a test without
    rebuilding one.
    """
    given = os.environ.get("ACTGRAD_TEST_REPORT")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("tiny_report")
    # compiled programs go to a cache of this session's own, not the user's ~/.cache
    cache = tmp_path_factory.mktemp("jax_cache")
    env = {
        **os.environ,
        "ACTGRAD_PROGRESS": "0",
        "JAX_ENABLE_X64": "0",
        "ACTGRAD_JAX_CACHE": str(cache),
        # what `make report` does: cells and figures in two worker processes
        "ACTGRAD_PROCESSES": "2",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--preset", "tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(cache.iterdir()), "no compiled program was cached"
    return out
