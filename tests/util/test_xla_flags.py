"""actgrad's XLA flag defaults: appended unless the user set the flag; applied in a new process."""

from __future__ import annotations

import os
import subprocess
import sys

from analysis._util import xla_flags

FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
OPT = "xla_backend_optimization_level"
# What this machine gets: the CPU-only flag too unless a GPU plugin is installed.
CPU = "" if xla_flags.gpu_plugin_installed() else f" --{OPT}=1"


def test_appended_to_an_empty_environment():
    env: dict[str, str] = {}
    assert xla_flags.apply_defaults(env) == f"--{FLAG}=false{CPU}"
    assert env["XLA_FLAGS"] == f"--{FLAG}=false{CPU}"


def test_other_flags_kept_and_not_duplicated():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    xla_flags.apply_defaults(env)
    once = env["XLA_FLAGS"]
    assert once == f"--xla_force_host_platform_device_count=2 --{FLAG}=false{CPU}"
    assert xla_flags.apply_defaults(env) == once  # idempotent


def test_a_users_value_wins():
    for given in (f"--{FLAG}=true --{OPT}=3", f"{FLAG}=true --x=1 {OPT}=2"):
        env = {"XLA_FLAGS": given}
        assert xla_flags.apply_defaults(env) == given


def test_import_analysis_sets_it_before_jax_starts():
    code = (
        "import os, analysis, jax, jax.numpy as jnp; jnp.ones(1).block_until_ready();"
        "print(os.environ['XLA_FLAGS'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == f"--{FLAG}=false{CPU}".split()


def test_the_cpu_only_flag_is_left_out_where_a_gpu_may_start():
    gpu = {"JAX_PLATFORMS": "cuda"}
    assert xla_flags.gpu_plugin_installed(gpu)
    assert xla_flags.apply_defaults(gpu) == f"--{FLAG}=false"
    cpu = {"JAX_PLATFORMS": "cpu"}
    assert not xla_flags.gpu_plugin_installed(cpu)
    assert xla_flags.apply_defaults(cpu) == f"--{FLAG}=false --{OPT}=1"
