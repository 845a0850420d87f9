"""Every figure of the report, written as PNG + SVG, each with the caption the page shows.

`write_figures` returns {group: [(stem, caption)]}; the page shows every entry, so a figure
that is written is always shown (the end-to-end test checks every PNG is referenced).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from analysis.report import rows as R
from analysis.report.config import ReportConfig

__all__ = ["gallery_cell", "write_figures"]

Figs = dict[str, list[tuple[str, str]]]


def _decay(cfg: ReportConfig, out: Path, records: Sequence[Mapping], figs: Figs) -> None:
    from analysis._util.io import save_figure
    from analysis.report import plots

    meta = dataclasses.asdict(cfg)
    for fb in cfg.forget_biases:
        recs = [r for r in records if float(r["config"]["forget_bias"]) == fb]
        if not recs:
            continue
        labels = [R.variant_of(r["config"]) for r in recs]
        title = (
            f"Gradient decay at initialisation, forget bias {fb:g} "
            f"(candidate/output; T={cfg.decay_length}, H={cfg.decay_hidden}, "
            f"batch {cfg.decay_batch}, {cfg.decay_seeds} seeds, loss 0.5 mean ||h_T||^2)"
        )
        stem = f"decay_bf{fb:g}"
        save_figure(plots.decay_figure(recs, labels, title), out, stem, meta)
        figs["decay"].append(
            (stem, f"||dL/dh_t|| and ||dL/dc_t|| against steps back from T, forget bias {fb:g}")
        )
        tstem = f"telemetry_bf{fb:g}"
        ttitle = f"Cell telemetry along the sequence, forget bias {fb:g}"
        save_figure(plots.telemetry_figure(recs, labels, ttitle), out, tstem, None)
        figs["telemetry"].append(
            (
                tstem,
                "max |c_t|, mean forget gate and share of saturated gates along the sequence, "
                f"forget bias {fb:g}",
            )
        )


def _training(cfg: ReportConfig, out: Path, records: Sequence[Mapping], figs: Figs) -> None:
    from analysis._util.io import save_figure
    from analysis.report import flow_plots, train_plots

    main = [r for r in records if int(r["config"]["length"]) == cfg.train_length]
    vs = [{"label": R.variant_of(r["config"]), "config": r["config"], **r["result"]} for r in main]
    train_plots.plot_test_loss(vs, out, dataclasses.asdict(cfg))
    figs["training"].append(
        (
            "train",
            f"Adding problem, T = {cfg.train_length}: held-out test MSE per step (median and "
            "range over seeds); dashed: the baseline of always predicting 1",
        )
    )
    trows = R.training_rows(records)
    lrows = R.length_rows(trows, cfg.length_variants, sorted(cfg.train_lengths))
    title = (
        f"Solve rate against length ({cfg.train_seeds} seeds per point, Wilson 95% intervals; "
        f"{cfg.train_steps} steps, H={cfg.train_hidden}, batch {cfg.train_batch})"
    )
    save_figure(flow_plots.length_figure(lrows, title), out, "lengths", None)
    figs["training"].append(
        ("lengths", "Share of seeds that solve the adding problem at each sequence length")
    )
    frows = [r for r in R.flow_rows(main)]
    if frows:
        labels = [R.variant_of(r["config"]) for r in main]
        htitle = f"log10 ||dL/dh_t|| during training (T = {cfg.train_length}, median over seeds)"
        save_figure(flow_plots.flow_heatmap(main, labels, htitle), out, "flow_heatmap", None)
        figs["flow"].append(
            (
                "flow_heatmap",
                "Gradient flow during training: training step (up) against steps back from T "
                "(right), colour log10 ||dL/dh_t|| on a fixed held-out batch",
            )
        )
        ltitle = "Half-life of ||dL/dh_t|| during training (dotted: the sequence length)"
        save_figure(flow_plots.flow_half_life(frows, ltitle), out, "flow_half_life", None)
        figs["flow"].append(
            (
                "flow_half_life",
                "Half-life of the gradient during training, median over seeds, band: "
                "bootstrap 95% interval; triangles: growing (infinite half-life)",
            )
        )


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
        (stem, caption).
    """
    from analysis.report import gating_plots

    figs: Figs = {"gallery": [], "decay": [], "telemetry": [], "training": [], "flow": []}
    names = _gallery_names(cfg)
    with _GalleryInBackground(names, out):
        figs["gating"] = gating_plots.write_gating_figure(cfg, out, *gating)
        _decay(cfg, out, decay_records, figs)
        if train_records:
            _training(cfg, out, train_records, figs)
    figs["gallery"] = [
        (
            f"gallery_{name}",
            f"{name}: f, f', f'' (kinks: open circles one-sided derivatives, filled the "
            "convention)",
        )
        for name in names
    ]
    return figs


def _gallery_names(cfg: ReportConfig) -> list[str]:
    from analysis.report import gallery

    return list(cfg.gallery_kernels or gallery.gallery_order())


def gallery_cell(cell: Mapping, seeds: Sequence[int]) -> dict:
    """Draw one gallery figure (a `pool` task: module-level, so a worker can run it).

    Args:
        cell: {"kernel": name, "out": folder}; seeds: unused (the pool's signature).

    Returns:
        {"paths": the files written}.
    """
    from analysis.report import gallery

    del seeds
    return {"paths": [str(p) for p in gallery.plot_kernel(cell["kernel"], cell["out"])]}


class _GalleryInBackground:
    """The kernel gallery drawn by the sweep's worker processes while this process draws the
    other figures (matplotlib stays in one thread per process); drawn here, in order, when no
    worker can be used. Measured: 13 gallery figures are 10-20 s of the figures stage."""

    def __init__(self, names: Sequence[str], out: Path) -> None:
        self.todo = {n: {"kernel": n, "out": str(out)} for n in names}
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> _GalleryInBackground:
        from analysis.experiments import pool

        processes = pool.default_processes()
        if not pool.usable(gallery_cell, processes, len(self.todo)):
            for cell in self.todo.values():
                gallery_cell(cell, [])
            return self
        self.thread = threading.Thread(target=self._run, args=(processes,), daemon=True)
        self.thread.start()
        return self

    def _run(self, processes: int) -> None:
        from analysis.experiments import pool

        try:
            pool.run_cells(self.todo, [], gallery_cell, processes, lambda *a: None, lambda: None)
        except BaseException as err:  # raised in the calling thread by __exit__
            self.error = err

    def __exit__(self, *exc: object) -> None:
        if self.thread is not None:
            if exc[0] is not None:  # an error or Ctrl-C here: do not wait for the gallery
                from analysis.experiments import pool

                pool.shutdown(kill=True)
            self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error
