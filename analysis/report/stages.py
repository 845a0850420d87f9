"""The report's measuring stages: verification, decay, training (by length), kernel costs.

Decay and training cells go through `analysis.experiments.sweep`, so a rerun into the same
directory resumes. Training is fair by construction (`fair_training`): every trained cell
first searches its learning rate on held-out seeds at the main length (`analysis.experiments
.tune`, one program per cell for the whole grid), then trains on the evaluation seeds at the
rate it chose, at every length it is trained at. The search's seeds start at `TUNE_SEED0`,
the evaluation's at 0, so the choice never sees an evaluation seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.report import variants
from analysis.report.config import COST_KERNELS, ReportConfig
from analysis.util.constants import DEFAULT_COMPILE_WORKERS

__all__ = [
    "TUNE_SEED0",
    "decay_cell",
    "fair_training",
    "neighbours",
    "reuse_or_run",
    "run_costs",
    "run_decay",
    "run_literature",
    "run_training",
    "run_verify",
    "train_cell",
    "train_result",
    "tune_cell",
    "tune_result",
    "tune_seeds",
]

# The learning-rate search's seeds are TUNE_SEED0, TUNE_SEED0 + 1, ...; the evaluation's are
# 0 .. train_seeds - 1 (`tune_seeds` refuses a report whose two sets would meet).
TUNE_SEED0 = 10_000


def decay_cell(cfg: ReportConfig, variant: str, forget_bias: float) -> dict:
    """The stored config of one decay cell.

    Args:
        cfg: the report; variant: a `variants` name; forget_bias: b_f.

    Returns:
        `DecayConfig.to_dict()`.
    """
    from analysis.cells import CellSpec
    from analysis.experiments.decay_config import DecayConfig

    slots = variants.slots(variants.get(variant))
    return DecayConfig(
        spec=CellSpec.of("lstm", **slots, forget_bias=float(forget_bias)),
        input_size=1,
        hidden_size=cfg.decay_hidden,
        length=cfg.decay_length,
        batch=cfg.decay_batch,
        loss="last",
        lyapunov_k=cfg.lyapunov_k,
    ).to_dict()


def train_cell(
    cfg: ReportConfig,
    variant: str,
    length: int,
    lr: float,
    setting: tuple[str, str, float, str] | None = None,
) -> dict:
    """The stored config of one training cell (adding problem) at learning rate `lr`.

    Args:
        cfg: the report; variant: a `variants` name; length: T; lr: the rate its search chose;
        setting: one of ``cfg.train_settings`` (key, task, forget bias, init), None for the
            main one (the adding problem at ``train_forget_bias``, orthogonal).

    Returns:
        `TrainConfig(...).to_dict()`.
    """
    from analysis.cells import CellSpec
    from analysis.experiments.train import TrainConfig

    _, task, forget_bias, init = setting or ("", "adding", cfg.train_forget_bias, "orthogonal")
    slots = variants.slots(variants.get(variant))
    return TrainConfig(
        spec=CellSpec.of("lstm", **slots, forget_bias=float(forget_bias), initializer=init),
        task=task,
        length=int(length),
        steps=cfg.steps_at(length),
        batch=cfg.train_batch,
        hidden_size=cfg.train_hidden,
        lr=float(lr),
        clip=cfg.train_clip,
        eval_every=cfg.train_eval_every,
        test_batch=cfg.train_test_batch,
        stop_when_solved=True,
        snapshots=cfg.train_snapshots if variant in cfg.flow_variants else 0,
    ).to_dict()


def tune_seeds(cfg: ReportConfig) -> list[int]:
    """The learning-rate search's held-out seeds; ValueError if they meet the evaluation's."""
    seeds = list(range(TUNE_SEED0, TUNE_SEED0 + cfg.tune_seeds))
    if cfg.train_seeds > TUNE_SEED0:
        raise ValueError(f"train_seeds must be at most {TUNE_SEED0} (the search's seeds follow)")
    return seeds


def tune_cell(cfg: ReportConfig, cell: Mapping[str, Any]) -> dict:
    """The stored config of one learning-rate search: a training cell's config without its
    rate and snapshots, with the grid and how many evaluation seeds to keep out.

    Args:
        cfg: the report (lr_grid, train_seeds); cell: a training cell's config (any cell).

    Returns:
        the search's config.
    """
    run = {k: v for k, v in cell.items() if k != "lr"}
    return {**run, "snapshots": 0, "lr_grid": list(cfg.lr_grid), "eval_seeds": cfg.train_seeds}


# what a search keeps of each model (its per-step curves are the bulk of a record, unread)
_TUNE_KEEP = ("seed", "lr", "solved_step", "diverged_at", "final_test_loss")


def tune_result(cell: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """One learning-rate search (`tune.search`), a module-level function for `sweep.run`.

    Args:
        cell: `tune_cell`'s dict; seeds: the held-out seeds.

    Returns:
        the search's result less "config", each model's per-step curves left out.
    """
    from analysis.experiments import tune
    from analysis.experiments.train import TrainConfig

    fields = {k: v for k, v in cell.items() if k not in ("lr_grid", "eval_seeds")}
    run = TrainConfig.from_dict(fields)
    result = tune.search(
        run,
        cell["lr_grid"],
        seeds,
        keep_out=range(int(cell["eval_seeds"])),
        desc=f"lr search {_label(cell)} T={run.length}",
    )
    result.pop("config")
    result["per_seed"] = [{k: s[k] for k in _TUNE_KEEP} for s in result["per_seed"]]
    return result


def fair_training(
    cfg: ReportConfig,
    searches: Mapping[str, Mapping[str, Any]],
    evaluations: Callable[[str, float], list[dict]],
    folder: Path,
    desc: str,
    known: Sequence[Mapping] = (),
    run_cell: Callable[[Mapping, Sequence[int]], Mapping] | None = None,
) -> tuple[list[dict], list[dict]]:
    """The fair protocol: each cell's learning-rate search, then its evaluation runs.

    Args:
        cfg: the report; searches: name -> the training cell whose rate is searched (at the
            search length); evaluations: (name, chosen rate) -> the training cells to run on
            the evaluation seeds; folder: where the two sweeps store (``tune``, ``train``);
            desc: progress label; known: records of other stages, reused where a cell has
            the same config and seeds; run_cell: what runs an evaluation cell (a module-level
            function; default `train_result`).

    Returns:
        (search records aligned with `searches`, evaluation records in the order named).
    """
    from analysis.experiments import sweep

    tuned = sweep.run(
        [tune_cell(cfg, c) for c in searches.values()],
        tune_seeds(cfg),
        tune_result,
        folder / "tune",
        desc=f"{desc}: learning-rate search",
        workers=DEFAULT_COMPILE_WORKERS,
    )
    chosen = {n: float(r["result"]["chosen_lr"]) for n, r in zip(searches, tuned, strict=True)}
    cells = [c for n in searches for c in evaluations(n, chosen[n])]
    records, _ = reuse_or_run(
        cells, known, range(cfg.train_seeds), run_cell or train_result, folder / "train", desc
    )
    return tuned, records


def reuse_or_run(
    cells: Sequence[dict],
    known: Sequence[Mapping],
    seeds: Sequence[int],
    run_cell: Callable[[Mapping, Sequence[int]], Mapping],
    folder: Path,
    desc: str,
) -> tuple[list[dict], int]:
    """Records of `cells`: from `known` where a record has the same config and seeds, else run.

    Returns:
        (records in `cells` order, how many were reused).
    """
    from analysis.experiments import sweep

    seeds = [int(s) for s in seeds]
    have = {
        sweep.cell_key(r["config"]): r
        for r in known
        if [int(s) for s in r.get("seeds", seeds)] == seeds
    }
    keys = [sweep.cell_key(c) for c in cells]
    todo = [c for c, k in zip(cells, keys, strict=True) if k not in have]
    done = sweep.run(todo, seeds, run_cell, folder, desc=desc, workers=DEFAULT_COMPILE_WORKERS)
    have.update({sweep.cell_key(r["config"]): r for r in done})
    return [have[k] for k in keys], len(cells) - len(todo)


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


def _label(config: Mapping) -> str:
    """ "candidate/output" for an LSTM (a `variants` name), "cell: candidate" otherwise."""
    from analysis.cells import flat_config

    config = flat_config(config)
    if config.get("cell", "lstm") == "lstm":
        return f"{config['candidate']}/{config['output']}"
    return f"{config['cell']}: {config.get('candidate', '')}"


def run_training(cfg: ReportConfig, out: Path) -> dict:
    """The training stage (module docstring): every `ReportConfig.trained` variant's search at
    ``train_length``, then its evaluation there, and at every ``train_lengths`` for the
    ``length_variants``.

    Args:
        cfg: the report; out: the report directory (stored under out/tune and out/train).

    Returns:
        {"tune": search records, "train": training records at the chosen rates,
        "neighbours": those at the grid's neighbours (``train_neighbours``), "settings":
        {key: {"tune", "train"}} for each of ``train_settings``}.
    """
    names = cfg.trained()
    if not names:
        return {"tune": [], "train": [], "neighbours": [], "settings": {}}
    searches = {v: train_cell(cfg, v, cfg.train_length, cfg.lr_grid[0]) for v in names}

    def evaluations(v: str, lr: float) -> list[dict]:
        lengths = sorted(cfg.train_lengths) if v in cfg.length_variants else [cfg.train_length]
        near = neighbours(cfg.lr_grid, lr) if cfg.train_neighbours else ()
        return [train_cell(cfg, v, t, lr) for t in lengths] + [
            train_cell(cfg, v, cfg.train_length, a) for a in near
        ]

    tuned, evaluated = fair_training(cfg, searches, evaluations, out, "training")
    chosen = {name: float(r["result"]["chosen_lr"]) for name, r in zip(names, tuned, strict=True)}
    at_chosen = [r for r in evaluated if float(r["config"]["lr"]) == chosen[_variant(r)]]
    near_chosen = [r for r in evaluated if float(r["config"]["lr"]) != chosen[_variant(r)]]
    others = {}
    for setting in cfg.train_settings:
        key = setting[0]
        at = {v: train_cell(cfg, v, cfg.train_length, cfg.lr_grid[0], setting) for v in names}

        def one(v: str, lr: float, setting: tuple = setting) -> list[dict]:
            return [train_cell(cfg, v, cfg.train_length, lr, setting)]

        s_tuned, s_trained = fair_training(
            cfg, at, one, out / "settings" / key, f"training ({key})"
        )
        others[key] = {"tune": s_tuned, "train": s_trained}
    return {"tune": tuned, "train": at_chosen, "neighbours": near_chosen, "settings": others}


def neighbours(grid: Sequence[float], lr: float) -> tuple[float, ...]:
    """The rates beside `lr` in the sorted `grid` (one at an edge)."""
    ordered = sorted(grid)
    i = ordered.index(lr)
    return tuple(ordered[j] for j in (i - 1, i + 1) if 0 <= j < len(ordered))


def _variant(record: Mapping) -> str:
    return variants.name_of(record["config"])


def run_literature(cfg: ReportConfig, out: Path) -> list[dict]:
    """Each of ``cfg.reproductions`` at ``cfg.reproduce_preset``, stored as
    out/literature/NAME.json with its figure out/literature_NAME.png / .svg.

    A stored result of the same reproduction, preset and actgrad version is reused, not rerun
    (the figure is drawn again from it). A reproduction in float64 (the spectra) runs inside
    ``jax.enable_x64(True)``, which leaves the rest of the process as it was.

    Args:
        cfg: the report; out: the report directory.

    Returns:
        one record per reproduction (`reproduce.run`'s dict), with ``"figure"``: its stem.
    """
    import json

    import jax

    from analysis import reproduce
    from analysis.util.io import actgrad_version, atomic_write_json, save_figure
    from analysis.util.progress import progress

    folder = out / "literature"
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for name in cfg.reproductions:
        path = folder / f"{name}.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):  # not run yet, or a damaged file: run it (again)
            record = None
        fresh = record is not None and (record.get("preset"), record.get("actgrad")) == (
            cfg.reproduce_preset,
            actgrad_version(),
        )
        r = reproduce.get(name)
        if not fresh:
            with (
                progress(total=r.steps(cfg.reproduce_preset), desc=name, unit="run") as bar,
                jax.enable_x64(r.float64),
            ):
                record = reproduce.run(name, cfg.reproduce_preset, bar=bar)
            atomic_write_json(path, record)
        stem = f"literature_{name}"
        save_figure(r.figure(record["result"]).figure, out, stem)
        records.append({**record, "figure": stem})
    return records


def run_costs(cfg: ReportConfig) -> dict:
    """Elementwise kernel costs (`analysis.bench.costs`).

    Args:
        cfg: the report (cost_n, cost_repeats).

    Returns:
        name -> timings.
    """
    from analysis.bench.costs import elementwise_costs

    return elementwise_costs(COST_KERNELS, n=cfg.cost_n, repeats=cfg.cost_repeats)
