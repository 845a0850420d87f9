"""Stored sweep records turned into the report's rows (`analysis.report.model`).

One function per row kind; every interval comes from `compare` (the page's one set of
statistics). Nothing here writes English: outcomes and flow classes are keys that the
templates name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.flow import classify
from analysis.report import variants
from analysis.report.model import (
    DecayRow,
    FlowRow,
    GatingRow,
    LengthCell,
    LengthRow,
    LiteratureRow,
    RateRow,
    Reproduced,
    TrainRow,
)
from analysis.util import stats

__all__ = [
    "OUTCOMES",
    "SOLVES_AT",
    "decay_row",
    "decay_rows",
    "evidence_rows",
    "flow_rows",
    "gating_rows",
    "init_vs_training",
    "length_rows",
    "rate_rows",
    "reproduced",
    "train_row",
    "training_outcome",
    "training_rows",
    "variant_of",
]

SOLVES_AT = 0.5  # a variant "solves" a length when at least half of its seeds do
# a seed's outcome, in the order they are checked (the templates name each)
OUTCOMES = ("solved", "diverged", "blew_up", "stuck", "learning")


def variant_of(config: Mapping[str, Any]) -> str:
    """The variant name of a stored LSTM cell config (`variants.name_of`)."""
    return variants.name_of(config)


def decay_row(record: Mapping[str, Any], variant: str | None = None) -> DecayRow:
    """One decay cell: the median of the per-seed rates with its bootstrap interval, the
    half-life from it (`stats.half_life_of`) and the flow class.

    Args:
        record: a sweep record of `experiments.decay.run_cell` (any cell).
        variant: the row's name (default: the LSTM's "candidate/output").

    Returns:
        the DecayRow.
    """
    from analysis.cells import flat_config

    res, conf = record["result"], record["config"]
    per = res["fit"]["h"]["per_seed"]
    rates = tuple(float(f["rate"]) for f in per)
    non_finite = sum("non-finite" in (r or "") for r in res["exploded_reasons"])
    length = int(conf["length"])
    max_c = float(res["telemetry"]["c_max"])
    unbounded = not max_c <= length
    rate = stats.median_bootstrap(rates)
    tele = res["telemetry"]
    return DecayRow(
        variant=variant if variant is not None else variant_of(conf),
        forget_bias=float(flat_config(conf).get("forget_bias", math.nan)),
        T=length,
        seeds=len(per),
        rates=rates,
        rate=rate,
        half_life=stats.half_life_of(rate),
        flow=classify.classify(rate.value, not non_finite, unbounded),
        non_finite_seeds=non_finite,
        unbounded_state=unbounded,
        max_abs_c=max_c,
        r2=float(res["fit"]["h"]["r2"]),
        # cells without a c state (RNN, GRU) have no c fit; a run without Lyapunov, no exponent
        rate_c=float(res["fit"].get("c", {}).get("rate", math.nan)),
        lyapunov_max=float((res.get("lyapunov") or {}).get("largest", math.nan)),
        forget_mean=float(tele.get("forget_mean", math.nan)),
        saturated_fraction=float(tele.get("saturated_fraction", math.nan)),
    )


def decay_rows(records: Sequence[Mapping]) -> tuple[DecayRow, ...]:
    """One row per decay record, in the records' order."""
    return tuple(decay_row(r) for r in records)


def training_outcome(seed_result: Mapping[str, Any], baseline: float) -> str:
    """One seed's outcome, an `OUTCOMES` key.

    Formula: solved; else diverged (a non-finite loss during training); else blew_up (final
    test loss non-finite or above 10x the baseline); else stuck (at or above 0.8x the
    baseline); else learning (below it, not solved).
    """
    if seed_result["solved_step"] is not None:
        return "solved"
    if seed_result["diverged_at"] is not None:
        return "diverged"
    final = float(seed_result["final_test_loss"])
    if not math.isfinite(final) or final > 10 * baseline:
        return "blew_up"
    if final >= 0.8 * baseline:
        return "stuck"
    return "learning"


