"""Every figure of the report, written as PNG + SVG, each with the caption the page shows.

`write_figures` returns {group: [(stem, caption)]}; the page shows every entry, so a figure
that is written is always shown (the end-to-end test checks every PNG is referenced).

Speed: the figures are independent jobs (`figure_jobs`: the "Why gating?" figure, one job per
forget bias, the training figures, the flow figures, one per gallery kernel). On CPU they are
drawn by the sweep's worker processes (`analysis.experiments.pool`), two at a time, the
longest first (matplotlib stays in one thread per process); without workers, here. The page's
order never depends on which job finished first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.report import rows as R
from analysis.report.config import ReportConfig

__all__ = ["GROUPS", "figure_cell", "figure_jobs", "write_figures"]

Figs = dict[str, list[tuple[str, str]]]
# The page's figure groups, in page order.
GROUPS = ("gallery", "decay", "telemetry", "training", "flow", "gating")


def _decay(cfg: ReportConfig, out: Path, fb: float, recs: Sequence[Mapping]) -> Figs:
    """decay_bf{fb} and telemetry_bf{fb}."""
    from analysis._util.io import save_figure
    from analysis.report import plots

    labels = [R.variant_of(r["config"]) for r in recs]
    title = (
        f"Gradient decay at initialisation, forget bias {fb:g} "
        f"(candidate/output; T={cfg.decay_length}, H={cfg.decay_hidden}, "
        f"batch {cfg.decay_batch}, {cfg.decay_seeds} seeds, loss 0.5 mean ||h_T||^2)"
    )
    stem, tstem = f"decay_bf{fb:g}", f"telemetry_bf{fb:g}"
    save_figure(plots.decay_figure(recs, labels, title), out, stem, dataclasses.asdict(cfg))
    ttitle = f"Cell telemetry along the sequence, forget bias {fb:g}"
    save_figure(plots.telemetry_figure(recs, labels, ttitle), out, tstem, None)
    return {
        "decay": [
            (stem, f"||dL/dh_t|| and ||dL/dc_t|| against steps back from T, forget bias {fb:g}")
        ],
        "telemetry": [
            (
                tstem,
                "max |c_t|, mean forget gate and share of saturated gates along the sequence, "
                f"forget bias {fb:g}",
            )
        ],
    }


def _main_length(cfg: ReportConfig, records: Sequence[Mapping]) -> list[Mapping]:
    return [r for r in records if int(r["config"]["length"]) == cfg.train_length]


def _training(cfg: ReportConfig, out: Path, records: Sequence[Mapping]) -> Figs:
    """train (test loss at the main length) and lengths (solve rate against T)."""
    from analysis._util.io import save_figure
    from analysis.report import flow_plots, train_plots

    main = _main_length(cfg, records)
    vs = [{"label": R.variant_of(r["config"]), "config": r["config"], **r["result"]} for r in main]
    train_plots.plot_test_loss(vs, out, dataclasses.asdict(cfg))
    trows = R.training_rows(records)
    lrows = R.length_rows(trows, cfg.length_variants, sorted(cfg.train_lengths))
    title = (
        f"Solve rate against length ({cfg.train_seeds} seeds per point, Wilson 95% intervals; "
        f"{cfg.train_steps} steps, H={cfg.train_hidden}, batch {cfg.train_batch})"
    )
    save_figure(flow_plots.length_figure(lrows, title), out, "lengths", None)
    loss_caption = (
        f"Adding problem, T = {cfg.train_length}: held-out test MSE per step (median and "
        "range over seeds); dashed: the baseline of always predicting 1"
    )
    return {
        "training": [
            ("train", loss_caption),
            ("lengths", "Share of seeds that solve the adding problem at each sequence length"),
        ]
    }


def _flow(cfg: ReportConfig, out: Path, records: Sequence[Mapping]) -> Figs:
    """flow_heatmap and flow_half_life (gradient flow during training), if snapshots exist."""
    from analysis._util.io import save_figure
    from analysis.report import flow_plots

    main = _main_length(cfg, records)
    frows = list(R.flow_rows(main))
    if not frows:
        return {}
    labels = [R.variant_of(r["config"]) for r in main]
    htitle = f"log10 ||dL/dh_t|| during training (T = {cfg.train_length}, median over seeds)"
    save_figure(flow_plots.flow_heatmap(main, labels, htitle), out, "flow_heatmap", None)
    ltitle = "Half-life of ||dL/dh_t|| during training (dotted: the sequence length)"
    save_figure(flow_plots.flow_half_life(frows, ltitle), out, "flow_half_life", None)
    heat_caption = (
        "Gradient flow during training: training step (up) against steps back from T "
        "(right), colour log10 ||dL/dh_t|| on a fixed held-out batch"
    )
    life_caption = (
        "Half-life of the gradient during training, median over seeds, band: "
        "bootstrap 95% interval; triangles: growing (infinite half-life)"
    )
    return {"flow": [("flow_heatmap", heat_caption), ("flow_half_life", life_caption)]}


def _gating(
    cfg: ReportConfig, out: Path, rows: Sequence[Mapping], records: Sequence[Mapping]
) -> Figs:
    from analysis.report import gating_plots

    return {"gating": gating_plots.write_gating_figure(cfg, out, rows, records)}


def _gallery(cfg: ReportConfig, out: Path, name: str) -> Figs:
    from analysis.report import gallery

    del cfg
    gallery.plot_kernel(name, out)
    caption = (
        f"{name}: f, f', f'' (kinks: open circles one-sided derivatives, filled the convention)"
    )
    return {"gallery": [(f"gallery_{name}", caption)]}


_DRAW = {
    "decay": _decay,
    "training": _training,
    "flow": _flow,
    "gating": _gating,
    "gallery": _gallery,
}


def _gallery_names(cfg: ReportConfig) -> list[str]:
    from analysis.report import gallery

    return list(cfg.gallery_kernels or gallery.gallery_order())


def figure_jobs(
    cfg: ReportConfig,
    out: Path,
    decay_records: Sequence[Mapping],
    train_records: Sequence[Mapping],
    gating: tuple[Sequence[Mapping], Sequence[Mapping]] = ((), ()),
) -> dict[str, dict[str, Any]]:
    """Every figure job of the report, in page order.

    Args:
        cfg: the report; out: the folder; decay_records, train_records: sweep records.
        gating: ("Why gating?" rows, their decay records), aligned.

    Returns:
        job key -> {"kind", "cfg", "out", "args"}: ``figure_cell`` draws one.
    """
    jobs: dict[str, dict[str, Any]] = {}

    def add(key: str, kind: str, *args: Any) -> None:
        jobs[key] = {"kind": kind, "cfg": cfg, "out": str(out), "args": args}

    for name in _gallery_names(cfg):
        add(f"gallery_{name}", "gallery", name)
    for fb in cfg.forget_biases:
        recs = [r for r in decay_records if float(r["config"]["forget_bias"]) == fb]
        if recs:
            add(f"decay_bf{fb:g}", "decay", float(fb), recs)
    if train_records:
        add("training", "training", list(train_records))
        add("flow", "flow", list(train_records))
    if gating[0]:
        add("gating", "gating", list(gating[0]), list(gating[1]))
    return jobs


def figure_cell(job: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """Draw one figure job (a `pool` task: module-level, so a worker can run it).

    Args:
        job: one value of `figure_jobs`; seeds: unused (the pool's signature).

    Returns:
        {"figs": {group: [(stem, caption)]}} for what it wrote.
    """
    del seeds
    figs = _DRAW[job["kind"]](job["cfg"], Path(job["out"]), *job["args"])
    return {"figs": {g: [tuple(e) for e in entries] for g, entries in figs.items()}}


# Longest first, so the two workers finish together. Serial times at the --quick shapes here:
# decay + telemetry 2.5-3.8 s per forget bias, flow 2.9 s, training 1.4 s, a gallery kernel
# 0.8-2.2 s (13 of them, short enough to fill the gaps at the end).
_FIRST = {"decay": 0, "flow": 1, "gating": 2, "training": 3, "gallery": 4}


def _draw_all(jobs: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping]:
    """Each job's {"figs"}: by the pool's workers (longest first) when usable, else here."""
    from analysis.runtime import pool

    order = sorted(jobs, key=lambda k: _FIRST[jobs[k]["kind"]])
    return pool.map_cells({k: jobs[k] for k in order}, figure_cell)


def write_figures(
    cfg: ReportConfig,
    out: Path,
    decay_records: Sequence[Mapping],
    train_records: Sequence[Mapping],
    gating: tuple[Sequence[Mapping], Sequence[Mapping]] = ((), ()),
) -> Figs:
    """Write every figure into `out`.

    Args:
        cfg: the report; out: the folder; decay_records, train_records: sweep records.
        gating: ("Why gating?" rows, their decay records), aligned.

    Returns:
        {"gallery", "decay", "telemetry", "training", "flow", "gating"}: lists of
        (stem, caption), in page order.
    """
    jobs = figure_jobs(cfg, out, decay_records, train_records, gating)
    done = _draw_all(jobs)
    figs: Figs = {g: [] for g in GROUPS}
    for key in jobs:  # page order, whatever order the jobs finished in
        for group, entries in done[key]["figs"].items():
            figs[group].extend(tuple(e) for e in entries)
    return figs
