"""`actgrad report`: the seed question answered with measurements, in one page.

Runs, in order: kernel verification, the gradient-decay sweep over the LSTM variants in
`analysis.report.variants` at several forget biases, training on the adding problem across
sequence lengths with gradient-flow snapshots, "Why gating?" (`gating`: the tanh -> ReLU
swap in other cell designs, decay and training), kernel timings, the seed-claims audit and the
figures; then writes ``report.json`` (every number), ``report.md``, ``index.html`` and each
figure as PNG and SVG. Decay and training cells go through `analysis.experiments.sweep`, so
a rerun into the same directory resumes.

Modules: `config` (presets), `stages` (measuring), `rows` (numbers with intervals),
`classify` (the one gradient-flow vocabulary), `answer` (prose), `figures`, `page` and
`page_audit` (the page), `render` (Markdown and HTML); "Why gating?": `gating` (its cells
and stage), `gating_rows`, `gating_page`, `gating_plots`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from analysis._util.io import (
    atomic_write_json,
    atomic_write_text,
    ensure_writable_dir,
    run_metadata,
)
from analysis._util.progress import progress
from analysis.report import claims, stages
from analysis.report import rows as R
from analysis.report.config import PRESETS, STAGES, ReportConfig, preset
from analysis.report.gating import run_gating
from analysis.report.gating_rows import gating_rows

__all__ = ["PRESETS", "STAGES", "ReportConfig", "build", "preset", "training_cost"]

T = TypeVar("T")


def training_cost(records: Sequence[Mapping]) -> dict:
    """What training cost: cells, seed-steps, seconds, snapshot share.

    Formula: seed_steps = sum over cells and seeds of the steps done; snapshot_pct =
    100 * snapshot_s / train_s (snapshot time after each cell's first, compiling, call).

    Args:
        records: training sweep records.

    Returns:
        {"cells", "seed_steps", "train_s", "snapshot_s", "snapshot_first_s", "snapshot_pct",
        "seed_steps_per_s"} (seed_steps_per_s over train_s, compile included).
    """
    seed_steps = sum(len(s["loss"]) for r in records for s in r["result"]["per_seed"])
    train_s = sum(float(r["result"]["wall_s"]) for r in records)
    snap = sum(float(r["result"].get("snapshot_s") or 0.0) for r in records)
    first = sum(float(r["result"].get("snapshot_first_s") or 0.0) for r in records)
    return {
        "cells": len(records),
        "seed_steps": seed_steps,
        "train_s": train_s,
        "snapshot_s": snap,
        "snapshot_first_s": first,
        "snapshot_pct": 100 * snap / train_s if train_s > 0 else 0.0,
        "seed_steps_per_s": seed_steps / train_s if train_s > 0 else 0.0,
    }


def _measure(cfg: ReportConfig, out: Path, stage: Callable[[str, Callable[[], T]], T]) -> dict:
    verify_rows = stage("verify", lambda: stages.run_verify(cfg))
    decay_records = stage("decay", lambda: stages.run_decay(cfg, out))
    train_records = stage(
        "train", lambda: stages.run_training(cfg, out) if cfg.train_variants else []
    )
    gating = stage("gating", lambda: run_gating(cfg, out, decay_records, train_records))
    costs = stage("costs", lambda: stages.run_costs(cfg))
    return {
        "verify": verify_rows,
        "decay_records": decay_records,
        "train_records": train_records,
        "gating": gating,
        "costs": costs,
    }


def _summarise(cfg: ReportConfig, m: dict, meta: Mapping) -> dict:
    drows = R.decay_rows(m["decay_records"])
    trows = R.training_rows(m["train_records"])
    return {
        "verify": m["verify"],
        "decay": drows,
        "training": trows,
        "lengths": R.length_rows(trows, cfg.length_variants, sorted(cfg.train_lengths)),
        "flow": R.flow_rows(m["train_records"]),
        "gating": {
            "rows": gating_rows(cfg, m["gating"]),
            "reused": m["gating"]["reused"],
        },
        "costs": m["costs"],
        "cost": training_cost(m["train_records"]),
    }


def _write(out: Path, cfg: ReportConfig, meta: Mapping, data: dict, timings: dict) -> dict:
    from analysis.report.page import assemble, command
    from analysis.report.render import render_html, render_markdown

    rep = assemble(cfg, meta, {**data, "timings": timings})
    doc = {
        "config": dataclasses.asdict(cfg),
        "command": command(cfg),
        **meta,
        "timings_s": timings,
        **{k: v for k, v in data.items() if k != "claims"},
        "claims": [c._asdict() for c in data["claims"]],
        "page": rep,
    }
    atomic_write_json(out / "report.json", doc)
    atomic_write_text(out / "report.md", render_markdown(rep))
    atomic_write_text(out / "index.html", render_html(rep))
    return doc


def build(cfg: ReportConfig, out: str | Path) -> dict:
    """Run every stage and write the report into `out`.

    Args:
        cfg: the report's knobs (a preset, possibly with overrides).
        out: the report directory (created; reruns resume its stored sweep cells).

    Returns:
        report.json's content.
    """
    import jax

    from analysis.report.figures import write_figures

    out = ensure_writable_dir(out)
    meta = {**run_metadata(), "compile_cache": jax.config.jax_compilation_cache_dir}
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    with progress(total=len(STAGES), desc="report", unit="stage", leave=True) as bar:

        def stage(name: str, fn: Callable[[], T]) -> T:
            bar.set_description(f"report: {name}")
            t0 = time.perf_counter()
            result = fn()
            timings[name] = time.perf_counter() - t0
            bar.update()
            return result

        m = _measure(cfg, out, stage)
        data = _summarise(cfg, m, meta)
        data["gating"]["seconds"] = timings["gating"]
        evidence = claims.Evidence(
            decay=data["decay"],
            training=[r for r in data["training"] if r["T"] == cfg.train_length],
            costs=data["costs"],
            device=meta["device"],
        )
        data["claims"] = stage(
            "claims", lambda: claims.audit(evidence, claims.run_derivative_checks())
        )
        gating_figure = (data["gating"]["rows"], m["gating"]["decay"])
        data["figures"] = stage(
            "figures",
            lambda: write_figures(cfg, out, m["decay_records"], m["train_records"], gating_figure),
        )
        bar.set_description("report: write")
        timings["total"] = time.perf_counter() - t_all
        doc = _write(out, cfg, meta, data, timings)
        bar.update()
    return doc
