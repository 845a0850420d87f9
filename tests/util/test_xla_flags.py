"""actgrad's XLA flag defaults: appended unless the user set the flag, applied in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys

from analysis._util import xla_flags

FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"


def test_appended_to_an_empty_environment():
    env: dict[str, str] = {}
    assert xla_flags.apply_defaults(env) == f"--{FLAG}=false"
    assert env["XLA_FLAGS"] == f"--{FLAG}=false"


def test_other_flags_kept_and_not_duplicated():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    xla_flags.apply_defaults(env)
    once = env["XLA_FLAGS"]
    assert once == f"--xla_force_host_platform_device_count=2 --{FLAG}=false"
    assert xla_flags.apply_defaults(env) == once  # idempotent


def test_a_users_value_wins():
    for given in (f"--{FLAG}=true", f"{FLAG}=true --x=1"):
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
    assert out.stdout.split() == [f"--{FLAG}=false"]
