"""End-to-end: `actgrad report --preset tiny` writes a complete, consistent, loadable report, and
its page shows every figure in a real browser.

The tiny preset keeps the run to seconds of compute; the numbers are meaningless, the
structure (every section, field, figure and reference) is what is checked.
"""

import html
import html.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.audit import claims
from analysis.report import render
from analysis.report.model import from_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_report(tiny_report):
    return Path(tiny_report)


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
    page = (quick_report / "index.html").read_text()
    for ref in parser.refs:
        if ref.startswith("#"):  # a link within the page: its anchor must exist
            assert f'id="{ref[1:]}"' in page, f"no anchor for {ref}"
            continue
        assert not re.match(r"[a-z]+://", ref), f"external reference {ref}"
        assert (quick_report / ref).is_file(), f"{ref} is referenced but missing"
    md_refs = re.findall(r"\]\(([^)#][^)]*)\)", (quick_report / "report.md").read_text())
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
    grid = [r for r in rep.decay if r.variant in cfg["decay_variants"]]
    assert {(r.variant, r.forget_bias) for r in grid} == {
        (v, fb) for v in cfg["decay_variants"] for fb in cfg["forget_biases"]
    }
    # the property set at the training forget bias, each row once
    extra = [r.variant for r in rep.decay if r.variant not in cfg["decay_variants"]]
    assert sorted(extra) == sorted(set(cfg["property_variants"]) - set(cfg["decay_variants"]))
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
    lines = [
        json.loads(x) for x in (quick_report / "train" / "results.jsonl").read_text().splitlines()
    ]
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
        assert r.search is not None and r.train.lr == r.search.chosen
    # tiny: the LSTM tanh/tanh cell at T = 12 is the decay and training stages' own (its
    # search, on the same seeds, chose the same rate)
    assert rep.gating_reused == {"decay": 1, "train": 1}
    stored = (quick_report / "gating" / "train" / "results.jsonl").read_text().splitlines()
    configs = [json.loads(x)["config"] for x in stored]
    assert len(configs) == len(pairs) - 1


def test_every_trained_cell_searched_its_rate_on_seeds_the_evaluation_never_uses(quick_report):
    rep = _report(quick_report)
    cfg = rep.config
    evaluation = set(range(cfg["train_seeds"]))
    for folder in ("tune", "gating/tune"):
        for line in (quick_report / folder / "results.jsonl").read_text().splitlines():
            rec = json.loads(line)
            assert not set(rec["seeds"]) & evaluation
            assert rec["config"]["lr_grid"] == cfg["lr_grid"]
            got = [(s["lr"], s["seed"]) for s in rec["result"]["per_seed"]]
            assert got == [(lr, s) for lr in cfg["lr_grid"] for s in rec["seeds"]]
    for folder in ("train", "gating/train"):
        for line in (quick_report / folder / "results.jsonl").read_text().splitlines():
            assert json.loads(line)["seeds"] == sorted(evaluation)
    searched = {r.variant: r for r in rep.tuning}
    assert set(searched) == {r.variant for r in rep.training}
    for r in rep.training:
        assert r.lr == searched[r.variant].chosen
        assert r.steps == max(cfg["train_min_steps"], cfg["train_steps_per_T"] * r.T)
    md = (quick_report / "report.md").read_text()
    assert "## Training on the adding problem, fairly" in md and "learning-rate search" in md


def test_remedies_train_each_swap_with_each_remedy_under_the_same_protocol(quick_report):
    import numpy as np

    from analysis.report import remedies, variants

    rep = _report(quick_report)
    cfg = rep.config
    assert rep.remedy_swaps[-len(cfg["remedy_variants"]) :] == tuple(cfg["remedy_variants"])
    want = [(v, m) for v in rep.remedy_swaps for m in cfg["remedies"]]
    assert [(r.variant, r.remedy) for r in rep.remedies] == want
    stored = (quick_report / "remedies" / "train" / "results.jsonl").read_text().splitlines()
    configs = [json.loads(x)["config"] for x in stored]  # in the order the cells finished
    base_lines = (quick_report / "train" / "results.jsonl").read_text().splitlines()

    def has(config, remedy):
        return all(
            (config["cell"]["name"] if k == "cell" else config.get(k, config["cell"].get(k))) == v
            for k, v in remedies.REMEDIES[remedy].items()
        )

    assert len(configs) == len(rep.remedies)
    for row in rep.remedies:
        # exactly one stored cell is this swap with this remedy's fields
        (config,) = [
            c
            for c in configs
            if variants.name_of(c) == row.variant and c["length"] == row.train.T
            if has(c, row.remedy)
        ]
        base = next(
            json.loads(x)["config"]
            for x in base_lines
            if variants.name_of(json.loads(x)["config"]) == row.variant
            and json.loads(x)["config"]["length"] == row.train.T
        )
        assert row.train.lr == row.search.chosen and row.search.lrs == tuple(cfg["lr_grid"])
        assert config["steps"] == base["steps"] == row.train.steps
        assert row.train.solved.n == cfg["train_seeds"]
        assert row.flow is not None and row.flow.steps[0] == 0
        # the conditioning before and after training, each the median over the seeds' own
        rec = next(
            json.loads(x)
            for x in stored
            if json.loads(x)["config"] == config and json.loads(x)["seeds"] == list(range(4))
        )
        for when, i in (("initial", 0), ("final", 1)):
            per = rec["result"]["conditioning"][when]
            assert len(per) == cfg["train_seeds"]
            for name in ("sigma_max", "sigma_min", "log10_condition"):
                want = float(np.median([seed[name] for seed in per]))
                assert row.conditioning[name][i] == pytest.approx(want)
        assert row.conditioning["sigma_max"][0] >= row.conditioning["sigma_min"][0] >= 0
        c = rep.remedy_comparison(row.variant, row.remedy, row.train.T)
        ref = rep.train_row(row.variant, row.train.T)
        assert c is not None and c.effect == row.train.solved.rate - ref.solved.rate
    assert "## What rescues a failing swap?" in (quick_report / "report.md").read_text()


