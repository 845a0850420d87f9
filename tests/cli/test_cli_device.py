"""A request the machine cannot serve is a user's mistake: one stderr line, exit 2, no work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = (
    ["report", "--quick"],
    ["train", "--task", "adding", "--length", "40"],
    ["decay", "--length", "20"],
)


@pytest.mark.skipif(
    any(d.platform == "gpu" for d in jax.devices()) or bool(os.environ.get("JAX_PLATFORMS")),
    reason="this machine has a GPU (or a platform is forced)",
)
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_device_gpu_without_a_gpu_is_one_line_and_exit_2(argv, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "analysis", *argv, "--device", "gpu", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.count("\n") == 1, run.stderr[-2000:]
    assert run.stderr.startswith(f"actgrad {argv[0]}: error: --device gpu: JAX cannot start")
    assert not out.exists()  # refused before any work
