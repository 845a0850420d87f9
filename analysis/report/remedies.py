""" "What rescues a failing swap?": the remedies people reach for, each added to the fair
protocol's baseline for the swaps that solve fewer seeds than the standard LSTM.

Which swaps: those whose training verdict at ``train_length`` is "lower" (fewer seeds solved,
`compare`'s rule, the same families as the page's), and ``ReportConfig.remedy_variants``
named in advance. Each remedy changes one thing of the swap's training cell (`REMEDIES`), and
the remedied cell goes through the same protocol as every trained cell (`stages
.fair_training`: its own learning-rate search on held-out seeds, then the evaluation seeds,
the same budget), with gradient-flow snapshots so that the page can show the flow before and
after training. Each remedied swap is compared with the same swap without the remedy
(family ``remedies_T{T}``, Fisher's exact test, Holm within the family).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.report import compare, stages, summarise
from analysis.report.config import ReportConfig
from analysis.report.model import RemedyRow

__all__ = [
    "REMEDIES",
    "failing_swaps",
    "remedy_cell",
    "remedy_result",
    "remedy_rows",
    "run_remedies",
]

# remedy -> the fields of a training cell it overrides (flat, as `TrainConfig.from_dict` takes
# them). "clip_value": element-wise clipping (optax.clip) at the baseline's threshold in place
# of global-norm clipping; "chrono": Tallec & Ollivier's initialisation, b_f ~ log U[1, T - 1],
# b_i = -b_f, nothing added (the full report's chrono setting); "layer_norm": the
# layer-normalised LSTM (`cells.get("lnlstm")`, Ba et al. 2016) with the same slots and forget
# bias; "floss": gradient flossing of the 8 largest exponents of the (h, c) carry toward 0
# with the protocol of Engelken's code (`TrainConfig.floss`: 50 steps before training, then
# two bursts of 50; k = 8 as in BENCHMARKS.md's cost of a flossing step).
REMEDIES: dict[str, dict[str, Any]] = {
    "clip_value": {"clip_by": "value"},
    "chrono": {"initializer": "chrono", "forget_bias": 0.0},
    "layer_norm": {"cell": "lnlstm"},
    "floss": {"floss": 8},
}
# what a remedy that changes the cell keeps of the LSTM's: its slots and forget bias (the
# LSTM's own options, such as its initializer or fused backward, do not carry over)
_PORTABLE = ("gate", "candidate", "output", "forget_bias")


def failing_swaps(cfg: ReportConfig, train_records: Sequence[Mapping]) -> tuple[str, ...]:
    """The swaps the remedies are added to: each trained variant whose solve rate at
    ``train_length`` is "lower" than the standard LSTM's (`compare.compare_all`'s training
    families, so the verdict is the page's), then ``cfg.remedy_variants``.

    Args:
        cfg: the report; train_records: the training stage's records at the chosen rates.

    Returns:
        variant names, each once, failing ones first.
    """
    rows = summarise.training_rows(train_records)
    comps, _ = compare.compare_all((), rows, (), cfg.train_length, (), passes=cfg.reference_passes)
    ending = f"_T{cfg.train_length}"
    lower = [
        c.a
        for c in comps
        if c.family.startswith("train_") and c.family.endswith(ending) and c.verdict == "lower"
    ]
    return tuple(dict.fromkeys((*lower, *cfg.remedy_variants)))


def remedy_cell(cfg: ReportConfig, variant: str, remedy: str, length: int, lr: float) -> dict:
    """The stored config of `variant` trained with `remedy` at length `length`, rate `lr`.

    Args:
        cfg: the report; variant: a `variants` name; remedy: a key of `REMEDIES`;
        length: T; lr: the rate.

    Returns:
        `TrainConfig.to_dict()`, with gradient-flow snapshots (``train_snapshots``).
    """
    from analysis.cells import flat_config
    from analysis.experiments.train import TrainConfig

    if remedy not in REMEDIES:
        raise ValueError(f"unknown remedy {remedy!r}; valid: {', '.join(REMEDIES)}")
    from analysis.experiments.train_config import RUN_FIELDS

    base = flat_config(stages.train_cell(cfg, variant, length, lr))
    change = REMEDIES[remedy]
    if "cell" in change:
        base = {k: v for k, v in base.items() if k in RUN_FIELDS or k in _PORTABLE}
    fields = {**base, **change, "snapshots": cfg.train_snapshots}
    return TrainConfig.from_dict(fields).to_dict()


def run_remedies(cfg: ReportConfig, out: Path, train_records: Sequence[Mapping]) -> dict:
    """Every remedy on every failing swap (module docstring), stored under out/remedies.

    Args:
        cfg: the report; out: the report directory; train_records: the training stage's.

    Returns:
        {"swaps": the swaps, "pairs": [(swap, remedy)] in search order, "tune": the search
        records (aligned with pairs), "train": the evaluation records (per pair, each of
        ``remedy_lengths``, or ``train_length``)}.
    """
    swaps = failing_swaps(cfg, train_records) if cfg.remedies else ()
    pairs = [(v, rem) for v in swaps for rem in cfg.remedies]
    if not pairs:
        return {"swaps": list(swaps), "pairs": [], "tune": [], "train": []}
    lengths = sorted(cfg.remedy_lengths or (cfg.train_length,))
    searches = {
        f"{v} + {rem}": remedy_cell(cfg, v, rem, cfg.train_length, cfg.lr_grid[0])
        for v, rem in pairs
    }
    by_name = dict(zip(searches, pairs, strict=True))

    def evaluations(name: str, lr: float) -> list[dict]:
        v, rem = by_name[name]
        return [remedy_cell(cfg, v, rem, t, lr) for t in lengths]

    tuned, trained = stages.fair_training(
        cfg, searches, evaluations, out / "remedies", "remedies", run_cell=remedy_result
    )
    return {"swaps": list(swaps), "pairs": pairs, "tune": tuned, "train": trained}


def remedy_result(cell: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """One remedied cell's training (`stages.train_result`'s result) with, per seed, its state
    map's conditioning at initialisation and after training (`experiments.diagnose`) under
    ``"conditioning"``: {"initial": [...], "final": [...]}, a module-level function for
    `sweep.run`'s workers."""
    from analysis.experiments import diagnose
    from analysis.experiments.train import TrainConfig, train

    run = TrainConfig.from_dict(cell)
    result = train(run, seeds, desc=f"remedy T={run.length}", keep_state=True)
    final = result.pop("state").params.recurrent
    result.pop("config")
    result["conditioning"] = {
        "initial": diagnose.conditioning(run, diagnose.initial_params(run, seeds)),
        "final": diagnose.conditioning(run, final),
    }
    return result