def test_real_sequences_train_each_variant_on_the_data_with_its_own_search(quick_report):
    import numpy as np

    from analysis import data
    from analysis.report import realdata, variants

    rep = _report(quick_report)
    cfg = rep.config
    keys = [realdata.real_key(t, d) for t, d in cfg["real_tasks"]]
    assert rep.real_keys() == tuple(keys)
    for (task, delay), key in zip(cfg["real_tasks"], keys, strict=True):
        rows = rep.real_rows(key)
        assert [r.variant for r in rows] == list(cfg["real_variants"])
        T, _, _, _, n_test = data.shape(task, delay)
        stored = (quick_report / "real" / key / "train" / "results.jsonl").read_text()
        # the store holds the records in the order the cells finished
        records = [json.loads(line) for line in stored.splitlines()]
        by_variant = {variants.name_of(r["config"]): r for r in records}
        assert len(by_variant) == len(rows)
        for row in rows:
            rec = by_variant[row.variant]
            assert rec["config"]["task"] == task and rec["config"]["length"] == row.train.T == T
            assert rec["config"]["steps"] == cfg["real_steps"] and row.test_n == n_test
            assert (
                row.train.lr == row.search.chosen
                and rec["seeds"] == list(range(20))[: cfg["train_seeds"]]
            )
            per = [s["test_accuracy"] for s in rec["result"]["per_seed"]]
            assert row.accuracies == tuple(per)
            assert row.accuracy.value == pytest.approx(float(np.median(per)))
    assert "## On real sequences" in (quick_report / "report.md").read_text()


def test_the_literature_section_tabulates_each_reproduction_as_stored(quick_report):
    from analysis import reproduce

    rep = _report(quick_report)
    md = (quick_report / "report.md").read_text()
    assert [x.name for x in rep.literature] == list(rep.config["reproductions"])
    assert "## Does actgrad reproduce the literature?" in md
    for x in rep.literature:
        stored = json.loads((quick_report / "literature" / f"{x.name}.json").read_text())
        assert stored["preset"] == rep.config["reproduce_preset"] == x.preset
        assert len(x.rows) == len(stored["result"]["rows"]) > 0
        for row, raw in zip(x.rows, stored["result"]["rows"], strict=True):
            assert row.agrees == raw["agrees"] and row.published == raw["published_text"]
            assert f"| {x.name} | {row.where} |" in md
        assert (quick_report / f"{x.figure}.png").exists() and f"]({x.figure}.png)" in md
    agree, total = rep.literature_agreement()
    assert f"{agree} of the {total} published results" in md
    left = [n for n in reproduce.names() if n not in rep.config["reproductions"]]
    assert [n for n, _ in rep.literature_elsewhere] == left
    for name in left:
        assert f"`actgrad reproduce {name}`" in md


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


# The page as a reader sees it: index.html in headless Debian chromium through selenium (what
# .ci/run installs; never a downloaded browser or driver); skipped, saying what is missing.
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> str | None:
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found (apt-get install {package})"
    return None


BROWSER_MISSING = _missing()

# Every <img>: loaded, with a decoded size (a broken or missing file has naturalWidth 0).
_BROKEN_IMAGES = """
return Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.getAttribute('src'));
"""


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver's path given: selenium has nothing to look up or download
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.skipif(BROWSER_MISSING is not None, reason=BROWSER_MISSING or "")
def test_the_page_shows_every_figure_and_logs_no_error(browser, tiny_report, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    page = Path(tiny_report) / "index.html"
    assert page.is_file(), f"no {page}"
    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    n_images = browser.execute_script("return document.images.length")
    assert n_images > 0, "the page shows no figure"
    broken = browser.execute_script(_BROKEN_IMAGES)
    # the whole page in one screenshot, for a person to look at
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(int(height), 800), 16000))
    browser.save_screenshot(str(tmp_path / "index.png"))
    assert not broken, f"{len(broken)} of {n_images} images did not load: {broken}"
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, "\n".join(e["message"] for e in severe)
