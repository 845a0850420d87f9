"""The "Why gating?" numbers: one row per (design, activation), and which differences hold.

A row joins a decay record (the fitted rate of ln ||dL/dh_t|| per seed: median, bootstrap 95%
interval over seeds of the half-life and of the rate, the `classify` class) and a training
record (seeds solved with a Wilson 95% interval, steps to solve as median and IQR). Two rows
differ in a quantity only when those intervals separate (`stats.separated`); otherwise the
difference is "not distinguishable" at that number of seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis._util import stats
from analysis.flow import classify
from analysis.report import flow_text, gating
from analysis.report import rows as R
from analysis.report.config import ReportConfig

__all__ = ["decay_part", "differs", "find", "gating_rows", "train_part"]


_TRAIN_KEYS = ("T", "solved", "n", "solve_rate_ci", "steps_to_solve", "outcome", "outcomes")
_TRAIN_KEYS += ("final_test_loss", "train_wall_s")


def _iv(iv: stats.Interval) -> list[float]:
    return [iv.estimate, iv.low, iv.high]


def decay_part(record: Mapping[str, Any]) -> dict:
    """The decay numbers of one gating cell.

    Formula: per seed the fitted rate r_s of ln ||dL/dh_t|| per step back; the row's rate r
    is the median of r_s with a bootstrap 95% interval [lo, hi] over seeds; its half-life is
    ln 2 / -r (inf for r >= 0) with the interval [ln 2 / -lo, ln 2 / -hi]
    (`flow_text.half_life_interval`, as in the decay table: one number behind every table, legend
    and sentence, so a reused LSTM cell reads the same in both sections); the class is
    `classify.classify(r, finite, max |state| > T)`.

    Args:
        record: a sweep record of `experiments.decay.run_cell` (any cell).

    Returns:
        {"T_decay", "rate", "rate_ci", "half_life", "half_life_ci" ([median, lo, hi],
        bootstrap 95% over seeds), "flow", "flow_text", "max_state", "h_max", "finite",
        "decay_seeds"}.
    """
    res = record["result"]
    per = res["fit"]["h"]["per_seed"]
    rates = [float(f["rate"]) for f in per]
    length = int(record["config"]["length"])
    non_finite = flow_text.non_finite_seeds(res["exploded_reasons"])
    finite = not non_finite
    max_state = float(res["telemetry"]["c_max"])
    unbounded = not max_state <= length
    rate_ci = stats.bootstrap_ci(rates)
    hl_ci = flow_text.half_life_interval(rates)  # the decay table's estimator: one number per cell
    hl = hl_ci[0]
    return {
        "T_decay": length,
        "rate": rate_ci.estimate,
        "rate_ci": _iv(rate_ci),
        "half_life": hl,
        "half_life_ci": hl_ci,
        "flow": classify.classify(rate_ci.estimate, finite, unbounded),
        "flow_text": flow_text.describe_flow(
            rate_ci.estimate, hl, unbounded, non_finite, len(res["exploded_reasons"])
        ),
        "max_state": max_state,
        "h_max": float(res["telemetry"].get("h_max", math.nan)),
        "finite": finite,
        "decay_seeds": len(per),
    }


def train_part(record: Mapping[str, Any]) -> dict:
    """The training numbers of one gating cell.

    Formula: k seeds solved of n, Wilson 95% interval on k/n; steps to solve: median and
    IQR over the solved seeds; outcome per seed as `rows.training_outcome`.

    Args:
        record: a sweep record of a training cell (`experiments.train.train` result).

    Returns:
        {"T", "solved", "n", "solve_rate_ci" [k/n, lo, hi], "steps_to_solve"
        [median, q25, q75], "outcome" (majority), "outcomes", "final_test_loss" (median),
        "train_wall_s"}.
    """
    res = record["result"]
    per = res["per_seed"]
    base = float(res["baseline"])
    outcomes = [R.training_outcome(s, base) for s in per]
    steps = [s["solved_step"] for s in per if s["solved_step"] is not None]
    k, n = len(steps), len(per)
    return {
        "T": int(record["config"]["length"]),
        "solved": k,
        "n": n,
        "solve_rate_ci": _iv(stats.wilson(k, n)),
        "steps_to_solve": _iv(stats.median_iqr(steps)),
        "outcome": max(dict.fromkeys(outcomes), key=outcomes.count),
        "outcomes": outcomes,
        "final_test_loss": stats.median([float(s["final_test_loss"]) for s in per]),
        "train_wall_s": float(res["wall_s"]),
    }


def gating_rows(cfg: ReportConfig, measured: Mapping[str, Sequence[Mapping]]) -> list[dict]:
    """One row per (design, activation), design-major, activations inner.

    Args:
        cfg: the report (gating_designs, gating_activations).
        measured: `gating.run_gating`'s {"decay": records, "train": records}, aligned with
            `gating.decay_cells` / `gating.train_cells` (the train list may be empty).

    Returns:
        rows {"design", "cell", "note", "activation", **decay_part, **train_part} (training
        fields None when the cell was not trained).
    """
    pairs = [(n, a) for n in cfg.gating_designs for a in cfg.gating_activations]
    trains = list(measured.get("train") or [None] * len(pairs))
    empty = dict.fromkeys(_TRAIN_KEYS)
    rows = []
    for (name, act), drec, trec in zip(pairs, measured["decay"], trains, strict=True):
        d = gating.design(name)
        rows.append(
            {
                "design": name,
                "cell": d.cell,
                "note": d.note,
                "activation": act,
                **decay_part(drec),
                **(train_part(trec) if trec is not None else empty),
            }
        )
    return rows


def find(rows: Sequence[Mapping], design: str, activation: str) -> Mapping | None:
    """The row of (design, activation), or None when that design was not run.

    Args:
        rows: `gating_rows`; design: a design name; activation: a kernel name.

    Returns:
        the row or None.
    """
    for r in rows:
        if r["design"] == design and r["activation"] == activation:
            return r
    return None


def differs(a: Mapping, b: Mapping, key: str) -> int:
    """Whether a's interval of `key` lies wholly above (+1) or below (-1) b's, else 0.

    Formula: +1 if a.low > b.high, -1 if a.high < b.low, 0 if they overlap or either is
    undefined (nan, or a training field of an untrained cell).

    Args:
        a, b: gating rows; key: "half_life_ci", "rate_ci" or "solve_rate_ci".

    Returns:
        +1, -1 or 0.
    """
    if a.get(key) is None or b.get(key) is None:
        return 0
    ia, ib = stats.Interval(*a[key]), stats.Interval(*b[key])
    if not stats.separated(ia, ib):
        return 0
    return 1 if ia.low > ib.high else -1
