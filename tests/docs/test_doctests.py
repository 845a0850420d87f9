"""The `>>>` examples in the library's docstrings run, as a user runs them (float32 default),
one test per docstring: what ``pytest --doctest-modules`` would collect from each module that
has an example (optax runs its examples the same way)."""

import doctest
import importlib
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[2]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    found = []
    for package in ("kernels", "analysis"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                parts = list(path.relative_to(ROOT).with_suffix("").parts)
                found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _doctests() -> list:
    tests = []
    for name in _modules():
        # the module's own objects only (re-exports are tested where they are defined)
        tests += [
            t for t in doctest.DocTestFinder().find(importlib.import_module(name)) if t.examples
        ]
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _doctests()


def test_the_examples_are_found():
    names = {t.name for t in DOCTESTS}
    # the public entry points' examples, at least: a collector that finds nothing can fail
    assert {"kernels", "analysis.plot.decay", "analysis.plot.lyapunov"} <= names


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_example(test, tmp_path, monkeypatch):
    import kernels

    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    report: list[str] = []
    before = set(kernels.names())
    try:
        with jax.enable_x64(False):  # the user's default; the suite enables float64
            result = doctest.DocTestRunner(optionflags=FLAGS).run(test, out=report.append)
    finally:
        # an example that registers a kernel (from_formula with a name) registers it for the
        # whole process: later tests in this worker would see one kernel more
        for name in set(kernels.names()) - before:
            kernels.unregister(name)
    if result.failed:
        pytest.fail("".join(report), pytrace=False)
