"""The `actgrad decay` experiment: one sweep cell, its verdict, the summary and the table.

A cell is a `DecayConfig`: a recurrent cell (the LSTM by default, or any of
`analysis.cells`) plus ``length``, ``batch``, ``loss`` and ``lyapunov_k``. `decay_measure`
measures every seed (norms and log-norms of dL/d state_t, telemetry, Lyapunov exponents);
this module fits the decay of each state's log-norm (`gradients.fit_decay`, finite at any T),
classifies it (`analysis.flow.classify`) and summarises over seeds.

Exploded (per seed; a cell explodes when any seed does), any of:

* a non-finite gradient norm or state (overflow: the measurement itself broke down);
* a positive decay rate of ||dL/dh_t|| (the gradient grows going back in time);
* max |state_t| > ``length``: no LSTM whose gates lie in [0, 1] and whose candidate lies in
  [-1, 1] can get there from c_0 = 0 in ``length`` steps (|c_t| <= t), so a cell past it
  grows without the bound that a saturating candidate gives.

"Exploded" is the strict flag behind ``--fail-on-explosion``; the words in tables and
legends are the four classes of `analysis.flow.classify` (vanishing, stable, growing,
exploding), so a gradient x1.02 per step and one x10^17 never share a word.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis import cells
from analysis.cells import lstm
from analysis.experiments import decay_measure
from analysis.experiments.decay_config import FIELDS, LSTM_FIELDS, RUN_FIELDS, DecayConfig
from analysis.flow import classify, gradients
from analysis.util import stats

__all__ = [
    "FIELDS",
    "LSTM_FIELDS",
    "RUN_FIELDS",
    "DecayConfig",
    "explosion",
    "format_table",
    "lstm_config",
    "run_cell",
    "summary_rows",
    "validate_cell",
    "variant_label",
]


def lstm_config(cell: Mapping[str, Any]) -> lstm.LSTMConfig:
    """The `LSTMConfig` part of a cell record (ValueError/TypeError if the cell is invalid).

    Args:
      cell: a `DecayConfig.to_dict()` record.

    Returns:
      the cell's `LSTMConfig`.
    """
    return DecayConfig.from_dict(cell).lstm_config()


def validate_cell(cell: Mapping[str, Any]) -> DecayConfig:
    """Check a whole cell record before any work; ValueError naming the bad field.

    Args:
      cell: field name -> value, every field of `DecayConfig` or a subset (defaults fill in).

    Returns:
      the validated `DecayConfig`.
    """
    return DecayConfig.from_dict(cell)


def explosion(
    norms_h: np.ndarray, norms_c: np.ndarray, rate_h: float, c_max: float, length: int
) -> str | None:
    """Why one seed counts as exploded (see the module docstring), or None."""
    if not (np.isfinite(norms_h).all() and np.isfinite(norms_c).all()):
        return "non-finite gradient"
    if not math.isfinite(c_max):
        return "non-finite cell state"
    if rate_h > 0:
        return "gradient grows going back"
    if c_max > length:
        return f"max|c| {c_max:.3g} > length {length}"
    return None


def _fits(log_norms: dict[str, np.ndarray]) -> dict[str, list[gradients.DecayFit]]:
    # sLSTM's stabiliser m never carries gradient (shifting m while rescaling c and n changes
    # nothing): its norms are rounding noise and are not fitted.
    return {
        state: [gradients.fit_decay(log_norms=row) for row in rows]
        for state, rows in log_norms.items()
        if state != "m"
    }


def _summary(fits: list[gradients.DecayFit]) -> dict:
    rate = stats.median([f.rate for f in fits])
    return {
        "per_seed": [f._asdict() for f in fits],
        "rate": rate,
        "half_life": math.log(2) / -rate if rate < 0 else math.inf,
        "r2": stats.median([f.r2 for f in fits]),
    }


def _telemetry_summary(tel: dict[str, np.ndarray], state_max: list[float]) -> dict:
    gate_means = [v for k, v in tel.items() if k.endswith("_mean")]
    return {
        "c_max": max(state_max),
        "h_max": float(np.max(tel["h_max"])),
        "forget_mean": float(np.mean(tel["forget_mean"])) if "forget_mean" in tel else math.nan,
        "gate_mean": float(np.mean(gate_means)) if gate_means else math.nan,
        "saturated_fraction": float(np.mean(tel.get("saturated_fraction", math.nan))),
        "curves": {k: v.tolist() for k, v in tel.items()},
    }


def run_cell(cell: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """Measure one cell for all seeds at once; a JSON-able result (see the module docstring).

    Args:
      cell: a `DecayConfig.to_dict()` record.
      seeds: the seeds, measured together under vmap.

    Returns:
      norms and log-norms per state (S, T), fits per state (median over seeds and per seed),
      Lyapunov exponents, telemetry, the class, the explosion flag with its reasons, seconds.
    """
    t0 = time.perf_counter()
    run = DecayConfig.from_dict(cell)
    out = decay_measure.measure(run, list(seeds))
    norms, logs, tel = out["norms"], out["log_norms"], out["telemetry"]
    fits = _fits(logs)
    # the largest state: c for the LSTM, h for a GRU; NaN counts as unbounded
    maxima = np.stack([v for k, v in tel.items() if k.endswith("_max")])
    state_max = [float(np.max(np.where(np.isnan(m), np.inf, m))) for m in maxima.max(axis=0)]
    all_norms = np.concatenate([norms[k] for k in fits], axis=1)
    reasons = [
        explosion(all_norms[i], all_norms[i], fits["h"][i].rate, state_max[i], run.length)
        for i in range(len(seeds))
    ]
    summary = {state: _summary(fl) for state, fl in fits.items()}
    lyap = out["lyapunov"]
    driven = {} if run.inputs == "noise" else {"inputs": _inputs_record(run)}
    return {
        **driven,
        # natural-log norms beside the plain ones: finite at any T, what plots and fits use
        "norms": {
            **{k: v.tolist() for k, v in norms.items()},
            **{f"log_{k}": v.tolist() for k, v in logs.items()},
        },
        "fit": summary,
        "class": _class(summary["h"], all_norms, state_max, run.length),
        "lyapunov": {
            "per_seed": lyap.tolist(),
            "largest": stats.median(lyap[:, 0]) if lyap.shape[1] else math.nan,
        },
        "telemetry": _telemetry_summary(tel, state_max),
        "exploded": any(r is not None for r in reasons),
        "exploded_reasons": reasons,
        "seconds": time.perf_counter() - t0,
    }


def _inputs_record(run: DecayConfig) -> dict:
    """Which real sequences drove a cell: the data set's record and how the batch was drawn."""
    from analysis import data

    info = data.load(run.inputs).info
    return {
        **info,
        "batch": f"{run.batch} sequences of the train split per seed, drawn by the seed's key",
    }


