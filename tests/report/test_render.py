"""The page's sentences, checked in one golden rendering of a small fixed report; the data
model's round trip through report.json; --render re-renders without measuring."""

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from report_records import decay_record, train_record, tune_record

from analysis.checks.properties import Measured
from analysis.report import compare, render, summarise
from analysis.report.model import SCHEMA, Figure, PropertyRow, Report, from_json, to_json
from analysis.util.io import to_json as json_text

GOLDEN = Path(__file__).parent / "golden" / "page.md"
CONFIG = {
    "preset": "fixture",
    "forget_biases": [0.0, 1.0, 3.0],
    "train_forget_bias": 1.0,
    "train_length": 100,
    "train_lengths": [50, 100, 200],
    "train_steps_per_T": 15,
    "train_min_steps": 1000,
    "train_clip": 1.0,
    "lr_grid": [0.01, 0.1],
    "tune_seeds": 4,
    "reference_passes": 0.875,
    "train_batch": 16,
    "train_hidden": 32,
    "train_seeds": 16,
    "train_snapshots": 2,
    "decay_length": 2000,
    "decay_seeds": 8,
    "gating_activations": ["tanh", "relu"],
    "gating_decay_length": 2000,
    "gating_length": 50,
    "cost_repeats": 3,
    "cost_n": 1000,
    "property_variants": ["tanh(0.5z)/tanh"],
    "train_variants": ["tanh/tanh", "relu/tanh", "tanh/relu", "tanh/identity"],
    "train_gates": [],
    "decay_variants": ["tanh/tanh", "relu/tanh", "relu/relu"],
}


def fixed_report() -> Report:
    ref = [-0.03 - 0.001 * i for i in range(8)]
    fast = [-0.15 - 0.001 * i for i in range(8)]
    decay = summarise.decay_rows(
        [
            decay_record("tanh/tanh", [-0.3 - 0.01 * i for i in range(8)], forget_bias=0.0),
            decay_record("tanh/tanh", ref),
            decay_record("relu/tanh", fast),
            decay_record("relu/relu", [0.2] * 8, forget_bias=3.0, non_finite=6),
        ]
    )
    # the property variant's record: its kernel is a formula, named through the catalogue
    half = summarise.decay_row(decay_record("tanh/tanh", [-0.06 - 0.001 * i for i in range(8)]))
    decay = (*decay[:4], dataclasses.replace(half, variant="tanh(0.5z)/tanh"))
    training = summarise.training_rows(
        [
            train_record("tanh/tanh", 100, 16, n=16, lr=0.1),
            train_record("relu/tanh", 100, 5, n=16),
            train_record("tanh/relu", 100, 0, n=16),
            train_record("tanh/identity", 100, 15, n=16),
            train_record("tanh/tanh", 50, 16, n=16, lr=0.1),
            train_record("tanh/tanh", 200, 2, n=16, lr=0.1),
        ]
    )
    tuning = summarise.rate_rows(
        [
            tune_record("tanh/tanh", 100, {0.01: 2, 0.1: 4}),
            tune_record("relu/tanh", 100, {0.01: 1, 0.1: 0}),
            tune_record("tanh/relu", 100, {0.01: 0, 0.1: 0}),
            tune_record("tanh/identity", 100, {0.01: 3, 0.1: 1}),
        ]
    )
    flow = summarise.flow_rows([train_record("tanh/tanh", 100, 8)])
    families = [
        ("decay_bf0", 0.0, ("tanh/tanh",)),
        ("decay_bf1", 1.0, ("tanh/tanh", "relu/tanh")),
        ("decay_bf3", 3.0, ("tanh/tanh", "relu/relu")),
        ("property_candidate", 1.0, ("tanh(0.5z)/tanh",)),
    ]
    comps, fams = compare.compare_all(decay, training, (), 100, families)
    properties = (
        PropertyRow(
            "tanh", "tanh", Measured("tanh", 1.0, True, 0.0, 0.0, True, 1.0, 1.0, 0.7698), ()
        ),
        PropertyRow(
            "tanh(0.5z)",
            "formula:tanh(z/2)",
            Measured("formula:tanh(z/2)", 1.0, True, 0.0, 0.0, True, 0.5, 0.5, 0.1925),
            ("slope", "curvature"),
        ),
        PropertyRow(
            "relu",
            "relu",
            Measured("relu", math.inf, False, 0.0, 0.399, False, 0.0, 1.0, 0.0),
            ("bounded", "centred", "slope", "curvature"),
        ),
        PropertyRow(
            "identity",
            "identity",
            Measured("identity", math.inf, False, 0.0, 0.0, True, 1.0, 1.0, 0.0),
            ("bounded", "curvature"),
        ),
    )
    return Report(
        schema=SCHEMA,
        command="actgrad report --preset fixture",
        config=CONFIG,
        meta={"device": "cpu: a test machine", "versions": {"jax": "0.0"}},
        timings_s={"decay": 1.5, "total": 120.0},
        cost={
            "seed_steps": 1000,
            "train_s": 10.0,
            "seq_steps_per_s": 5000.0,
            "full_estimate_s": 7200.0,
            "full_longest": 400,
            "full_reproduce_s": 279.0,
        },
        decay=decay,
        training=training,
        tuning=tuning,
        neighbours=(),
        settings=(),
        lengths=summarise.length_rows(training, ["tanh/tanh"], [50, 100, 200]),
        flow=flow,
        gating=(),
        gating_reused={"decay": 0, "train": 0},
        properties=properties,
        comparisons=comps,
        families=fams,
        findings=compare.slot_findings(comps, properties),
        claims=(),  # the claims template has its own golden rendering
        costs={"tanh": {"forward_s": 1e-4, "fwd_bwd_s": 2e-4, "ns_per_element_fwd_bwd": 2.0}},
        verify=(
            {
                "kernel": "tanh",
                "passed": True,
                "checks": 30,
                "failures": 0,
                "worst_check": "f'' vs float64",
                "worst_rel_err": 3.5e-7,
            },
        ),
        figures=(
            Figure("lengths", "lengths", {}),
            Figure("decay_bf1", "decay", {"forget_bias": 1.0}),
            Figure("train", "train", {"T": 100}),
        ),
        reproduce=("actgrad report --preset fixture --out report",),
    )