def remedy_rows(measured: Mapping[str, Any]) -> tuple[RemedyRow, ...]:
    """One row per (swap, remedy, length): its training row, its search and its flow.

    Args:
        measured: `run_remedies`' dict.

    Returns:
        rows in search order, then by length.
    """
    pairs = [tuple(p) for p in measured["pairs"]]
    searches = summarise.rate_rows(measured["tune"], [v for v, _ in pairs])
    lengths = len(measured["train"]) // len(pairs) if pairs else 0
    rows = []
    for i, (variant, remedy) in enumerate(pairs):
        for rec in measured["train"][i * lengths : (i + 1) * lengths]:
            flow = summarise.flow_rows([rec])
            rows.append(
                RemedyRow(
                    variant=variant,
                    remedy=remedy,
                    train=summarise.train_row(rec, variant),
                    search=searches[i],
                    flow=flow[0] if flow else None,
                    conditioning=_conditioning(rec["result"].get("conditioning")),
                )
            )
    return tuple(rows)


def _conditioning(measured: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """Median over seeds of each conditioning measure, (at initialisation, after training)."""
    if not measured:
        return {}
    names = ("sigma_max", "sigma_min", "log10_condition")
    return {
        name: tuple(
            float(np.median([seed[name] for seed in measured[when]]))
            for when in ("initial", "final")
        )
        for name in names
    }