def _class(fit_h: Mapping[str, Any], norms: np.ndarray, state_max: list[float], length: int):
    finite = bool(np.isfinite(norms).all()) and all(math.isfinite(m) for m in state_max)
    unbounded = max(state_max) > length
    return classify.describe(fit_h["rate"], fit_h["half_life"], finite, unbounded)


def variant_label(cell: Mapping[str, Any], compare_fields: Sequence[str]) -> str:
    """``candidate=relu, forget_bias=3`` for the compared fields; the cell's slots if none.

    Args:
      cell: a cell record; compare_fields: the fields a ``--compare`` varied.

    Returns:
      the label of the cell in tables and legends.
    """
    cell = cells.flat_config(cell)
    if not compare_fields:
        name = cell["cell"]
        if name == "lstm":
            return (
                f"{cell['gate']}/{cell['candidate']}/{cell['output']}, b_f={cell['forget_bias']:g}"
            )
        slots = "/".join(str(cell[k]) for k in ("gate", "candidate") if k in cell)
        return f"{name} {slots}"
    return ", ".join(
        f"{k}={cell[k]:g}" if _is_num(cell.get(k)) else f"{k}={cell.get(k)}" for k in compare_fields
    )


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _as_float(v: Any) -> float:
    return float(v)  # "inf" / "nan" strings from the JSON store convert too


def summary_rows(records: Sequence[Mapping], compare_fields: Sequence[str]) -> list[dict]:
    """One row per cell: variant, class, median rate / half-life / r2 of ||dL/dh||, max|state|.

    Args:
      records: results.jsonl records of `run_cell`; compare_fields: as in `variant_label`.

    Returns:
      one dict per record (NaN where a cell has no such state or gate, e.g. a GRU's c).
    """
    rows = []
    for rec in records:
        res = rec["result"]
        fit, tel = res["fit"]["h"], res["telemetry"]
        rows.append(
            {
                "variant": variant_label(rec["config"], compare_fields),
                "class": res.get("class", ""),
                "rate": _as_float(fit["rate"]),
                "half_life": _as_float(fit["half_life"]),
                "r2": _as_float(fit["r2"]),
                "rate_c": _as_float(res["fit"].get("c", {}).get("rate", math.nan)),
                "lyapunov_max": _as_float(res["lyapunov"]["largest"]),
                "exploded": bool(res["exploded"]),
                "reasons": sorted({r for r in res["exploded_reasons"] if r}),
                "c_max": _as_float(tel["c_max"]),
                "forget_mean": _as_float(tel.get("forget_mean", math.nan)),
                "saturated_fraction": _as_float(tel.get("saturated_fraction", math.nan)),
            }
        )
    return rows


def format_table(rows: Sequence[Mapping]) -> str:
    """The table `actgrad decay` prints (rates are of ||dL/dh_t||, medians over seeds).

    Args:
      rows: `summary_rows`.

    Returns:
      the text, one line per row under a header; "class" is `analysis.flow.classify`'s word.
    """
    width = max([len("variant"), *(len(r["variant"]) for r in rows)])
    lines = [
        f"{'variant':<{width}}  {'rate/step':>10}  {'half-life':>10}  {'r^2':>6}  "
        f"{'max|state|':>10}  class"
    ]
    for r in rows:
        hl = r["half_life"]
        hl_s = "inf" if math.isinf(hl) else ("nan" if math.isnan(hl) else f"{hl:.1f}")
        word = (r["class"] or "").split(" (")[0]
        lines.append(
            f"{r['variant']:<{width}}  {r['rate']:>+10.4f}  {hl_s:>10}  {r['r2']:>6.3f}  "
            f"{r['c_max']:>10.3g}  {word}"
        )
    return "\n".join(lines)
