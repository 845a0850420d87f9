"""The documentation site builds offline with warnings as errors (``mkdocs build --strict``,
what ``make docs`` runs), with a page per README section, per example and per public module."""

import os
import re
import subprocess
import sys
from pathlib import Path

import analysis

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strict_with_every_page(tmp_path):
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    for short in ["kernels", *analysis.PUBLIC_MODULES]:
        assert (site / "api" / short / "index.html").is_file(), short
    for nb in (ROOT / "examples").glob("*.ipynb"):
        page = (site / "examples" / nb.stem / "index.html").read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", "", page)  # the code's highlighting spans removed
        assert "plot.decay(" in text and "import" in text, nb.stem
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = [line[3:] for line in readme.splitlines() if line.startswith("## ")]
    guide = sorted(p.name for p in (site / "guide").iterdir())
    assert len(guide) == len(sections) - 1  # "Quick start" is on the home page
    # the reference is rendered from the docstrings: plot.decay's own words are on its page
    plot_page = (site / "api" / "plot" / "index.html").read_text(encoding="utf-8")
    assert "half-life in the legend" in plot_page