def train_row(record: Mapping[str, Any], variant: str | None = None) -> TrainRow:
    """One training cell: seeds solved (Wilson interval), steps to solve (median, IQR),
    outcomes, median final test loss."""
    res, conf = record["result"], record["config"]
    base = float(res["baseline"])
    per = res["per_seed"]
    outcomes = tuple(training_outcome(s, base) for s in per)
    solved = tuple(s["solved_step"] for s in per)
    k = sum(s is not None for s in solved)
    finals = [float(s["final_test_loss"]) for s in per]
    return TrainRow(
        variant=variant if variant is not None else variant_of(conf),
        T=int(conf["length"]),
        solved=stats.wilson(k, len(per)),
        steps_to_solve=stats.median_iqr([s for s in solved if s is not None]),
        solved_steps=solved,
        outcomes=outcomes,
        outcome=max(dict.fromkeys(outcomes), key=outcomes.count),
        outcome_counts={o: outcomes.count(o) for o in OUTCOMES if o in outcomes},
        # nan (a diverged seed) is left out; an inf loss (blew up) stays in the median
        final_test_loss=float(np.median([f for f in finals if not math.isnan(f)] or [math.nan])),
        baseline=base,
        steps=int(conf["steps"]),
        wall_s=float(res["wall_s"]),
        lr=float(conf["lr"]),
    )


def training_rows(records: Sequence[Mapping]) -> tuple[TrainRow, ...]:
    """One row per training cell, sorted by variant then length."""
    return tuple(sorted((train_row(r) for r in records), key=lambda r: (r.variant, r.T)))


def rate_rows(
    records: Sequence[Mapping], labels: Sequence[str] | None = None
) -> tuple[RateRow, ...]:
    """One row per learning-rate search record (`stages.tune_result`'s), in order.

    Args:
        records: the search records; labels: each row's name (default: the LSTM variant of
            its config).

    Returns:
        the rows.
    """
    rows = []
    for i, rec in enumerate(records):
        res = rec["result"]
        found = res["trials"]
        rows.append(
            RateRow(
                variant=labels[i] if labels is not None else variant_of(rec["config"]),
                T=int(rec["config"]["length"]),
                lrs=tuple(float(t["lr"]) for t in found),
                solved=tuple(int(t["solved"]) for t in found),
                seeds=int(found[0]["seeds"]) if found else 0,
                final_test_loss=tuple(float(t["final_test_loss"]) for t in found),
                chosen=float(res["chosen_lr"]),
            )
        )
    return tuple(rows)


def length_rows(
    rows: Sequence[TrainRow], variants: Sequence[str], lengths: Sequence[int]
) -> tuple[LengthRow, ...]:
    """Per variant: each length's row, the longest solved (k/n >= SOLVES_AT) and the shortest
    trained length that is not."""
    out = []
    for v in variants:
        cells = tuple(
            LengthCell(t, next((r for r in rows if r.variant == v and r.T == t), None))
            for t in sorted(lengths)
        )
        tried = [(c.T, c.row.solved.rate >= SOLVES_AT) for c in cells if c.row is not None]
        out.append(
            LengthRow(
                v,
                cells,
                max((t for t, ok in tried if ok), default=None),
                min((t for t, ok in tried if not ok), default=None),
            )
        )
    return tuple(out)


def flow_rows(records: Sequence[Mapping]) -> tuple[FlowRow, ...]:
    """Gradient flow during training per cell: at each snapshot step, the median rate over
    seeds with its bootstrap interval, turned into a half-life as at initialisation."""
    rows = []
    for rec in records:
        per = rec["result"]["per_seed"]
        steps = sorted({s["step"] for p in per for s in p.get("flow_snapshots", [])})
        if not steps:
            continue

        def at(step: int, key: str, per: list = per) -> list[float]:
            return [float(s[key]) for p in per for s in p["flow_snapshots"] if s["step"] == step]

        rates = [stats.median_bootstrap(at(st, "rate")) for st in steps]
        rows.append(
            FlowRow(
                variant=variant_of(rec["config"]),
                T=int(rec["config"]["length"]),
                steps=tuple(steps),
                half_life=tuple(stats.half_life_of(r) for r in rates),
                rate=tuple(r.value for r in rates),
                flow=tuple(classify.classify(r.value) for r in rates),
                lyapunov_max=tuple(float(np.median(at(st, "lyapunov_max"))) for st in steps),
                max_abs_c=tuple(float(np.median(at(st, "max_abs_c"))) for st in steps),
                seeds_at=tuple(len(at(st, "rate")) for st in steps),
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.variant, r.T)))


