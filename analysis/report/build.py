"""`actgrad report`: measure, summarise into one `Report`, compare, write, render.

Runs, in order: kernel verification, the gradient-decay sweep over the LSTM variants in
`variants` at several forget biases, training on the adding problem across lengths with
gradient-flow snapshots, "Why gating?" (`gating`), kernel timings, the seed-claims audit and
the figures. The numbers become one `model.Report` (`summarise`, `compare`), saved as
``report.json``; `render` turns it into ``report.md`` and ``index.html``. `render_dir`
re-renders a stored report.json without measuring. Decay and training cells go through
`analysis.experiments.sweep`, so a rerun into the same directory resumes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from analysis.audit import claims
from analysis.report import compare, gating, realdata, remedies, stages, summarise, variants
from analysis.report.config import PRESETS, STAGES, ReportConfig, preset
from analysis.report.model import (
    SCHEMA,
    Comparison,
    Family,
    PropertyRow,
    Report,
    SettingRows,
    from_json,
    to_json,
)
from analysis.util.constants import DEFAULT_COMPILE_WORKERS
from analysis.util.io import (
    atomic_write_json,
    atomic_write_text,
    ensure_writable_dir,
    run_metadata,
)
from analysis.util.progress import progress

__all__ = [
    "PRESETS",
    "STAGES",
    "ReportConfig",
    "build",
    "check",
    "command",
    "decay_families",
    "planned_seq_steps",
    "preset",
    "property_rows",
    "render_dir",
    "reproduce_commands",
    "slope_tests",
    "training_cost",
    "write_pages",
]

T = TypeVar("T")


def command(cfg: ReportConfig) -> str:
    """The command that makes this report, e.g. "actgrad report --quick"."""
    if cfg.preset == "default":
        return "actgrad report"
    if cfg.preset in ("quick", "full"):
        return f"actgrad report --{cfg.preset}"
    return f"actgrad report --preset {cfg.preset}"


def _variant_flags(name: str) -> str:
    v = variants.get(name)
    gate = f"--gate {shlex.quote(v.gate)} " if v.gate != "sigmoid" else ""
    return f"{gate}--candidate {shlex.quote(v.candidate)} --output {shlex.quote(v.output)}"


def reproduce_commands(
    cfg: ReportConfig, rates: Mapping[str, float], gating_rates: Sequence[float] = ()
) -> tuple[str, ...]:
    """Shell lines that reproduce every number: the report (which searches each learning
    rate), then each decay sweep and each training cell at the rate its search chose.

    Args:
        cfg: the report; rates: variant -> chosen learning rate; gating_rates: each "Why
            gating?" (design, activation)'s, in `gating.train_cells` order.
    """
    lines = [f"{command(cfg)} --out report", ""]
    fbs = ",".join(f"{fb:g}" for fb in cfg.forget_biases)
    for v in cfg.decay_variants:
        lines.append(
            f"actgrad decay {_variant_flags(v)} --length {cfg.decay_length} --hidden "
            f"{cfg.decay_hidden} --batch {cfg.decay_batch} --seeds {cfg.decay_seeds} "
            f"--lyapunov-k {cfg.lyapunov_k} --compare forget_bias={fbs}"
        )
    lines.append("")
    common = (
        f"--batch {cfg.train_batch} --hidden {cfg.train_hidden} --clip {cfg.train_clip:g} "
        f"--forget-bias {cfg.train_forget_bias:g} --eval-every {cfg.train_eval_every} "
        f"--test-batch {cfg.train_test_batch} --seeds {cfg.train_seeds} --stop-when-solved"
    )
    for v in cfg.trained():
        if v not in rates:
            continue
        lengths = sorted(cfg.train_lengths) if v in cfg.length_variants else [cfg.train_length]
        for t in lengths:
            snaps = cfg.train_snapshots if v in cfg.flow_variants else 0
            lines.append(
                f"actgrad train --task adding --length {t} {_variant_flags(v)} --lr "
                f"{rates[v]!r} --steps {cfg.steps_at(t)} {common} --snapshots {snaps}"
            )
    if cfg.gating_designs and gating_rates:
        lines += ["", *gating.commands(cfg, gating_rates)]
    lines += [
        "",
        "actgrad verify",
        "actgrad check-formula --f '1/(1+exp(-z))' --df '-exp(-z) / 1 + exp(-z)^2'",
    ]
    return tuple(lines)


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
    seq_steps = sum(
        len(s["loss"]) * int(r["config"]["length"])
        for r in records
        for s in r["result"]["per_seed"]
    )
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
        "seq_steps_per_s": seq_steps / train_s if train_s > 0 else 0.0,
    }


def planned_seq_steps(cfg: ReportConfig) -> int:
    """The most training work a report can do, in sequence-steps (models x steps x T): every
    search and evaluation run to its whole budget, the "Why gating?" cells included.

    Args:
        cfg: the report.

    Returns:
        the count (what `--full`'s time estimate divides by a run's measured speed).
    """
    search = cfg.tune_seeds * len(cfg.lr_grid)
    total = 0
    for v in cfg.trained():
        lengths = cfg.train_lengths if v in cfg.length_variants else (cfg.train_length,)
        total += search * cfg.steps_at(cfg.train_length) * cfg.train_length
        total += sum(cfg.train_seeds * cfg.steps_at(t) * t for t in lengths)
        if cfg.train_neighbours:  # at most two neighbours of the chosen rate
            total += 2 * cfg.train_seeds * cfg.steps_at(cfg.train_length) * cfg.train_length
    per_setting = (search + cfg.train_seeds) * cfg.steps_at(cfg.train_length) * cfg.train_length
    total += len(cfg.train_settings) * len(cfg.trained()) * per_setting
    cells = len(cfg.gating_designs) * len(cfg.gating_activations)
    gating_t = cfg.gating_length
    total += cells * (search + cfg.train_seeds) * cfg.steps_at(gating_t) * gating_t
    return total + _remedy_seq_steps(cfg) + _real_seq_steps(cfg)


def _remedy_seq_steps(cfg: ReportConfig) -> int:
    """The remedies' share of `planned_seq_steps`: each remedy on the named swaps and on one
    failing swap (as many as the default report finds), searched at the main length, then
    trained at each remedy length (flossing's own steps not counted)."""
    if not cfg.remedies:
        return 0
    search = cfg.tune_seeds * len(cfg.lr_grid) * cfg.steps_at(cfg.train_length) * cfg.train_length
    lengths = cfg.remedy_lengths or (cfg.train_length,)
    runs = sum(cfg.train_seeds * cfg.steps_at(t) * t for t in lengths)
    return (len(cfg.remedy_variants) + 1) * len(cfg.remedies) * (search + runs)


def _real_seq_steps(cfg: ReportConfig) -> int:
    """The real sequences' share of `planned_seq_steps`."""
    from analysis import data

    models = (cfg.tune_seeds * len(cfg.lr_grid) + cfg.train_seeds) * len(cfg.real_variants)
    lengths = sum(data.shape(task, delay)[0] for task, delay in cfg.real_tasks)
    return models * cfg.real_steps * lengths


def _measure(cfg: ReportConfig, out: Path, stage: Callable[[str, Callable[[], T]], T]) -> dict:
    verify_rows = stage("verify", lambda: stages.run_verify(cfg))
    decay_records = stage("decay", lambda: stages.run_decay(cfg, out))
    trained = stage("train", lambda: stages.run_training(cfg, out))
    train_records = trained["train"]
    remedied = stage("remedies", lambda: remedies.run_remedies(cfg, out, train_records))
    real = stage("real", lambda: realdata.run_real(cfg, out))
    gated = stage("gating", lambda: gating.run_gating(cfg, out, decay_records, train_records))
    literature = stage("literature", lambda: stages.run_literature(cfg, out))
    costs = stage("costs", lambda: stages.run_costs(cfg))
    props = stage("properties", lambda: property_rows(cfg))
    return {
        "properties": props,
        "verify": verify_rows,
        "decay_records": decay_records,
        "train_records": train_records,
        "tune_records": trained["tune"],
        "settings": trained["settings"],
        "neighbours": trained["neighbours"],
        "gating": gated,
        "literature": literature,
        "remedies": remedied,
        "real": real,
        "costs": costs,
    }


def decay_families(cfg: ReportConfig) -> list[tuple[str, float, tuple[str, ...]]]:
    """The decay-rate questions the page asks, declared before anything is measured: at each
    forget bias, does a swap of the grid change the rate; at the training forget bias, does one
    property changed in the candidate slot, in the output slot, or a swapped gate."""
    fb = cfg.train_forget_bias
    new = [v for v in cfg.property_variants if v not in cfg.decay_variants]
    slot = {v: variants.get(v) for v in new}
    return [
        *((f"decay_bf{b:g}", b, tuple(cfg.decay_variants)) for b in cfg.forget_biases),
        (
            "property_candidate",
            fb,
            tuple(v for v in new if slot[v].gate == "sigmoid" and slot[v].output == "tanh"),
        ),
        (
            "property_output",
            fb,
            tuple(v for v in new if slot[v].gate == "sigmoid" and slot[v].candidate == "tanh"),
        ),
        ("gate", fb, tuple(v for v in new if slot[v].gate != "sigmoid")),
    ]


def slope_tests(
    cfg: ReportConfig, rows: Sequence[PropertyRow]
) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """Per slot, each property-set variant with the mean of its activation's one-sided slopes
    at 0 (tanh itself included as the standard LSTM): the inputs of `compare`'s slope test."""
    slope = {r.label: (r.measured.slope_left + r.measured.slope_right) / 2 for r in rows}
    out = []
    for slot in ("candidate", "output"):
        pairs = [("tanh/tanh", slope["tanh"])] if "tanh" in slope else []
        for v in cfg.property_variants:
            var = variants.get(v)
            kernel = var.candidate if slot == "candidate" else var.output
            other = var.output if slot == "candidate" else var.candidate
            label = next((r.label for r in rows if r.kernel == kernel), None)
            if var.gate == "sigmoid" and other == "tanh" and label not in (None, "tanh"):
                pairs.append((v, slope[label]))
        out.append((slot, cfg.train_forget_bias, pairs))
    return out


def property_rows(cfg: ReportConfig) -> tuple[PropertyRow, ...]:
    """The property set's members that the report's property variants use, measured."""
    from analysis.checks import properties

    used = {
        label
        for label, (kernel, _) in properties.PROPERTY_SET.items()
        for v in cfg.property_variants
        if kernel in (variants.get(v).candidate, variants.get(v).output)
    }
    tanh = properties.measure("tanh")
    rows = []
    for label, (kernel, _) in properties.PROPERTY_SET.items():
        if label != "tanh" and label not in used:
            continue
        m = tanh if label == "tanh" else properties.measure(kernel)
        rows.append(PropertyRow(label, kernel, m, properties.differs_from(m, tanh)))
    return tuple(rows)


def _gating_pairs(cfg: ReportConfig) -> list[tuple[Any, str]]:
    return [(gating.design(n), a) for n in cfg.gating_designs for a in cfg.gating_activations]


def _setting_rows(cfg: ReportConfig, measured: Mapping[str, Any]) -> tuple[SettingRows, ...]:
    """The rows of each further training setting, from its search and training records."""
    return tuple(
        SettingRows(
            key,
            task,
            float(fb),
            init,
            summarise.training_rows(measured[key]["train"]),
            summarise.rate_rows(measured[key]["tune"]),
        )
        for key, task, fb, init in cfg.train_settings
    )


def _cost(m: Mapping[str, Any]) -> dict:
    """`training_cost` of every evaluation run, with the --full estimate at this run's speed."""
    cost = training_cost([*m["train_records"], *m["neighbours"], *m["gating"].get("train", [])])
    full = PRESETS["full"]
    speed = cost["seq_steps_per_s"]
    cost["full_planned_seq_steps"] = planned_seq_steps(full)
    cost["full_longest"] = max(full.train_lengths)
    cost["full_reproduce_s"] = _reproduce_s(full)
    # 2 workers train two cells at once: the wall time is about half the summed cell time
    cost["full_estimate_s"] = (
        planned_seq_steps(full) / speed / DEFAULT_COMPILE_WORKERS if speed > 0 else math.nan
    )
    return cost


def summarise_run(
    cfg: ReportConfig,
    m: Mapping[str, Any],
    meta: Mapping[str, Any],
    timings: Mapping[str, float],
) -> Report:
    """The Report of one run from what `_measure` returned, comparisons included; its claims
    and figures are empty until `build` adds them (`dataclasses.replace`).

    Args:
        cfg: the report's knobs; m: the measurements; meta: `run_metadata()`;
        timings: stage -> seconds (the dict `build` keeps filling).
    """
    rows = {
        "decay": summarise.decay_rows(m["decay_records"]),
        "training": summarise.training_rows(m["train_records"]),
        "tuning": summarise.rate_rows(m["tune_records"]),
        "neighbours": summarise.training_rows(m["neighbours"]),
        "gating": summarise.gating_rows(_gating_pairs(cfg), m["gating"]),
        "settings": _setting_rows(cfg, m["settings"]),
        "remedies": remedies.remedy_rows(m["remedies"]),
        "real": realdata.real_rows(m["real"]),
    }
    comparisons, families = _comparisons(cfg, m, rows)
    gated_rates = [g.search.chosen for g in rows["gating"] if g.search is not None]
    chosen = {r.variant: r.chosen for r in rows["tuning"]}
    return Report(
        schema=SCHEMA,
        command=command(cfg),
        config=dataclasses.asdict(cfg),
        meta=dict(meta),
        timings_s=timings,
        cost=_cost(m),
        lengths=summarise.length_rows(rows["training"], cfg.length_variants, cfg.train_lengths),
        flow=summarise.flow_rows(m["train_records"]),
        gating_reused=dict(m["gating"].get("reused") or {"decay": 0, "train": 0}),
        properties=m["properties"],
        comparisons=comparisons,
        families=families,
        findings=compare.slot_findings(comparisons, m["properties"]),
        claims=(),
        costs=dict(m["costs"]),
        verify=tuple(m["verify"]),
        figures=(),
        reproduce=reproduce_commands(cfg, chosen, gated_rates),
        literature=tuple(summarise.reproduced(r, r["figure"]) for r in m["literature"]),
        literature_elsewhere=_elsewhere(cfg),
        remedy_swaps=tuple(m["remedies"]["swaps"]),
        remedies_elsewhere=tuple(x for x in PRESETS["full"].remedies if x not in cfg.remedies),
        **rows,
    )


def _reproduce_s(cfg: ReportConfig) -> float:
    """The seconds `cfg`'s reproductions take alone on a 2-core CPU (the catalogue's
    measured times for its preset)."""
    from analysis import reproduce

    times = {r.name: r for r in reproduce.REPRODUCTIONS}
    if cfg.reproduce_preset == "report":
        return sum(times[n].report_s for n in cfg.reproductions)
    column = 1 if cfg.reproduce_preset == "full" else 0
    return sum(times[n].expected_s[column] for n in cfg.reproductions)


def _elsewhere(cfg: ReportConfig) -> tuple[tuple[str, float], ...]:
    """The reproductions this run leaves out, each with its default setting's seconds."""
    from analysis import reproduce

    return tuple(
        (r.name, r.expected_s[0])
        for r in reproduce.REPRODUCTIONS
        if r.name not in cfg.reproductions
    )


def _comparisons(
    cfg: ReportConfig, m: Mapping[str, Any], rows: Mapping[str, Any]
) -> tuple[tuple[Comparison, ...], tuple[Family, ...]]:
    """Every comparison of the page (`compare.compare_all`) from the run's rows."""
    decay, training, gated = rows["decay"], rows["training"], rows["gating"]
    return compare.compare_all(
        decay,
        training,
        gated,
        cfg.train_length,
        decay_families(cfg),
        slope_tests(cfg, m["properties"]),
        summarise.init_vs_training(decay, training, gated, cfg.train_forget_bias, cfg.train_length),
        cfg.reference_passes,
        [(st.key, st.training) for st in rows["settings"]],
        rows["neighbours"],
        rows["remedies"],
        rows["real"],
    )


def write_pages(out: Path, report: Report) -> None:
    """report.md and index.html from a Report (atomically; report.json untouched)."""
    from analysis.report.render import render_html, render_markdown

    md = render_markdown(report)
    atomic_write_text(out / "report.md", md)
    atomic_write_text(out / "index.html", render_html(report, md))


def render_dir(out: str | Path) -> Report:
    """Re-render report.md and index.html from `out`/report.json, measuring nothing.

    Args:
        out: a report directory written by `build` (after a template edit, or a stored
            `--full` run).

    Returns:
        the Report read; ValueError when report.json is missing, unreadable or of another
        schema.
    """
    out = Path(out)
    path = out / "report.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"--render {out}: no report.json there") from None
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"--render {out}: cannot read report.json ({e})") from None
    report = from_json(data)
    import jinja2

    try:
        write_pages(ensure_writable_dir(out), report)
    except jinja2.UndefinedError as e:  # a field the templates read is not in this file
        raise ValueError(f"--render {out}: report.json lacks what the page needs ({e})") from None
    return report


