"""`actgrad report --full` end to end at a reduced size: the full preset's protocol (every
trained variant at every length, the gate swaps trained, the both-slot and gate families) with
the tiny preset's sizes and a few variants of each kind."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from analysis.report import compare
from analysis.report.config import PRESETS
from analysis.report.model import from_json

pytestmark = pytest.mark.slow

# the tiny preset's sizes; the full preset's switches, with one variant of each kind
SIZES = [
    f.name
    for f in __import__("dataclasses").fields(PRESETS["tiny"])
    if f.name
    not in (
        "preset",
        "train_variants",
        "length_variants",
        "train_gates",
        "lr_grid",
        "flow_variants",
        "train_settings",
        "train_neighbours",
        "train_length",
        "remedy_lengths",
    )
]
VARIANTS = ("tanh/tanh", "relu/tanh", "tanh/identity", "hard_tanh/hard_tanh")
GATES = ("gate=tanh",)


def test_full_runs_end_to_end_at_a_reduced_size(tmp_path):
    full = PRESETS["full"]
    assert set(VARIANTS) <= set(full.train_variants) and set(GATES) <= set(full.train_gates)
    assert set(full.length_variants) == set(full.train_variants) | set(full.train_gates)
    assert len(full.lr_grid) >= 3 and full.train_settings
    out = tmp_path / "full"
    overrides = {k: getattr(PRESETS["tiny"], k) for k in SIZES}
    overrides |= {
        "train_variants": VARIANTS,
        "length_variants": VARIANTS + GATES,
        "train_gates": GATES,
        "flow_variants": (),
        "lr_grid": (0.01, 0.1),
        # nothing solves at these sizes: judge every length, so that every family forms
        "reference_passes": 0.0,
        # the 1997 task's shortest sequence is 20
        "train_length": 24,
        # the remedies at several lengths, as --full runs them
        "remedy_lengths": (6, 24),
        "remedy_variants": ("relu/tanh",),
        "remedies": ("clip_value",),
        # the tiny report runs the real sequences; here they would only repeat it
        "real_tasks": (),
    }
    script = textwrap.dedent(
        f"""
        from analysis.runtime import configure_xla
        configure_xla()
        from analysis.report.build import build, preset
        build(preset("full", **{overrides!r}), {str(out)!r})
        """
    )
    env = {
        **os.environ,
        "ACTGRAD_PROGRESS": "0",
        "ACTGRAD_JAX_CACHE": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = from_json(json.loads((out / "report.json").read_text()))
    assert rep.command == "actgrad report --full"
    trained = {(r.variant, r.T) for r in rep.training}
    lengths = PRESETS["tiny"].train_lengths
    # every variant, the gate swap included, at every length, each at its searched rate
    assert trained == {(v, t) for v in (*VARIANTS, *GATES) for t in lengths}
    chosen = {r.variant: r.chosen for r in rep.tuning}
    assert all(r.lr == chosen[r.variant] for r in rep.training)
    # the further settings: the same variants searched and trained again at the main length
    keys = [k for k, *_ in PRESETS["full"].train_settings]
    assert [st.key for st in rep.settings] == keys
    main = overrides["train_length"]
    for st in rep.settings:
        assert {(r.variant, r.T) for r in st.training} == {(v, main) for v in (*VARIANTS, *GATES)}
        assert {r.variant for r in st.tuning} == {v for v in (*VARIANTS, *GATES)}
        assert rep.train_comparison("relu/tanh", main, st.key) is not None
    # every variant also at the grid's neighbours of its chosen rate, each tested
    grid = sorted(overrides["lr_grid"])
    for v in (*VARIANTS, *GATES):
        near = [r.lr for r in rep.neighbour_rows(v)]
        assert near == [a for a in grid if a != chosen[v]]
        if v != "tanh/tanh":
            assert all(rep.neighbour_comparison(v, main, a) is not None for a in near)
    md = (out / "report.md").read_text()
    assert "**Other settings.**" in md and "**Does each verdict hold" in md
    assert "## What `--full` adds" not in md  # the page of a --full run does not offer it
    # each kind of swap sits in its own family, at every length
    for t in lengths:
        assert compare.reference_passes(rep.training, t, rep.config["reference_passes"])
        keys = {c.family for c in rep.comparisons if c.family.endswith(f"_T{t}")}
        assert {f"train_{s}_T{t}" for s in ("candidate", "output", "both", "gate")} <= keys
    # the remedies at every remedy length, each against its swap there
    for r in rep.remedies:
        assert rep.remedy_comparison(r.variant, r.remedy, r.train.T) is not None
    assert {r.train.T for r in rep.remedies} == set(overrides["remedy_lengths"])
