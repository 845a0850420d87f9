"""examples/*.ipynb run top to bottom in a fresh Jupyter kernel, as a user runs them, and their
figures show inline; the stored notebooks hold no outputs. Never skipped: nbclient, ipykernel,
torch and flax come from the ``notebooks`` extra that ``make test`` installs."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_three_examples_are_stored_without_outputs():
    assert [p.stem for p in NOTEBOOKS] == ["flax_cells", "formula_activation", "torch_lstm"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert all(not c.outputs and c.execution_count is None for c in code_cells(nb)), path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    # the kernel inherits this process's environment (this checkout first on the path)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # CellExecutionError, with the cell and its traceback, if one fails
    cells = code_cells(nb)
    assert all(c.execution_count for c in cells)
    shown = [c for c in cells if c.source.rstrip().endswith(".figure")]
    assert shown, "each example ends some cells with a figure"
    for c in shown:
        assert any("image/png" in o.get("data", {}) for o in c.outputs), c.source
