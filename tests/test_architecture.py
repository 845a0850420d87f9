"""The architecture stays the one README and DESIGN.md describe.

Every import in `kernels/` and `analysis/` is read from the AST (module level and inside
functions) and checked against the layer order; the import graph has no cycle; no underscore
name is imported from another module and no private module or package (`kernels._core`) is
imported from outside the package that holds it; functions and scripts stay short (a module is
one job, however long); public modules say what they export and public functions say what they
do. Each check names the file, the line and the rule, so a failure says what to move where.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lower numbers are lower layers. A module may import from strictly lower layers and from its
# own subpackage; never from a peer subpackage of the same layer, never upwards.
LAYERS = {
    "kernels": 0,
    "analysis.util": 0,
    "analysis.runtime": 1,
    "analysis.checks": 1,
    "analysis.cells": 1,
    "analysis.flow": 2,
    "analysis.data": 2.5,  # real sequences: above cells and flow, below experiments
    "analysis.experiments": 3,
    "analysis.plot": 4,
    "analysis.audit": 4,
    "analysis.bench": 4,
    # reproductions draw their figures with plot; the report runs and tabulates them
    "analysis.reproduce": 5,
    "analysis.report": 6,
    "analysis.cli": 7,
}
MAX_FUNCTION_LINES = 60
MAX_SCRIPT_LINES = 100


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for top in ("kernels", "analysis"):
        for path in sorted((ROOT / top).rglob("*.py")):
            out[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return out


def _package_of(module: str) -> str | None:
    """The layer key a module belongs to (its subpackage), or None for analysis itself."""
    for key in sorted(LAYERS, key=len, reverse=True):
        if module == key or module.startswith(key + "."):
            return key
    return None


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of kernels/analysis code in a module."""
    path, tree = _sources()[module]
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in _sources() else target))
    return [(line, name) for line, name in found if name.split(".")[0] in ("kernels", "analysis")]


def _internal_modules() -> list[str]:
    return [m for m in _sources() if m not in ("analysis", "analysis.__main__")]


@pytest.mark.parametrize("module", _internal_modules())
def test_imports_go_down_the_layers(module):
    src_pkg = _package_of(module)
    bad = []
    for line, target in _imports(module):
        if target in ("analysis", "analysis.__main__"):
            # `from analysis import lstm` inside the package hides a dependency behind an alias
            bad.append(f"line {line}: imports {target!r}; import the real module path")
            continue
        dst_pkg = _package_of(target)
        if dst_pkg is None:
            bad.append(f"line {line}: {target!r} is in no layer")
        elif dst_pkg != src_pkg and LAYERS[dst_pkg] >= LAYERS[src_pkg]:
            bad.append(
                f"line {line}: {src_pkg} (layer {LAYERS[src_pkg]}) imports {target} "
                f"(layer {LAYERS[dst_pkg]}); only lower layers or its own subpackage"
            )
    assert not bad, f"{module}: " + "; ".join(bad)