def _evidence(cfg: ReportConfig, report: Report, m: Mapping, meta: Mapping) -> Any:
    """What the claims audit reads: the rows, the kernel costs, the device, the verdicts."""
    decay_ev, train_ev = summarise.evidence_rows(
        report.decay, [r for r in report.training if r.T == cfg.train_length]
    )
    return claims.Evidence(
        decay=decay_ev,
        training=train_ev,
        costs=m["costs"],
        device=meta["device"],
        comparisons=report.comparisons,
    )


def check(cfg: ReportConfig) -> None:
    """Refuse, before any work, a report whose cells could not all run: an unknown variant,
    search seeds that would meet the evaluation's, a setting whose task cannot take the main
    length. ValueError with one line."""
    from analysis import reproduce
    from analysis.cells.lstm import INITS
    from analysis.experiments import tasks

    for name in (*cfg.decay_variants, *cfg.trained(), *cfg.property_variants):
        variants.get(name)
    for name in cfg.reproductions:
        reproduce.get(name)
    for name in cfg.remedies:
        if name not in remedies.REMEDIES:
            raise ValueError(f"unknown remedy {name!r}; valid: {', '.join(remedies.REMEDIES)}")
    for name in (*cfg.remedy_variants, *cfg.real_variants):
        variants.get(name)
    from analysis import data

    for task, delay in cfg.real_tasks:
        data.shape(task, delay)  # an unknown data set, or a delay it cannot take
    if cfg.reproduce_preset not in reproduce.PRESETS:
        valid = ", ".join(reproduce.PRESETS)
        raise ValueError(f"unknown reproduce_preset {cfg.reproduce_preset!r}; valid: {valid}")
    stages.tune_seeds(cfg)
    for key, task, _, init in cfg.train_settings:
        try:
            tasks.get(task, cfg.train_length)
        except ValueError as e:
            raise ValueError(f"train setting {key!r}: {e}") from None
        if init not in INITS:
            raise ValueError(f"train setting {key!r}: init {init!r}; valid: {', '.join(INITS)}")


