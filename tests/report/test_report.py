"""End-to-end: `actgrad report --preset tiny` writes a complete, consistent, loadable report.

The tiny preset keeps the run to seconds of compute; the numbers are meaningless, the
structure (every section, field, figure and reference) is what is checked.
"""

import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.report import claims, render
from analysis.report.model import from_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    # compiled programs go to a cache of this test's own, not the user's ~/.cache
    cache = tmp_path_factory.mktemp("jax_cache")
    env = {
        **os.environ,
        "ACTGRAD_PROGRESS": "0",
        "JAX_ENABLE_X64": "0",
        "ACTGRAD_JAX_CACHE": str(cache),
        # what `make report` does: cells and the gallery in two worker processes
        "ACTGRAD_PROCESSES": "2",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--preset", "tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(cache.iterdir()), "no compiled program was cached"
    return out


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.refs.append(a["src"])
        if tag == "a" and "href" in a:
            self.refs.append(a["href"])


def test_every_file_exists_and_every_reference_resolves(quick_report):
    for name in ("index.html", "report.md", "report.json"):
        assert (quick_report / name).stat().st_size > 0
    parser = _Refs()
    parser.feed((quick_report / "index.html").read_text())
    assert parser.refs, "the page references no figure"
    for ref in parser.refs:
        assert not re.match(r"[a-z]+://", ref), f"external reference {ref}"
        assert (quick_report / ref).is_file(), f"{ref} is referenced but missing"
    md_refs = re.findall(r"\]\(([^)]+)\)", (quick_report / "report.md").read_text())
    for ref in md_refs:
        assert (quick_report / ref).is_file(), f"report.md references missing {ref}"
    for png in quick_report.glob("*.png"):
        assert png.with_suffix(".svg").is_file(), f"{png.name} has no SVG twin"
    # every figure written is shown: each PNG in the folder is an <img> on the page
    shown = set(parser.refs)
    for png in quick_report.glob("*.png"):
        assert png.name in shown, f"{png.name} is written but not shown on the page"


def test_claims_table_has_a_row_per_seed_formula_and_flags_the_sigmoid_derivative(quick_report):
    data = json.loads((quick_report / "report.json").read_text())
    rows = {c["id"]: c for c in data["claims"]}
    for name in claims.SEED_FORMULAS:
        assert rows[f"{name}-f"]["verdict"] in (claims.HOLDS, claims.WRONG)
        assert f"{name}-df" in rows
    assert rows["sigmoid-df"]["verdict"] == claims.WRONG
    page = (quick_report / "index.html").read_text()
    # The page shows the derivative as written next to its verdict.
    seed_df = claims.SEED_FORMULAS["sigmoid"][1]
    i = page.index(seed_df.replace(">", "&gt;"))
    assert "wrong" in page[i : i + 400]


def _report(out):
    return from_json(json.loads((out / "report.json").read_text()))


def test_report_json_is_the_data_model_and_the_page_shows_its_numbers(quick_report):
    rep = _report(quick_report)
    cfg = rep.config
    page = (quick_report / "index.html").read_text()
    md = (quick_report / "report.md").read_text()
    assert rep.decay and rep.training and rep.comparisons and rep.families
    assert {r.variant for r in rep.decay} == set(cfg["decay_variants"])
    assert {r.forget_bias for r in rep.decay} == set(cfg["forget_biases"])
    for row in rep.decay:
        assert row.flow in ("vanishing", "stable", "growing", "exploding")
        assert row.seeds == cfg["decay_seeds"] == len(row.rates)
        assert row.rate.low <= row.rate.value <= row.rate.high
        shown = render.ci(row.half_life)
        assert shown in md and html.escape(shown, quote=False) in page, (row.variant, shown)
    for r in rep.training:
        assert r.solved.n == cfg["train_seeds"] and 0 <= r.solved.low <= r.solved.rate
        assert r.solved.rate <= r.solved.high <= 1
        assert render.prop(r.solved) in md, f"{r.variant} T={r.T} not on the page"
    trained = {(r.variant, r.T) for r in rep.training}
    first = min(cfg["train_lengths"])
    assert {(v, first) for v in cfg["length_variants"]} <= trained
    assert [r.variant for r in rep.lengths] == list(cfg["length_variants"])
    # every comparison of the table is on the page with its verdict
    for c in rep.comparisons:
        assert f"{c.a} against {c.b} ({c.setting})" in md and c.verdict in md
    assert rep.timings_s["total"] > 0 and rep.cost["seed_steps"] > 0


def test_flow_rows_come_from_the_per_seed_snapshots_stored_in_the_training_cells(quick_report):
    rep = _report(quick_report)
    lines = [json.loads(x) for x in (quick_report / "train" / "results.jsonl").read_text().split()]
    fields = {"step", "log_h", "rate", "half_life", "lyapunov_max", "max_abs_c"}
    for line in lines:
        for seed in line["result"]["per_seed"]:
            assert seed["flow_snapshots"], "a seed without snapshots"
            assert all(set(s) == fields for s in seed["flow_snapshots"])
            assert all(len(s["log_h"]) == line["config"]["length"] for s in seed["flow_snapshots"])
    assert rep.flow and all(len(r.steps) == len(r.half_life) for r in rep.flow)


def test_why_gating_shows_every_design_and_reuses_the_lstm_cells(quick_report):
    rep = _report(quick_report)
    cfg = rep.config
    md = (quick_report / "report.md").read_text()
    pairs = [(d, a) for d in cfg["gating_designs"] for a in cfg["gating_activations"]]
    assert [(r.design, r.activation) for r in rep.gating] == pairs
    assert "## Why gating?" in md and "](gating_decay.png)" in md
    for r in rep.gating:
        assert r.decay.T == cfg["gating_decay_length"] and r.train.T == cfg["gating_length"]
        assert r.decay.seeds == cfg["decay_seeds"] and r.train.solved.n == cfg["train_seeds"]
        assert render.prop(r.train.solved) in md
    # tiny: the LSTM tanh/tanh cell at T = 12 is the decay and training stages' own
    assert rep.gating_reused == {"decay": 1, "train": 1}
    stored = (quick_report / "gating_train" / "results.jsonl").read_text().splitlines()
    configs = [json.loads(x)["config"] for x in stored]
    assert len(configs) == len(pairs) - 1


def test_render_rewrites_the_same_pages_without_measuring(quick_report, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(quick_report / "report.json", copy / "report.json")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--render", str(copy)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTGRAD_PROGRESS": "0"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("report.md", "index.html"):
        assert (copy / name).read_text() == (quick_report / name).read_text()


def test_bad_arguments_exit_2_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["--quick", "--full"], ["--device", "tpu"], ["--out", str(blocker / "sub")]):
        proc = subprocess.run(
            [sys.executable, "-m", "analysis", "report", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "ACTGRAD_PROGRESS": "0"},
            timeout=120,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not Path(blocker / "sub").exists()
