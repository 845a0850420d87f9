"""actgrad's XLA flags: set by `configure_xla()` only (never on import), appended unless the
user set the flag, refused once JAX's backend has started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from analysis.runtime import xla_flags

ROOT = Path(__file__).resolve().parents[2]
FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
OPT = "xla_backend_optimization_level"
# What this machine gets: the CPU-only flag too unless a GPU plugin is installed.
CPU = "" if xla_flags.gpu_plugin_installed() else f" --{OPT}=1"


def _python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_appended_to_an_empty_environment():
    env: dict[str, str] = {}
    assert xla_flags.configure_xla(env) == f"--{FLAG}=false{CPU}"
    assert env["XLA_FLAGS"] == f"--{FLAG}=false{CPU}"


def test_other_flags_kept_and_not_duplicated():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    xla_flags.configure_xla(env)
    once = env["XLA_FLAGS"]
    assert once == f"--xla_force_host_platform_device_count=2 --{FLAG}=false{CPU}"
    assert xla_flags.configure_xla(env) == once  # idempotent


def test_a_users_value_wins():
    for given in (f"--{FLAG}=true --{OPT}=3", f"{FLAG}=true --x=1 {OPT}=2"):
        env = {"XLA_FLAGS": given}
        assert xla_flags.configure_xla(env) == given


def test_importing_changes_nothing_outside():
    code = (
        "import os, sys; n = len(sys.meta_path); import analysis, kernels;"
        "print(os.environ.get('XLA_FLAGS'), len(sys.meta_path) == n)"
    )
    assert _python(code) == "None True"
    # the public modules too; optax's absl adds a finder of its own, so only ours are counted
    code = (
        "import os, sys; from analysis import lstm, gradients, verify, tasks, train, cells,"
        " sweep, decay; import kernels;"
        "print(os.environ.get('XLA_FLAGS'), [type(f).__module__ for f in sys.meta_path"
        " if type(f).__module__.split('.')[0] in ('analysis', 'kernels')])"
    )
    assert _python(code) == "None []"


def test_configure_xla_sets_them_before_jax_starts():
    code = (
        "import os; from analysis.runtime import configure_xla; configure_xla();"
        "import jax.numpy as jnp; jnp.ones(1).block_until_ready(); print(os.environ['XLA_FLAGS'])"
    )
    assert _python(code).split() == f"--{FLAG}=false{CPU}".split()


def test_too_late_is_a_clear_error_and_already_set_is_not():
    code = (
        "import os, jax.numpy as jnp; jnp.ones(1).block_until_ready()\n"
        "from analysis.runtime import configure_xla\n"
        "try:\n    configure_xla()\nexcept RuntimeError as err:\n    print('refused:', err)\n"
        f"os.environ['XLA_FLAGS'] = '--{FLAG}=true --{OPT}=2'\n"
        "print('kept:', configure_xla())"
    )
    refused, kept = _python(code).splitlines()
    assert refused.startswith("refused: analysis.runtime.configure_xla() was called after")
    assert "before your first JAX computation" in refused
    assert kept == f"kept: --{FLAG}=true --{OPT}=2"


def test_the_cpu_only_flag_is_left_out_where_a_gpu_may_start():
    gpu = {"JAX_PLATFORMS": "cuda"}
    assert xla_flags.gpu_plugin_installed(gpu)
    assert xla_flags.configure_xla(gpu) == f"--{FLAG}=false"
    cpu = {"JAX_PLATFORMS": "cpu"}
    assert not xla_flags.gpu_plugin_installed(cpu)
    assert xla_flags.configure_xla(cpu) == f"--{FLAG}=false --{OPT}=1"
