"""The `actgrad decay` experiment: one sweep cell, its verdict, the summary and the table.

A cell is one LSTM configuration (every `lstm.LSTMConfig` field) plus ``length``, ``batch``,
``loss`` and ``lyapunov_k``. For each seed: parameters from `lstm.init`, inputs
x ~ N(0, 1) of shape (batch, length, input_size), then `gradients.per_step_grad_norms`,
`gradients.fit_decay` of both norm curves, `gradients.telemetry` and the top
``lyapunov_k`` Lyapunov exponents. The seeds of a cell run together under ``vmap``
(`sweep.map_seeds`).

Exploded (per seed; a cell explodes when any seed does), any of:

* a non-finite gradient norm or state (overflow: the measurement itself broke down);
* a positive decay rate of ||dL/dh_t|| (the gradient grows going back in time);
* max |c_t| > ``length``: no LSTM whose gates lie in [0, 1] and whose candidate lies in
  [-1, 1] can get there from c_0 = 0 in ``length`` steps (|c_t| <= t), so a cell past it
  grows without the bound that a saturating candidate gives.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.cells import lstm
from analysis.experiments import sweep
from analysis.experiments.decay_config import FIELDS, LSTM_FIELDS, RUN_FIELDS, DecayConfig
from analysis.flow import gradients

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


def _one_seed(
    cfg: lstm.LSTMConfig, length: int, batch: int, loss: str, k: int, key: Any, forget_bias: Any
) -> dict:
    """One seed's measurements. ``cfg.forget_bias`` is 0 here and the cell's forget bias
    comes in traced, so cells that differ only in it share one compiled program."""
    import jax
    import jax.numpy as jnp

    k_param, k_data, k_lyap = jax.random.split(key, 3)
    params = lstm.init(k_param, cfg)
    h = cfg.hidden_size
    params = params._replace(b=params.b.at[h : 2 * h].add(forget_bias.astype(params.b.dtype)))
    xs = jax.random.normal(k_data, (batch, length, cfg.input_size), cfg.jnp_dtype)
    norms = gradients.per_step_grad_norms(params, xs, cfg, loss)
    out = {"h": norms.h, "c": norms.c, "telemetry": gradients.telemetry(params, xs, cfg)}
    if k:
        out["lyapunov"] = gradients.lyapunov_spectrum(params, xs, cfg, k=k, key=k_lyap)
    else:
        out["lyapunov"] = jnp.zeros((0,), cfg.jnp_dtype)
    return out


def _median(values: Sequence[float]) -> float:
    arr = np.asarray(values, np.float64)
    arr = arr[~np.isnan(arr)]
    return float(np.median(arr)) if arr.size else math.nan


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


def _fit_dict(fit: gradients.DecayFit) -> dict:
    return fit._asdict()


def run_cell(cell: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """Measure one cell for all seeds at once; a JSON-able result (see the module docstring)."""
    import jax

    t0 = time.perf_counter()
    import jax.numpy as jnp

    run = DecayConfig.from_dict(cell)
    cfg = run.lstm_config()
    # init adds forget_bias to b[H:2H]; adding it after an init with 0 gives the same params.
    shared = dataclasses.replace(cfg, forget_bias=0.0)
    fn = functools.partial(_one_seed, shared, run.length, run.batch, run.loss, run.lyapunov_k)
    fb = jnp.asarray(cfg.forget_bias, jnp.float64 if cfg.dtype == "float64" else jnp.float32)
    out = jax.device_get(sweep.map_seeds(fn, sweep.seed_keys(seeds), fb))
    h = np.asarray(out["h"], np.float64)
    c = np.asarray(out["c"], np.float64)
    tel = {k: np.asarray(v, np.float64) for k, v in out["telemetry"].items()}
    lyap = np.asarray(out["lyapunov"], np.float64)
    fits = {
        "h": [gradients.fit_decay(row) for row in h],
        "c": [gradients.fit_decay(row) for row in c],
    }
    c_max = [float(np.max(np.where(np.isnan(r), np.inf, r))) for r in tel["c_max"]]
    reasons = [
        explosion(h[i], c[i], fits["h"][i].rate, c_max[i], cell["length"])
        for i in range(len(seeds))
    ]
    summary = {}
    for which, fl in fits.items():
        rate = _median([f.rate for f in fl])
        summary[which] = {
            "per_seed": [_fit_dict(f) for f in fl],
            "rate": rate,
            "half_life": math.log(2) / -rate if rate < 0 else math.inf,
            "r2": _median([f.r2 for f in fl]),
        }
    return {
        "norms": {"h": h.tolist(), "c": c.tolist()},
        "fit": summary,
        "lyapunov": {
            "per_seed": lyap.tolist(),
            "largest": _median(lyap[:, 0]) if lyap.shape[1] else math.nan,
        },
        "telemetry": {
            "c_max": max(c_max),
            "h_max": float(np.max(tel["h_max"])),
            "forget_mean": float(np.mean(tel["forget_mean"])),
            "saturated_fraction": float(np.mean(tel["saturated_fraction"])),
            "curves": {k: v.tolist() for k, v in tel.items()},
        },
        "exploded": any(r is not None for r in reasons),
        "exploded_reasons": reasons,
        "seconds": time.perf_counter() - t0,
    }


def variant_label(cell: Mapping[str, Any], compare_fields: Sequence[str]) -> str:
    """``candidate=relu, forget_bias=3`` for the compared fields; the cell's slots if none."""
    if not compare_fields:
        return f"{cell['gate']}/{cell['candidate']}/{cell['output']}, b_f={cell['forget_bias']:g}"
    return ", ".join(
        f"{k}={cell[k]:g}" if _is_num(cell[k]) else f"{k}={cell[k]}" for k in compare_fields
    )


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _as_float(v: Any) -> float:
    return float(v)  # "inf" / "nan" strings from the JSON store convert too


