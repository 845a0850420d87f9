"""Float64 oracles everywhere; a derandomised hypothesis profile so CI is repeatable."""

import os

os.environ.setdefault("ACTGRAD_PROGRESS", "0")
# pytest -n 2 already keeps both cores busy; sweeps under test run in-process unless a test
# asks for worker processes (tests/experiments/test_pool.py does).
os.environ.setdefault("ACTGRAD_PROCESSES", "1")
# Commands under test cache compiled programs (analysis.experiments.compile_cache): in the
# checkout, not in the user's ~/.cache, so a fresh clone starts cold and a rerun is warm.
os.environ.setdefault(
    "ACTGRAD_JAX_CACHE",
    os.path.join(os.path.dirname(os.path.dirname(__file__)), ".pytest_jax_cache"),
)

import jax
from hypothesis import settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("ci")