def test_no_import_cycle():
    graph = {m: {t for _, t in _imports(m) if t in _sources()} for m in _internal_modules()}
    # a package's __init__ re-exporting its own modules is not a cycle of ideas
    for m, targets in graph.items():
        targets.discard(m)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if _sources()[t][0].name == "__init__.py" and m.startswith(t + "."):
                continue  # a submodule importing its own package's facade
            if state.get(t) == 1:
                return [*stack[stack.index(t) :], t]
            if t not in state and (cycle := visit(t)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_scripts_are_thin():
    # modules are one job each however long that job is (DESIGN.md); scripts stay thin
    too_long = []
    for path in sorted((ROOT / "scripts").glob("*.py")):
        n = len(path.read_text().splitlines())
        if n > MAX_SCRIPT_LINES:
            too_long.append(f"scripts/{path.name}: {n} lines")
    assert not too_long, f"scripts over {MAX_SCRIPT_LINES} lines: " + "; ".join(too_long)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_names_imported(module: str) -> list[str]:
    """'line N: target.name' for every underscore name a module imports from another."""
    path, tree = _sources()[module]
    is_pkg = path.name == "__init__.py"
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            bad += [
                f"line {node.lineno}: {target}.{a.name}" for a in node.names if _is_private(a.name)
            ]
    return bad


def _private_packages_used(module: str) -> list[str]:
    """'line N: path' for every import of a private kernels/analysis module or package (a
    path component starting with '_') from outside the package that holds it."""
    bad = []
    for line, target in _imports(module):
        parts = target.split(".")
        for i, part in enumerate(parts[1:], start=1):
            if _is_private(part):
                parent = ".".join(parts[:i])
                if not (module == parent or module.startswith(parent + ".")):
                    bad.append(f"line {line}: {target} (private to {parent})")
                break
    return bad


@pytest.mark.parametrize("module", sorted(_sources()))
def test_no_private_name_crosses_a_module_boundary(module):
    bad = _private_names_imported(module) + _private_packages_used(module)
    assert not bad, f"{module}: " + "; ".join(bad) + " (make the name public where it is shared)"


# The sweep orchestrates processes and hosts; the rest of the science reaches the machine only
# through `analysis.runtime`'s interface (its __init__), never its process machinery.
ORCHESTRATION = {"analysis.experiments.sweep"}
SCIENCE = ("analysis.checks", "analysis.cells", "analysis.flow", "analysis.experiments")


@pytest.mark.parametrize(
    "module", [m for m in sorted(_sources()) if m.startswith(SCIENCE) and m not in ORCHESTRATION]
)
def test_the_science_imports_no_process_machinery(module):
    bad = [
        f"line {line}: {target}"
        for line, target in _imports(module)
        if target.startswith("analysis.runtime.")
    ]
    assert not bad, f"{module}: " + "; ".join(bad) + " (use the analysis.runtime interface)"


def test_the_privacy_checker_catches_both_kinds(tmp_path):
    tree = ast.parse("from analysis.checks.verify import _x\nfrom kernels._core import names\n")
    fake = "analysis.flow.fake"
    _sources()[fake] = (tmp_path / "fake.py", tree)
    try:
        assert _private_names_imported(fake) == ["line 1: analysis.checks.verify._x"]
        assert _private_packages_used(fake) == ["line 2: kernels._core (private to kernels)"]
    finally:
        del _sources()[fake]


def _functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_functions_are_short():
    long_ones = []
    for _module, (path, tree) in _sources().items():
        for fn in _functions(tree):
            n = fn.end_lineno - fn.lineno + 1
            if n > MAX_FUNCTION_LINES:
                rel = path.relative_to(ROOT).as_posix()
                long_ones.append(f"{rel}:{fn.lineno} {fn.name} ({n} lines)")
    assert not long_ones, f"functions over {MAX_FUNCTION_LINES} lines: " + "; ".join(long_ones)


def _is_public_module(module: str) -> bool:
    parts = module.split(".")
    return not any(p.startswith("_") for p in parts[1:]) and parts[-1] != "__main__"


def _public_defs(tree: ast.Module):
    """Module-level public functions and the public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, node
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def test_public_functions_have_docstrings():
    missing = []
    for module, (_, tree) in _sources().items():
        if not _is_public_module(module):
            continue
        for name, node in _public_defs(tree):
            if not ast.get_docstring(node):
                missing.append(f"{module}.{name}")
    assert not missing, "public definitions without a docstring: " + ", ".join(missing)


@pytest.mark.parametrize("module", [m for m in _sources() if _is_public_module(m)])
def test_public_modules_declare_all(module):
    path, tree = _sources()[module]
    if path.name == "__init__.py" and not any(
        isinstance(n, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef)
        for n in tree.body
    ):
        return  # a package that only documents its layer exports nothing
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    assert names is not None, f"{module} has no __all__"
    absent = [n for n in names if not hasattr(mod, n)]
    assert not absent, f"{module}.__all__ names what it does not define: {absent}"


def test_tests_do_not_reach_into_private_kernel_modules():
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.startswith("kernels._") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "tests import kernels' private modules: " + ", ".join(offenders)


def test_the_checker_catches_an_upward_import(tmp_path):
    """The layer rule itself can fail: a flow module importing the report is refused."""
    tree = ast.parse("from analysis.report import build\n")
    fake = "analysis.flow.fake"
    _sources()[fake] = (tmp_path / "fake.py", tree)
    try:
        with pytest.raises(AssertionError, match="layer 2"):
            test_imports_go_down_the_layers(fake)
    finally:
        del _sources()[fake]


def test_public_names_of_the_design_import():
    """Every name in DESIGN.md's public API, and the short module names of `analysis`."""
    import kernels
    from analysis import gradients, lstm, tasks, train, verify

    for name in ("names", "get", "register", "make_activation", "Activation"):
        assert hasattr(kernels, name), f"kernels.{name}"
    assert callable(verify.verify_activation) and callable(verify.check_formula)
    for name in ("LSTMConfig", "LSTMParams", "init", "apply", "params_from_torch"):
        assert hasattr(lstm, name), f"lstm.{name}"
    for name in ("per_step_grad_norms", "fit_decay", "lyapunov_spectrum"):
        assert hasattr(gradients, name), f"gradients.{name}"
    assert hasattr(tasks, "make_task") or hasattr(tasks, "get")
    assert hasattr(train, "TrainConfig") and hasattr(train, "train")
    import analysis

    # the short names are attributes of the package, not module paths (no import hook)
    assert analysis.lstm is lstm and lstm.__name__ == "analysis.cells.lstm"
    for short in ("cells", "sweep", "decay", "formula"):
        assert getattr(analysis, short).__name__.startswith("analysis.")