def test_the_fixed_report_renders_as_the_golden_page():
    page = render.render_markdown(fixed_report())
    if os.environ.get("ACTGRAD_UPDATE_GOLDEN"):  # after a deliberate template change
        GOLDEN.write_text(page)
    assert page == GOLDEN.read_text(), "the page changed: review, then ACTGRAD_UPDATE_GOLDEN=1"


def test_the_answer_is_short_and_corrects_the_premise_first():
    page = render.render_markdown(fixed_report())
    answer = page.split("## The answer", 1)[1].split("\n## ", 1)[0]
    prose = answer.split("\n![", 1)[0]  # the figure and its caption are not the answer
    assert len(prose.split()) <= 250
    first = answer.strip().split(". ")[0]
    assert "gates" in first and "sigmoid" in first and "candidate" in first


def test_verdict_words_come_from_the_comparisons():
    rep = fixed_report()
    page = render.render_markdown(rep)
    out = rep.comparison("train_output_T100", "tanh/relu", "tanh/tanh")
    assert out.verdict == "lower"
    assert f"fewer seeds solved (adjusted p = {render.pval(out.p_adjusted)})" in page
    noaf = rep.comparison("train_output_T100", "tanh/identity", "tanh/tanh")
    assert f"not distinguishable (adjusted p = {render.pval(noaf.p_adjusted)})" in page
    # the finding is read from those verdicts: ReLU hurt, the identity did not
    found = rep.finding("output", 100)
    assert found.hurt == ("tanh/relu",) and found.unchanged == ("tanh/identity",)
    assert found.separating == ("centred", "slope")
    assert "differ from tanh in zero-centring and the slope at 0" in page


def test_report_json_round_trips_to_the_same_page():
    rep = fixed_report()
    back = from_json(json.loads(json_text(to_json(rep))))
    assert render.render_markdown(back) == render.render_markdown(rep)
    assert back.decay[0].half_life.method == rep.decay[0].half_life.method


def test_another_schema_is_refused_with_one_line():
    data = json.loads(json_text(to_json(fixed_report())))
    data["schema"] = 1
    with pytest.raises(ValueError, match="schema 1"):
        from_json(data)
    data["schema"] = SCHEMA
    del data["decay"][0]["rate"]
    with pytest.raises(ValueError, match=f"does not hold a schema {SCHEMA} report"):
        from_json(data)


@pytest.mark.parametrize(
    ("x", "text"),
    [(24.81, "24.8"), (float("inf"), "∞"), (float("nan"), "n/a"), (1.2e17, "1.2e+17")],
)
def test_one_number_formatter(x, text):
    assert render.num(x) == text


def _run_render(path):
    env = {**os.environ, "ACTGRAD_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "analysis", "report", "--render", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_render_rewrites_the_pages_from_report_json_and_refuses_a_missing_one(tmp_path):
    (tmp_path / "report.json").write_text(json_text(to_json(fixed_report())))
    proc = _run_render(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.md").read_text() == render.render_markdown(fixed_report())
    html = (tmp_path / "index.html").read_text()
    assert "<table>" in html and 'src="lengths.png"' in html and "<details>" in html
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _run_render(empty)
    assert proc.returncode == 2 and "no report.json" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
