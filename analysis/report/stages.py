"""The report's measuring stages: verification, decay, training (by length), kernel costs.

Decay and training cells go through `analysis.experiments.sweep`, so a rerun into the same
directory resumes. Training is one sweep: every ``train_variants`` at ``train_length`` and the
``length_variants`` at the shorter ``train_lengths``; a length variant goes on to the next
longer length only while it solved at least one seed at the previous one (if no seed solves
T, none is expected to solve 2T; the page says so), and that cell is queued as soon as the
previous one is in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.util.constants import DEFAULT_COMPILE_WORKERS
from analysis.report import variants
from analysis.report.config import COST_KERNELS, ReportConfig

if TYPE_CHECKING:  # the stages import the experiment modules only when they run
    from analysis.experiments.sweep import Follow

__all__ = [
    "decay_cell",
    "run_costs",
    "run_decay",
    "run_training",
    "run_verify",
    "train_cell",
    "train_result",
]


def decay_cell(cfg: ReportConfig, variant: str, forget_bias: float) -> dict:
    """The stored config of one decay cell.

    Args:
        cfg: the report; variant: a `variants` name; forget_bias: b_f.

    Returns:
        `DecayConfig.to_dict()`.
    """
    from analysis.experiments.decay_config import DecayConfig

    return DecayConfig(
        input_size=1,
        hidden_size=cfg.decay_hidden,
        **variants.slots(variants.get(variant)),
        forget_bias=float(forget_bias),
        length=cfg.decay_length,
        batch=cfg.decay_batch,
        loss="last",
        lyapunov_k=cfg.lyapunov_k,
    ).to_dict()


def train_cell(cfg: ReportConfig, variant: str, length: int) -> dict:
    """The stored config of one training cell (adding problem).

    Args:
        cfg: the report; variant: a `variants` name; length: T.

    Returns:
        `TrainConfig(...).to_dict()`.
    """
    from analysis.experiments.train import TrainConfig

    return TrainConfig(
        task="adding",
        length=int(length),
        steps=cfg.train_steps,
        batch=cfg.train_batch,
        hidden_size=cfg.train_hidden,
        lr=cfg.train_lr,
        forget_bias=cfg.train_forget_bias,
        eval_every=cfg.train_eval_every,
        test_batch=cfg.train_test_batch,
        stop_when_solved=True,
        snapshots=cfg.train_snapshots,
        **variants.slots(variants.get(variant)),
    ).to_dict()


def run_verify(cfg: ReportConfig) -> list[dict]:
    """Every kernel through `verify_activation`; one summary row each.

    Args:
        cfg: the report (verify_kernels, verify_points).

    Returns:
        rows with kernel, passed, checks, failures, worst_check, worst_rel_err, kinks, seconds.
    """
    import kernels
    from analysis.checks.verify import verify_activation

    names = cfg.verify_kernels or kernels.builtin_names()
    # Serial: XLA:CPU programs executing at once from several threads can hang (see sweep).
    return [
        _verify_row(n, verify_activation(kernels.get(n), n_random=cfg.verify_points)) for n in names
    ]


def _verify_row(name: str, rep: Any) -> dict:
    worst = max(rep.rows, key=lambda r: r.worst_ratio if math.isfinite(r.worst_ratio) else 0)
    kinks = [
        {
            "at": k.at,
            "left": k.declared_left,
            "right": k.declared_right,
            "convention": k.convention,
            "jax_nn": k.jax_nn_measured,
            "reason": k.reason,
        }
        for k in rep.kinks
        if k.dtype == "float64" and k.order == 1
    ]
    return {
        "kernel": name,
        "passed": rep.passed,
        "checks": len(rep.rows),
        "failures": len(rep.failures),
        "worst_check": f"{worst.check} ({worst.dtype})",
        "worst_rel_err": worst.max_rel_err,
        "kinks": kinks,
        "seconds": rep.seconds,
    }


def run_decay(cfg: ReportConfig, out: Path) -> list[dict]:
    """Every decay variant at every forget bias, then the property variants at the training
    forget bias; seeds vmapped, stored under out/decay.

    Args:
        cfg: the report; out: the report directory.

    Returns:
        the sweep records, grid order.
    """
    from analysis.experiments import decay, sweep

    cells = [decay_cell(cfg, v, fb) for fb in cfg.forget_biases for v in cfg.decay_variants]
    # the property set at the training forget bias; a cell the grid has already is not repeated
    cells += [
        c
        for c in (decay_cell(cfg, v, cfg.train_forget_bias) for v in cfg.property_variants)
        if c not in cells
    ]
    return sweep.run(
        cells,
        list(range(cfg.decay_seeds)),
        decay.run_cell,
        out / "decay",
        desc="decay cells",
        workers=DEFAULT_COMPILE_WORKERS,
    )


def train_result(cell: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """One training cell's result without its config (the record holds it); a module-level
    function, so that `sweep.run` can send it to a worker process.

    Args:
        cell: `train_cell`'s dict; seeds: the seeds to train together.

    Returns:
        `train.train`'s result less "config".
    """
    from analysis.experiments.train import TrainConfig, train

    run = TrainConfig.from_dict(cell)
    result = train(run, seeds, desc=f"{_label(cell)} T={run.length}")
    result.pop("config")
    return result


def _train_cells(
    cfg: ReportConfig, cells: list[dict], out: Path, follow: Follow | None = None
) -> list[dict]:
    from analysis.experiments import sweep

    if not cells:
        return []
    return sweep.run(
        cells,
        list(range(cfg.train_seeds)),
        train_result,
        out / "train",
        desc="training",
        workers=DEFAULT_COMPILE_WORKERS,
        follow=follow,
    )


def _any_solved(record: Mapping) -> bool:
    return any(s["solved_step"] is not None for s in record["result"]["per_seed"])


def _label(config: Mapping) -> str:
    """ "candidate/output" for an LSTM (a `variants` name), "cell: candidate" otherwise."""
    if config.get("cell", "lstm") == "lstm":
        return f"{config['candidate']}/{config['output']}"
    return f"{config['cell']}: {config.get('candidate', '')}"


def _name(record: Mapping) -> str:
    return _label(record["config"])


def run_training(cfg: ReportConfig, out: Path) -> list[dict]:
    """Training by length (module docstring); records of every cell trained.

    One sweep: the main length and the shorter ones first, and each longer length's cell
    joins the queue as soon as the same variant's previous length is in (`_longer`), so the
    workers never wait for a round to end (in a default report run here, in rounds, the
    T = 200 round's tail left one of the two workers idle for 34 of its 164 s).

    Args:
        cfg: the report; out: the report directory (cells stored under out/train).

    Returns:
        sweep records: the main length, the shorter ones, then the longer ones ascending.
    """
    main = list(dict.fromkeys((*cfg.train_variants, *cfg.length_variants)))
    shorter = [t for t in sorted(cfg.train_lengths) if t < cfg.train_length]
    firsts = [train_cell(cfg, v, cfg.train_length) for v in main]
    cells = firsts + [train_cell(cfg, v, t) for t in shorter for v in cfg.length_variants]
    # sweep.run returns the grid, then follow-ups breadth first: one generation per length
    return _train_cells(cfg, cells, out, follow=functools.partial(_longer, cfg))


def _longer(cfg: ReportConfig, record: Mapping) -> list[dict]:
    """The next longer length's cell of a `length_variants` variant at the main length or
    longer that solved at least one seed; none otherwise."""
    name, t = _name(record), int(record["config"]["length"])
    longer = [n for n in sorted(cfg.train_lengths) if n > t]
    if name not in cfg.length_variants or t < cfg.train_length or not longer:
        return []
    return [train_cell(cfg, name, longer[0])] if _any_solved(record) else []


def run_costs(cfg: ReportConfig) -> dict:
    """Elementwise kernel costs (`analysis.bench.costs`).

    Args:
        cfg: the report (cost_n, cost_repeats).

    Returns:
        name -> timings.
    """
    from analysis.bench.costs import elementwise_costs

    return elementwise_costs(COST_KERNELS, n=cfg.cost_n, repeats=cfg.cost_repeats)
