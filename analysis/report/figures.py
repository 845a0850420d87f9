"""Every figure of the report, written as PNG + SVG by `analysis.plot`.

`write_figures` returns the `model.Figure` (stem, kind, params) of each figure it wrote, in
page order; the templates place and caption them by kind, so a written figure is always
shown (the end-to-end test checks every PNG is referenced) and no English is written here.

Kinds and their params: "gallery" {"kernels"}, "decay" and "telemetry" {"forget_bias"},
"train" {"T"} (test loss at the main length), "lengths", "flow_heatmap", "flow_half_life",
"gating_decay" {}.

Speed: the figures are independent jobs (`figure_jobs`: the gallery, one job per forget bias,
the training figures, the flow figures, "Why gating?"). On CPU they are drawn by the sweep's
worker processes (`analysis.experiments.pool`), two at a time, the longest first (matplotlib
stays in one thread per process); without workers, here. The page's order never depends on
which job finished first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.report import summarise
from analysis.report.config import ReportConfig
from analysis.report.model import Figure

__all__ = ["KINDS", "figure_cell", "figure_jobs", "write_figures"]

# The figure kinds in page order; within a kind, the order the jobs were made in.
KINDS = (
    "gallery",
    "decay",
    "telemetry",
    "train",
    "lengths",
    "flow_heatmap",
    "flow_half_life",
    "gating_decay",
)

Entry = tuple[str, str, dict[str, Any]]  # (stem, kind, params): what a job hands back


def _decay(cfg: ReportConfig, out: Path, fb: float, recs: Sequence[Mapping]) -> list[Entry]:
    """decay_bf{fb} and telemetry_bf{fb}."""
    from analysis import plot
    from analysis.util.io import save_figure

    labels = [summarise.variant_of(r["config"]) for r in recs]
    ax = plot.decay(recs, label=labels)
    ax.set_title(
        f"forget bias {fb:g}: T={cfg.decay_length}, H={cfg.decay_hidden}, "
        f"batch {cfg.decay_batch}, {cfg.decay_seeds} seeds",
        fontsize=10,
    )
    stem, tstem = f"decay_bf{fb:g}", f"telemetry_bf{fb:g}"
    save_figure(ax.figure, out, stem, dataclasses.asdict(cfg))
    save_figure(plot.telemetry(recs, label=labels), out, tstem, None)
    return [(stem, "decay", {"forget_bias": fb}), (tstem, "telemetry", {"forget_bias": fb})]


def _main_length(cfg: ReportConfig, records: Sequence[Mapping]) -> list[Mapping]:
    return [r for r in records if int(r["config"]["length"]) == cfg.train_length]


def _training(cfg: ReportConfig, out: Path, records: Sequence[Mapping]) -> list[Entry]:
    """train (test loss at the main length) and lengths (solve rate against T)."""
    from analysis import plot
    from analysis.util.io import save_figure

    done: list[Entry] = []
    main = _main_length(cfg, records)
    if main:
        ax = plot.test_loss(main)
        ax.set_title(f"adding problem, T = {cfg.train_length}", fontsize=10)
        save_figure(ax.figure, out, "train", dataclasses.asdict(cfg))
        done.append(("train", "train", {"T": cfg.train_length}))
    variants = [
        v
        for v in cfg.length_variants
        if any(summarise.variant_of(r["config"]) == v for r in records)
    ]
    if variants:
        rows = summarise.training_rows(records)
        lengths = sorted({r.T for r in rows})
        ax = plot.lengths(summarise.length_rows(rows, variants, lengths))
        ax.set_title(
            f"{cfg.train_seeds} seeds per point, Wilson 95% intervals; "
            f"max({cfg.train_min_steps:,}, {cfg.train_steps_per_T} T) steps",
            fontsize=10,
        )
        save_figure(ax.figure, out, "lengths", None)
        done.append(("lengths", "lengths", {}))
    return done


def _flow(cfg: ReportConfig, out: Path, records: Sequence[Mapping]) -> list[Entry]:
    """flow_heatmap and flow_half_life (gradient flow during training), if snapshots exist."""
    from analysis import plot
    from analysis.util.io import save_figure

    main = [
        r
        for r in _main_length(cfg, records)
        if any(p.get("flow_snapshots") for p in r["result"]["per_seed"])
    ]
    if not main:
        return []
    save_figure(plot.flow_heatmap(main), out, "flow_heatmap", None)
    labels = [summarise.variant_of(r["config"]) for r in main]
    ax = plot.flow_during_training(main, label=labels)
    save_figure(ax.figure, out, "flow_half_life", None)
    return [("flow_heatmap", "flow_heatmap", {}), ("flow_half_life", "flow_half_life", {})]


def _gating(
    cfg: ReportConfig, out: Path, pairs: Sequence[tuple[str, str]], records: Sequence[Mapping]
) -> list[Entry]:
    """gating_decay: the "Why gating?" designs' decay, one panel per candidate activation."""
    from analysis import plot
    from analysis.util.io import save_figure

    fig = plot.gating_decay(records, pairs, cfg.gating_activations)
    save_figure(fig, out, "gating_decay", dataclasses.asdict(cfg))
    return [("gating_decay", "gating_decay", {})]


def _gallery(cfg: ReportConfig, out: Path, names: Sequence[str]) -> list[Entry]:
    """gallery: every kernel's f, f', f'' in one grid."""
    from analysis import plot
    from analysis.util.io import save_figure

    del cfg
    save_figure(plot.gallery(names), out, "gallery", None)
    return [("gallery", "gallery", {"kernels": list(names)})]


