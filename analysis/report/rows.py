"""The report's numbers: stored sweep records turned into rows, with intervals over seeds.

Decay rows (one per variant and forget bias), training rows (one per variant and length),
length rows (one per variant: solve rate at each length, longest solved, first failure) and
flow rows (gradient-flow snapshots during training, summarised over seeds). Every interval
is over seeds: a Wilson 95% interval on a solve rate, median and IQR of steps to solve, a
bootstrap 95% interval on a median half-life.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis._util import stats
from analysis.flow import classify
from analysis.report.flow_text import describe_flow, half_life_interval, non_finite_seeds

__all__ = [
    "SOLVES_AT",
    "decay_rows",
    "find",
    "flow_rows",
    "length_rows",
    "training_outcome",
    "training_rows",
    "variant_of",
]

SOLVES_AT = 0.5  # a variant "solves" a length when at least half of its seeds do


def variant_of(config: Mapping[str, Any]) -> str:
    """ "candidate/output" of a stored cell config.

    Args:
        config: a cell's config (candidate, output fields).

    Returns:
        the variant name used throughout the report.
    """
    return f"{config['candidate']}/{config['output']}"


def find(rows: Sequence[Mapping], variant: str, **fields: Any) -> Mapping | None:
    """The first row of `variant` whose other fields equal `fields`, or None.

    Args:
        rows: report rows; variant: its name; **fields: e.g. forget_bias=1.0, T=100.

    Returns:
        the row or None.
    """
    for r in rows:
        if r["variant"] == variant and all(r.get(k) == v for k, v in fields.items()):
            return r
    return None


def _interval(iv: stats.Interval) -> list[float]:
    return [iv.estimate, iv.low, iv.high]


def decay_rows(records: Sequence[Mapping]) -> list[dict]:
    """One row per decay cell: median fit over seeds, half-life interval, flow class.

    Args:
        records: sweep records of `experiments.decay.run_cell`.

    Returns:
        rows with variant, forget_bias, T, rate (median over seeds), half_life and
        half_life_ci ([ln 2 / -rate, lo, hi], `half_life_interval`), r2, rate_c,
        lyapunov_max, max_abs_c, forget_mean, saturated_fraction, finite, unbounded_state
        (max |c| > T), flow (a `classify.CLASSES` entry), flow_text (with the count of
        non-finite seeds), non_finite_seeds, seeds.
    """
    rows = []
    for rec in records:
        res, conf = rec["result"], rec["config"]
        fit = res["fit"]["h"]
        non_finite = non_finite_seeds(res["exploded_reasons"])
        finite = not non_finite
        seeds = len(fit["per_seed"])
        rate = float(fit["rate"])
        max_c = float(res["telemetry"]["c_max"])
        unbounded = not max_c <= int(conf["length"])
        hl_ci = half_life_interval([float(f["rate"]) for f in fit["per_seed"]])
        hl = hl_ci[0]
        rows.append(
            {
                "variant": variant_of(conf),
                "forget_bias": float(conf["forget_bias"]),
                "T": int(conf["length"]),
                "rate": rate,
                "half_life": hl,
                "half_life_ci": hl_ci,
                "r2": float(fit["r2"]),
                "rate_c": float(res["fit"]["c"]["rate"]),
                "lyapunov_max": float(res["lyapunov"]["largest"]),
                "max_abs_c": max_c,
                "forget_mean": float(res["telemetry"]["forget_mean"]),
                "saturated_fraction": float(res["telemetry"]["saturated_fraction"]),
                "finite": finite,
                "unbounded_state": unbounded,
                "flow": classify.classify(rate, finite, unbounded),
                "flow_text": describe_flow(rate, hl, unbounded, non_finite, seeds),
                "non_finite_seeds": non_finite,
                "seeds": seeds,
            }
        )
    return rows


def training_outcome(seed_result: Mapping[str, Any], baseline: float) -> str:
    """One seed's outcome.

    Formula: solved; else diverged (a non-finite loss); else blew up (final test loss above
    10x the baseline, or non-finite); else stuck at baseline (at or above 0.8x it); else
    learning, not solved.

    Args:
        seed_result: one `train.train` per-seed entry; baseline: the task's baseline loss.

    Returns:
        the outcome string.
    """
    if seed_result["solved_step"] is not None:
        return "solved"
    if seed_result["diverged_at"] is not None:
        return "diverged"
    final = float(seed_result["final_test_loss"])
    if not math.isfinite(final) or final > 10 * baseline:
        return "blew up"
    if final >= 0.8 * baseline:
        return "stuck at baseline"
    return "learning, not solved"


def _training_row(rec: Mapping) -> dict:
    res, conf = rec["result"], rec["config"]
    base = float(res["baseline"])
    per = res["per_seed"]
    outcomes = [training_outcome(s, base) for s in per]
    counts = {o: outcomes.count(o) for o in dict.fromkeys(outcomes)}
    solved = [s["solved_step"] for s in per]
    k, n = sum(s is not None for s in solved), len(per)
    return {
        "variant": variant_of(conf),
        "T": int(conf["length"]),
        "outcome": max(counts, key=counts.get),
        "outcomes": outcomes,
        "solved": k,
        "n": n,
        "solve_rate_ci": _interval(stats.wilson(k, n)),
        "steps_to_solve": _interval(stats.median_iqr([s for s in solved if s is not None])),
        "solved_steps": solved,
        "diverged_at": [s["diverged_at"] for s in per],
        "final_test_loss": stats.median([float(s["final_test_loss"]) for s in per]),
        "baseline": base,
        "steps": int(conf["steps"]),
        "wall_s": float(res["wall_s"]),
        "snapshot_s": float(res.get("snapshot_s") or 0.0),
        "snapshot_first_s": float(res.get("snapshot_first_s") or 0.0),
        "steps_per_s": float(res["steps_per_s"] or math.nan),
    }


def training_rows(records: Sequence[Mapping]) -> list[dict]:
    """One row per training cell (variant at a length), sorted by variant then T.

    Args:
        records: sweep records of training cells.

    Returns:
        rows with variant, T, outcome (majority), outcomes, solved k, n, solve_rate_ci
        [k/n, lo, hi] (Wilson 95%), steps_to_solve [median, q25, q75], solved_steps,
        diverged_at, final_test_loss (median), baseline, steps, wall_s, snapshot_s,
        snapshot_first_s, steps_per_s.
    """
    return sorted((_training_row(r) for r in records), key=lambda r: (r["variant"], r["T"]))


def length_rows(trows: Sequence[Mapping], variants: Sequence[str], lengths: Sequence[int]):
    """Per variant: the solve rate at each length, the longest it solves, where it first fails.

    Formula: a variant solves T when solved/n >= SOLVES_AT; "longest solved" is the largest
    such T trained, "first fails" the smallest trained T that is not solved.

    Args:
        trows: `training_rows`; variants: names; lengths: the lengths asked for, ascending.

    Returns:
        [{"variant", "by_length": {T: row or None (not trained)}, "longest_solved": T or None,
        "first_fails": T or None}].
    """
    out = []
    for v in variants:
        by = {int(t): find(trows, v, T=int(t)) for t in lengths}
        tried = [(t, r["solved"] / r["n"] >= SOLVES_AT) for t, r in sorted(by.items()) if r]
        longest = max((t for t, ok in tried if ok), default=None)
        first_fail = min((t for t, ok in tried if not ok), default=None)
        out.append(
            {"variant": v, "by_length": by, "longest_solved": longest, "first_fails": first_fail}
        )
    return out


def _ends(snaps: Sequence[Mapping]) -> list[float]:
    """[half-life at a seed's first snapshot, at its last]; [] without snapshots."""
    if not snaps:
        return []
    ordered = sorted(snaps, key=lambda s: s["step"])
    return [float(ordered[0]["half_life"]), float(ordered[-1]["half_life"])]


def flow_rows(records: Sequence[Mapping]) -> list[dict]:
    """Gradient flow during training, per training cell: medians over seeds per snapshot.

    Args:
        records: sweep records of training cells (per-seed ``flow_snapshots``).

    Returns:
        rows with variant, T, steps [snapshot steps], half_life [median per step],
        half_life_ci [[median, lo, hi] per step], rate, lyapunov_max, max_abs_c (medians),
        flow [class of the median rate per step], seeds_at [seeds measured per step],
        half_life_ends [[first, last] half-life per seed, in the record's seed order].
    """
    rows = []
    for rec in records:
        per = rec["result"]["per_seed"]
        steps = sorted({s["step"] for p in per for s in p.get("flow_snapshots", [])})
        if not steps:
            continue

        def at(step: int, key: str, per: list = per) -> list[float]:
            return [float(s[key]) for p in per for s in p["flow_snapshots"] if s["step"] == step]

        rates = [stats.median(at(st, "rate")) for st in steps]
        rows.append(
            {
                "variant": variant_of(rec["config"]),
                "T": int(rec["config"]["length"]),
                "steps": steps,
                "half_life": [stats.median(at(st, "half_life")) for st in steps],
                "half_life_ci": [
                    _interval(stats.bootstrap_ci(at(st, "half_life"))) for st in steps
                ],
                "rate": rates,
                "lyapunov_max": [stats.median(at(st, "lyapunov_max")) for st in steps],
                "max_abs_c": [stats.median(at(st, "max_abs_c")) for st in steps],
                "flow": [classify.classify(r) for r in rates],
                "seeds_at": [len(at(st, "rate")) for st in steps],
                # per seed, in the record's seed order (as `training_rows`' outcomes)
                "half_life_ends": [_ends(p.get("flow_snapshots", [])) for p in per],
            }
        )
    return sorted(rows, key=lambda r: (r["variant"], r["T"]))