def summary_rows(records: Sequence[Mapping], compare_fields: Sequence[str]) -> list[dict]:
    """One row per cell: variant, median rate / half-life / r2 of ||dL/dh||, verdict, max|c|."""
    rows = []
    for rec in records:
        res = rec["result"]
        fit = res["fit"]["h"]
        rows.append(
            {
                "variant": variant_label(rec["config"], compare_fields),
                "rate": _as_float(fit["rate"]),
                "half_life": _as_float(fit["half_life"]),
                "r2": _as_float(fit["r2"]),
                "rate_c": _as_float(res["fit"]["c"]["rate"]),
                "lyapunov_max": _as_float(res["lyapunov"]["largest"]),
                "exploded": bool(res["exploded"]),
                "reasons": sorted({r for r in res["exploded_reasons"] if r}),
                "c_max": _as_float(res["telemetry"]["c_max"]),
                "forget_mean": _as_float(res["telemetry"]["forget_mean"]),
                "saturated_fraction": _as_float(res["telemetry"]["saturated_fraction"]),
            }
        )
    return rows


def format_table(rows: Sequence[Mapping]) -> str:
    """The table `actgrad decay` prints (rates are of ||dL/dh_t||, medians over seeds)."""
    width = max([len("variant"), *(len(r["variant"]) for r in rows)])
    lines = [
        f"{'variant':<{width}}  {'rate/step':>10}  {'half-life':>10}  {'r^2':>6}  "
        f"{'exploded?':<9}  {'max|c|':>9}"
    ]
    for r in rows:
        hl = r["half_life"]
        hl_s = "inf" if math.isinf(hl) else ("nan" if math.isnan(hl) else f"{hl:.1f}")
        lines.append(
            f"{r['variant']:<{width}}  {r['rate']:>+10.4f}  {hl_s:>10}  {r['r2']:>6.3f}  "
            f"{'yes' if r['exploded'] else 'no':<9}  {r['c_max']:>9.3g}"
        )
    return "\n".join(lines)
