""" "On real sequences": the swaps trained on real data (`analysis.data`) with the fair protocol.

Each of ``ReportConfig.real_tasks`` (a data set and, for digits, the blank steps after the
image) is a classification task (`analysis.experiments.tasks.classification`: a linear
read-out of h_T, the whole test split as the test, "solved" when the test accuracy is at least
halfway from the majority class's rate to 1). Every one of ``real_variants`` goes through the
same protocol as on the adding problem (`stages.fair_training`: its own learning rate from the
grid on held-out seeds, then the evaluation seeds, the adding problem's batch, hidden size and
clipping) with ``real_steps`` steps. The page compares each swap with the standard LSTM on
that task (family ``real_{key}``, Fisher's exact test on the seeds solved, Holm within the
family, only where the standard LSTM passes its budget, as on the adding problem) and sets
each verdict beside the swap's verdict on the adding problem at ``train_length``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.report import stages, summarise
from analysis.report.config import ReportConfig
from analysis.report.model import RealRow
from analysis.util import stats

__all__ = ["real_cell", "real_key", "real_rows", "run_real"]


def real_key(task: str, delay: int) -> str:
    """The name of one real task in the report: "digits+36" for digits with 36 blank steps,
    else the data set's name."""
    return f"{task}+{delay}" if delay else task


def real_cell(cfg: ReportConfig, variant: str, task: str, delay: int, lr: float) -> dict:
    """The stored config of `variant` trained on data set `task` (with `delay` blank steps).

    Args:
        cfg: the report; variant: a `variants` name; task: a `data.names()` name; delay: the
            blank steps after each sequence (digits only); lr: the learning rate.

    Returns:
        `TrainConfig.to_dict()`: the adding problem's training cell with the task, its length
        (the data's), ``real_steps`` steps and no snapshots.
    """
    from analysis import data
    from analysis.cells import flat_config
    from analysis.experiments.train import TrainConfig

    base = flat_config(stages.train_cell(cfg, variant, cfg.train_length, lr))
    length = data.shape(task, delay)[0]
    fields = {
        **base,
        "task": task,
        "delay": delay,
        "length": length,
        "steps": cfg.real_steps,
        "snapshots": 0,
    }
    return TrainConfig.from_dict(fields).to_dict()


def run_real(cfg: ReportConfig, out: Path) -> dict:
    """Every real task's searches and evaluations (module docstring), under out/real/KEY.

    Args:
        cfg: the report; out: the report directory.

    Returns:
        {key: {"task", "delay", "tune": search records, "train": evaluation records}}, in
        ``real_tasks`` order (searches and evaluations in ``real_variants`` order).
    """
    measured = {}
    for task, delay in cfg.real_tasks:
        key = real_key(task, delay)
        searches = {v: real_cell(cfg, v, task, delay, cfg.lr_grid[0]) for v in cfg.real_variants}

        def evaluations(v: str, lr: float, task: str = task, delay: int = delay) -> list[dict]:
            return [real_cell(cfg, v, task, delay, lr)]

        tuned, trained = stages.fair_training(
            cfg, searches, evaluations, out / "real" / key, f"real sequences ({key})"
        )
        measured[key] = {"task": task, "delay": delay, "tune": tuned, "train": trained}
    return measured


def real_rows(measured: Mapping[str, Mapping[str, Any]]) -> tuple[RealRow, ...]:
    """One row per (real task, variant): its training row, accuracy and search.

    Args:
        measured: `run_real`'s dict.

    Returns:
        rows in task order, then variant order.
    """
    rows = []
    for key, m in measured.items():
        searches = summarise.rate_rows(m["tune"])
        for rec, search in zip(m["train"], searches, strict=True):
            accuracies = [float(s["test_accuracy"]) for s in rec["result"]["per_seed"]]
            rows.append(
                RealRow(
                    key=key,
                    task=str(m["task"]),
                    delay=int(m["delay"]),
                    variant=search.variant,
                    train=summarise.train_row(rec, search.variant),
                    accuracy=stats.median_bootstrap(accuracies),
                    accuracies=tuple(accuracies),
                    test_n=int(rec["result"]["per_seed"][0]["test_n"]),
                    search=search,
                )
            )
    return tuple(rows)