def _check_stores(out: Path) -> None:
    """Refuse, before any stage runs, a folder whose stored cells this actgrad cannot resume
    (another results schema, a damaged line): the sweeps would refuse them only when their
    stage came (`ResultsStore.load` raises the one-line UsageError)."""
    from analysis.experiments.store import RESULTS_FILE, ResultsStore

    for path in sorted(out.rglob(RESULTS_FILE)):
        ResultsStore(path.parent).load()


def build(cfg: ReportConfig, out: str | Path) -> Report:
    """Run every stage and write the report into `out`.

    Args:
        cfg: the report's knobs (a preset, possibly with overrides).
        out: the report directory (created; reruns resume its stored sweep cells).

    Returns:
        the Report (also in out/report.json).
    """
    import jax

    from analysis.report.figures import write_figures, write_init_vs_training

    check(cfg)
    out = ensure_writable_dir(out)
    _check_stores(out)
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
        report = summarise_run(cfg, m, meta, timings)
        evidence = _evidence(cfg, report, m, meta)
        claim_rows = stage("claims", lambda: claims.audit(evidence, claims.run_derivative_checks()))
        gating_figure = (
            [(d.name, a) for d, a in _gating_pairs(cfg)],
            m["gating"]["decay"],
        )
        figures = stage(
            "figures",
            lambda: write_figures(cfg, out, m["decay_records"], m["train_records"], gating_figure),
        )
        bar.set_description("report: write")
        timings["total"] = time.perf_counter() - t_all
        pairs = summarise.init_vs_training(
            report.decay, report.training, report.gating, cfg.train_forget_bias, cfg.train_length
        )
        report = dataclasses.replace(
            report,
            claims=tuple(c._asdict() for c in claim_rows),
            figures=(*figures, *write_init_vs_training(out, pairs)),
        )
        atomic_write_json(out / "report.json", to_json(report))
        write_pages(out, report)
        bar.update()
    return report
