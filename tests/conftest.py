"""Float64 oracles everywhere; a derandomised hypothesis profile so CI is repeatable."""

import os
from pathlib import Path

os.environ.setdefault("ACTGRAD_PROGRESS", "0")
# pytest -n 2 already keeps both cores busy; sweeps under test run in-process unless a test
# asks for worker processes (tests/experiments/test_pool.py does).
os.environ.setdefault("ACTGRAD_PROCESSES", "1")
# Commands under test cache compiled programs (analysis.runtime.compile_cache): in the
# checkout, not in the user's ~/.cache, so a fresh clone starts cold and a rerun is warm.
os.environ.setdefault(
    "ACTGRAD_JAX_CACHE",
    os.path.join(os.path.dirname(os.path.dirname(__file__)), ".pytest_jax_cache"),
)

# Three quarters of the suite's time is XLA compiling programs that then run for milliseconds
# (backend_compile_duration 172 of 245 s in one pytest worker here): JAX's switch for that
# case (XLA -O0, no expensive LLVM passes) takes a sixth off the suite. It can move a result by
# an ulp (jax.grad(jnp.tanh) at z = -19.9998 in float32: 3.6e-7 at -O0, 0 as users compile
# it), so the tests whose subject is the last bits compile as users' runs do (`_USERS_CODEGEN`).
# In the environment too, so the commands the tests start compile the same way.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

# actgrad's XLA flags, as the `actgrad` command sets them (import analysis sets nothing), before
# anything starts JAX's backend: XLA reads them once, and the commands the tests start inherit them
from analysis.runtime import configure_xla

configure_xla()

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
_FAST_COMPILE = "JAX_DISABLE_MOST_OPTIMIZATIONS"

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("ci")

# Kernel tails, verification against jax.grad and finite differences, the formula checker and
# the seed-claims audit: the last bits are what these test, so they compile as users do.
_USERS_CODEGEN = (
    "kernels/",
    "checks/",
    "cli/test_cli_verify.py",
    "cli/test_cli_check_formula.py",
    "report/test_claims.py",
)
_TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="module")
def _users_codegen(request):
    """Full optimisation for the modules in `_USERS_CODEGEN` (and the commands they start).

    Compiled programs are cached in memory without the optimisation level in their key, so
    the caches are cleared on the way in and out: nothing compiled one way runs the other.
    """
    rel = Path(request.node.path).resolve().relative_to(_TESTS).as_posix()
    if not rel.startswith(_USERS_CODEGEN) or os.environ[_FAST_COMPILE] != "1":
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(_FAST_COMPILE, "0")
        jax.clear_caches()
        jax.config.update("jax_disable_most_optimizations", False)
        try:
            yield
        finally:
            jax.config.update("jax_disable_most_optimizations", True)
            jax.clear_caches()


# Started first, so that no long file is left to run alone at the end: with two workers taking
# one file at a time (`--dist loadfile`), the last long file sets the wall time.
_LONGEST_FIRST = (
    "report/test_report.py",
    "report/test_full.py",
    "examples/test_notebooks.py",
    "cells/test_fast_lstm.py",
    "bench/test_bench.py",
    "experiments/test_multiprocess.py",
)


def pytest_collection_modifyitems(items):
    """The files in `_LONGEST_FIRST` first, in that order; every file's tests in its order."""

    def rank(item) -> int:
        rel = Path(item.path).resolve().relative_to(_TESTS).as_posix()
        return _LONGEST_FIRST.index(rel) if rel in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)