def gating_rows(
    pairs: Sequence[tuple[Any, str]], measured: Mapping[str, Any]
) -> tuple[GatingRow, ...]:
    """One row per (design, activation) of "Why gating?".

    Args:
        pairs: (`gating.Design`, activation) in page order.
        measured: `gating.run_gating`'s {"decay": records, "tune": search records or [],
            "train": records or []}, aligned with `pairs`.

    Returns:
        the rows.
    """
    trains = list(measured.get("train") or [None] * len(pairs))
    searches = list(measured.get("tune") or [None] * len(pairs))
    rows = []
    for (d, act), drec, trec, srec in zip(pairs, measured["decay"], trains, searches, strict=True):
        label = f"{d.name} ({act})"
        rows.append(
            GatingRow(
                design=d.name,
                cell=d.cell,
                note=d.note,
                activation=act,
                decay=decay_row(drec, label),
                train=train_row(trec, label) if trec is not None else None,
                max_state=float(drec["result"]["telemetry"]["c_max"]),
                search=rate_rows([srec], [label])[0] if srec is not None else None,
            )
        )
    return tuple(rows)


def init_vs_training(
    decay: Sequence[DecayRow],
    training: Sequence[TrainRow],
    gating: Sequence[GatingRow],
    forget_bias: float,
    length: int,
) -> tuple[tuple[str, str, DecayRow, TrainRow], ...]:
    """Every trained cell beside its own decay at initialisation: (group, label, decay row,
    training row). Groups: "variants" (the LSTM variants trained at `length`, decayed at
    `forget_bias`) and "designs" (each "Why gating?" design and activation)."""
    at = {r.variant: r for r in decay if r.forget_bias == forget_bias}
    pairs = [
        ("variants", t.variant, at[t.variant], t)
        for t in training
        if t.T == length and t.variant in at
    ]
    pairs += [("designs", g.decay.variant, g.decay, g.train) for g in gating if g.train]
    return tuple(pairs)


def evidence_rows(decay: Sequence[DecayRow], training: Sequence[TrainRow]) -> tuple[list, list]:
    """The decay and training rows as the claims audit reads them (plain mappings)."""
    d = [
        {
            "variant": r.variant,
            "forget_bias": r.forget_bias,
            "rate": r.rate.value,
            "half_life": r.half_life.value,
            "half_life_ci": [r.half_life.value, r.half_life.low, r.half_life.high],
            "flow": r.flow,
            "max_abs_c": r.max_abs_c,
            "seeds": r.seeds,
            "rates": list(r.rates),
        }
        for r in decay
    ]
    t = [
        {
            "variant": r.variant,
            "T": r.T,
            "outcome": r.outcome,
            "solved_steps": list(r.solved_steps),
            "final_test_loss": r.final_test_loss,
        }
        for r in training
    ]
    return d, t


def reproduced(record: Mapping[str, Any], figure: str = "") -> Reproduced:
    """One reproduction's record (`analysis.reproduce.run`'s dict) as the page's rows: each
    row's published and measured values as the reproduction words them.

    Args:
        record: the reproduction's result; figure: the stem of its figure, "" for none.
    """
    rows = tuple(
        LiteratureRow(
            where=str(row["where"]),
            summary=str(row["summary"]),
            published=str(row["published_text"]),
            ours=str(row["ours_text"]),
            interval=str(row.get("interval") or ""),
            n=int(row.get("ours_n") or 0),
            agrees=None if row["agrees"] is None else bool(row["agrees"]),
        )
        for row in record["result"]["rows"]
    )
    return Reproduced(
        name=record["name"],
        paper=record["paper"],
        setting=record["setting"],
        compared=record["compared"],
        preset=record["preset"],
        differences=tuple(record["differences"]),
        rows=rows,
        figure=figure,
        seeds=tuple(int(s) for s in record["result"].get("seeds", ())),
    )