_DRAW = {
    "decay": _decay,
    "training": _training,
    "flow": _flow,
    "gating": _gating,
    "gallery": _gallery,
}


# The seed page's five kernels first in the gallery, then the rest in registry order.
SEED_KERNELS = ("sigmoid", "tanh", "hard_tanh", "relu", "leaky_relu")


def _gallery_names(cfg: ReportConfig) -> list[str]:
    import kernels

    if cfg.gallery_kernels:
        return list(cfg.gallery_kernels)
    seed = [n for n in SEED_KERNELS if n in kernels.builtin_names()]
    return seed + [n for n in kernels.builtin_names() if n not in seed]


def _pair(row: Any) -> tuple[str, str]:
    """(design, activation) from a pair, a `model.GatingRow` or a stored row dict."""
    if isinstance(row, tuple):
        return str(row[0]), str(row[1])
    if isinstance(row, Mapping):
        return str(row["design"]), str(row["activation"])
    return str(row.design), str(row.activation)


def figure_jobs(
    cfg: ReportConfig,
    out: Path,
    decay_records: Sequence[Mapping],
    train_records: Sequence[Mapping],
    gating: tuple[Sequence[Any], Sequence[Mapping]] = ((), ()),
) -> dict[str, dict[str, Any]]:
    """Every figure job of the report, in page order.

    Args:
        cfg: the report; out: the folder; decay_records, train_records: sweep records.
        gating: ((design, activation) of each "Why gating?" decay record, those records),
            aligned.

    Returns:
        job key -> {"kind", "cfg", "out", "args"}: ``figure_cell`` draws one.
    """
    from analysis.cells import flat_config

    jobs: dict[str, dict[str, Any]] = {}

    def add(key: str, kind: str, *args: Any) -> None:
        jobs[key] = {"kind": kind, "cfg": cfg, "out": str(out), "args": args}

    add("gallery", "gallery", _gallery_names(cfg))
    for fb in cfg.forget_biases:
        # the grid's variants (the property set has its own table, not a curve each here)
        recs = [
            r
            for r in decay_records
            if float(flat_config(r["config"])["forget_bias"]) == fb
            and summarise.variant_of(r["config"]) in cfg.decay_variants
        ]
        if recs:
            add(f"decay_bf{fb:g}", "decay", float(fb), recs)
    if train_records:
        add("training", "training", list(train_records))
        add("flow", "flow", list(train_records))
    pairs, records = gating
    if pairs:
        add("gating", "gating", [_pair(p) for p in pairs], list(records))
    return jobs


def figure_cell(job: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """Draw one figure job (a `pool` task: module-level, so a worker can run it).

    Args:
        job: one value of `figure_jobs`; seeds: unused (the pool's signature).

    Returns:
        {"figs": [(stem, kind, params)]} for what it wrote.
    """
    del seeds
    figs = _DRAW[job["kind"]](job["cfg"], Path(job["out"]), *job["args"])
    return {"figs": [(str(s), str(k), dict(p)) for s, k, p in figs]}


# Longest first, so the two workers finish together. Serial times at the --quick shapes here:
# decay + telemetry about 3 s per forget bias, flow 3 s, the gallery 1 to 6 s (3 to 13
# kernels), training 1.5 s.
_FIRST = {"decay": 0, "gallery": 1, "flow": 2, "gating": 3, "training": 4}


def _draw_all(jobs: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping]:
    """Each job's {"figs"}: by the pool's workers (longest first) when usable, else here."""
    from analysis.runtime import pool

    order = sorted(jobs, key=lambda k: _FIRST[jobs[k]["kind"]])
    return pool.map_cells({k: jobs[k] for k in order}, figure_cell)


def write_init_vs_training(out: Path, pairs: Sequence[tuple[str, str, Any, Any]]) -> list[Figure]:
    """init_vs_training: each trained cell's solve rate against its half-life at
    initialisation (`summarise.init_vs_training`'s pairs; drawn here, after the rows exist).

    Returns:
        [the Figure], or [] without pairs.
    """
    from analysis import plot
    from analysis.util.io import save_figure

    if not pairs:
        return []
    points = [(label, d.half_life, t.solved) for _, label, d, t in pairs]
    save_figure(plot.init_vs_training(points).figure, out, "init_vs_training", None)
    return [Figure("init_vs_training", "init_vs_training", {})]


def write_figures(
    cfg: ReportConfig,
    out: Path,
    decay_records: Sequence[Mapping],
    train_records: Sequence[Mapping],
    gating: tuple[Sequence[Any], Sequence[Mapping]] = ((), ()),
) -> tuple[Figure, ...]:
    """Write every figure into `out`.

    Args:
        cfg: the report; out: the folder; decay_records, train_records: sweep records.
        gating: ((design, activation) of each "Why gating?" decay record, those records),
            aligned.

    Returns:
        one `Figure(stem, kind, params)` per figure written, in page order (`KINDS`, then
        the order of the forget biases).
    """
    jobs = figure_jobs(cfg, out, decay_records, train_records, gating)
    done = _draw_all(jobs)
    entries = [e for key in jobs for e in done[key]["figs"]]  # job order, whoever finished first
    entries.sort(key=lambda e: KINDS.index(e[1]))  # stable: forget biases stay in order
    return tuple(Figure(stem, kind, dict(params)) for stem, kind, params in entries)
