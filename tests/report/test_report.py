"""End-to-end: `actgrad report --preset tiny` writes a complete, consistent, loadable report.

The tiny preset keeps the run to seconds of compute; the numbers are meaningless, the
structure (every section, field, figure and reference) is what is checked.
"""

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.report import claims

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


def test_report_json_holds_the_decay_rates_shown_on_the_page(quick_report):
    data = json.loads((quick_report / "report.json").read_text())
    page = (quick_report / "index.html").read_text()
    md = (quick_report / "report.md").read_text()
    assert data["decay"], "no decay rows"
    for row in data["decay"]:
        shown = f"{row['rate']:+.4f}"
        assert shown in page and shown in md, f"rate {shown} of {row['variant']} not shown"
    variants = {r["variant"] for r in data["decay"]}
    assert {"tanh/tanh", "relu/relu"} <= variants
    assert {r["forget_bias"] for r in data["decay"]} == {0.0, 1.0, 3.0}
    assert data["training"], "no training rows"
    for key in ("versions", "device", "config", "timings_s", "cost"):
        assert key in data


def test_report_reads_seeds_intervals_lengths_and_flow_snapshots(quick_report):
    data = json.loads((quick_report / "report.json").read_text())
    cfg = data["config"]
    page = (quick_report / "index.html").read_text()
    assert "In one minute" in page and page.count("Gradient flow classes") == 1
    for r in data["decay"]:
        assert r["flow"] in ("vanishing", "stable", "growing", "exploding")
        est, lo, hi = (float(v) for v in r["half_life_ci"])  # JSON keeps inf as "inf"
        assert lo <= est <= hi and r["seeds"] == cfg["decay_seeds"]
    for r in data["training"]:
        assert r["n"] == cfg["train_seeds"]
        k_over_n, lo, hi = r["solve_rate_ci"]
        assert k_over_n == r["solved"] / r["n"] and 0 <= lo <= k_over_n <= hi <= 1
        shown = f"{r['solved']}/{r['n']} [{lo:.2f}, {hi:.2f}]"
        assert shown in page, f"{r['variant']} T={r['T']}: {shown} not on the page"
    trained = {(r["variant"], r["T"]) for r in data["training"]}
    first = min(cfg["train_lengths"])
    assert {(v, first) for v in cfg["length_variants"]} <= trained
    assert [r["variant"] for r in data["lengths"]] == cfg["length_variants"]
    # the flow rows come from per-seed flow_snapshots stored in the training cells
    train_dir = quick_report / "train" / "results.jsonl"
    lines = [json.loads(x) for x in train_dir.read_text().splitlines()]
    fields = {"step", "log_h", "rate", "half_life", "lyapunov_max", "max_abs_c"}
    for line in lines:
        for seed in line["result"]["per_seed"]:
            assert seed["flow_snapshots"], "a seed without snapshots"
            assert all(set(s) == fields for s in seed["flow_snapshots"])
            assert all(len(s["log_h"]) == line["config"]["length"] for s in seed["flow_snapshots"])
    assert data["flow"] and all(len(r["steps"]) == len(r["half_life"]) for r in data["flow"])


def test_why_gating_section_shows_every_design_and_reuses_the_lstm_cells(quick_report):
    data = json.loads((quick_report / "report.json").read_text())
    cfg, gating = data["config"], data["gating"]
    page = (quick_report / "index.html").read_text()
    pairs = [(d, a) for d in cfg["gating_designs"] for a in cfg["gating_activations"]]
    assert [(r["design"], r["activation"]) for r in gating["rows"]] == pairs
    assert "Why gating?" in page and 'src="gating_decay.png"' in page
    for r in gating["rows"]:
        assert r["flow"] in ("vanishing", "stable", "growing", "exploding")
        est, lo, hi = (float(v) for v in r["half_life_ci"])
        assert lo <= est <= hi and r["decay_seeds"] == cfg["decay_seeds"]
        assert r["T_decay"] == cfg["gating_decay_length"] and r["T"] == cfg["gating_length"]
        assert r["n"] == cfg["train_seeds"]
        _, lo, hi = r["solve_rate_ci"]
        assert f"{r['solved']}/{r['n']} [{lo:.2f}, {hi:.2f}]" in page
        assert f"{r['rate']:+.4f}" in page
    # tiny: the LSTM tanh/tanh cell at T = 12 is the decay and training stages' own
    assert gating["reused"] == {"decay": 1, "train": 1}
    stored = (quick_report / "gating_train" / "results.jsonl").read_text().splitlines()
    configs = [json.loads(x)["config"] for x in stored]
    assert len(configs) == len(pairs) - 1
    assert not any(
        c.get("cell", "lstm") == "lstm" and (c["candidate"], c["output"]) == ("tanh", "tanh")
        for c in configs
    )
    assert data["timings_s"]["gating"] > 0 and "stage took" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_page_renders_in_headless_chromium_with_no_failed_resource(quick_report, tmp_path):
    # A copy of the page with a probe that lists every image that failed to load.
    probe = (
        "<script>window.addEventListener('load',()=>{const bad=[...document.images]"
        ".filter(i=>!(i.complete&&i.naturalWidth>0)).map(i=>i.getAttribute('src'));"
        "document.body.setAttribute('data-images',document.images.length);"
        "document.body.setAttribute('data-failed',bad.join(','));});</script>"
    )
    page = (quick_report / "index.html").read_text().replace("</body>", probe + "</body>")
    probe_page = quick_report / "_probe.html"
    probe_page.write_text(page)
    try:
        proc = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe_page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe_page.unlink()
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'data-images="(\d+)" data-failed="([^"]*)"', proc.stdout)
    assert m, "the probe did not run: " + proc.stdout[:500]
    assert int(m.group(1)) > 10
    assert m.group(2) == "", f"images that failed to load: {m.group(2)}"


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
