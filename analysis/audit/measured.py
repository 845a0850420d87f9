"""Seed-page claims answered by the report's own measurements: kernel timings, decay sweeps
and training runs (`Evidence`). This module measures nothing itself, apart from tanh'' on a
grid for the second-derivative claim. Rows carry numbers and keys; templates/claims.md.j2
writes the words."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import kernels
from analysis.audit.base import (
    DEPENDS,
    HOLDS,
    NOT_SUPPORTED,
    ClaimRow,
    Evidence,
    grid,
)
from analysis.util import stats

__all__ = ["measured_rows"]


def _decay(evidence: Evidence, variant: str, forget_bias: float) -> Mapping[str, Any] | None:
    for row in evidence.decay:
        if row["variant"] == variant and float(row["forget_bias"]) == float(forget_bias):
            return row
    return None


def _training(evidence: Evidence, variant: str) -> Mapping[str, Any] | None:
    return next((r for r in evidence.training if r["variant"] == variant), None)


def _trained(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A training row as the claims template reads it: outcome, seeds solved of seeds run with
    the Wilson 95% interval, median step to solve, final test MSE; None if not trained."""
    if row is None:
        return None
    steps = [s for s in row.get("solved_steps", []) if s is not None]
    p = stats.wilson(len(steps), len(row.get("solved_steps", [])))
    return {
        "variant": row["variant"],
        "outcome": row["outcome"],
        "k": int(p.k),
        "n": int(p.n),
        "low": float(p.low),
        "high": float(p.high),
        "median_step": float(np.median(steps)) if steps else None,
        "final_test_loss": None if (x := row["final_test_loss"]) is None else float(x),
    }


def _cost_word(costs: Mapping[str, Mapping[str, Any]], a: str, b: str, key: str) -> str:
    """ "cheaper" / "costlier" only where a's and b's [min, max] times over the repeats do not
    overlap; "overlap" where they do; "one_timing" without ranges."""
    ra, rb = costs[a].get(f"{key}_range_s"), costs[b].get(f"{key}_range_s")
    if ra is None or rb is None:
        return "one_timing"
    if ra[1] < rb[0]:
        return "cheaper"
    if ra[0] > rb[1]:
        return "costlier"
    return "overlap"


def _cost_rows(evidence: Evidence) -> list[ClaimRow]:
    rows = []
    for row_id, topic, quote, a, b in (
        (
            "hard_tanh-cheaper",
            "hard_tanh",
            "Computationally cheaper than Tanh",
            "hard_tanh",
            "tanh",
        ),
        ("tanh-grad-cheaper", "tanh", "Gradient computation is less expensive", "tanh", "sigmoid"),
    ):
        data: dict[str, Any] = {"a": a, "b": b, "device": evidence.device}
        if a not in evidence.costs or b not in evidence.costs:
            rows.append(ClaimRow(row_id, topic, quote, NOT_SUPPORTED, {**data, "timed": False}))
            continue
        costs = evidence.costs
        rows.append(
            ClaimRow(
                row_id,
                topic,
                quote,
                DEPENDS,
                {
                    **data,
                    "timed": True,
                    "forward_ratio": float(costs[a]["forward_s"] / costs[b]["forward_s"]),
                    "forward_word": _cost_word(costs, a, b, "forward"),
                    "fwd_bwd_ratio": float(costs[a]["fwd_bwd_s"] / costs[b]["fwd_bwd_s"]),
                    "fwd_bwd_word": _cost_word(costs, a, b, "fwd_bwd"),
                    # a forward+backward timed below its own forward is noise of this machine
                    "noisy": [k for k in (a, b) if costs[k]["fwd_bwd_s"] < costs[k]["forward_s"]],
                },
            )
        )
    return rows


def _converges_faster(evidence: Evidence) -> ClaimRow:
    tanh_row, sig_row = _training(evidence, "tanh/tanh"), _training(evidence, "sigmoid/tanh")
    quote = "Often found to converge faster in practice"
    cmp = next(
        (
            c
            for c in evidence.comparisons
            if c.quantity == "solve rate" and c.a == "sigmoid/tanh" and c.b == "tanh/tanh"
        ),
        None,
    )
    data: dict[str, Any] = {"tanh": _trained(tanh_row), "sigmoid": _trained(sig_row)}
    if tanh_row is None or sig_row is None or cmp is None:
        return ClaimRow(
            "tanh-converges-faster", "tanh", quote, NOT_SUPPORTED, {**data, "comparison": None}
        )
    # the test is sigmoid against tanh: "lower" is fewer seeds solved with sigmoid
    verdict = {"lower": HOLDS, "higher": DEPENDS}.get(cmp.verdict, NOT_SUPPORTED)
    test = {
        "family": cmp.family,
        "a": cmp.a,
        "b": cmp.b,
        "verdict": cmp.verdict,
        "p_adjusted": float(cmp.p_adjusted),
    }
    return ClaimRow("tanh-converges-faster", "tanh", quote, verdict, {**data, "comparison": test})


def _spread(rows: Sequence[Mapping[str, Any]], comparisons: Sequence[Any]) -> dict[str, Any] | None:
    """Whether the activations move the rate, read from the page's tests at forget bias 1
    (each swap against the standard LSTM, Holm-adjusted), with the measured spread: the
    fastest fading rate over the slowest, the swaps that differ, how many were tested."""
    fading = [r for r in rows if r.get("flow") == "vanishing" and float(r["rate"]) < 0]
    tests = [
        c
        for c in comparisons
        if c.family == "decay_bf1" and c.b == "tanh/tanh" and c.a in {r["variant"] for r in rows}
    ]
    if len(fading) < 2 or not tests:
        return None
    slow = max(fading, key=lambda r: float(r["rate"]))
    fast = min(fading, key=lambda r: float(r["rate"]))
    return {
        "ratio": float(fast["rate"]) / float(slow["rate"]),
        "fastest": fast["variant"],
        "slowest": slow["variant"],
        "moved": [c.a for c in tests if c.verdict in ("higher", "lower")],
        "tested": len(tests),
        "seeds": int(slow["seeds"]),
    }


def _second_derivative(evidence: Evidence) -> ClaimRow:
    zz = grid(0.0, 20.0, 20_001)
    d2 = np.abs(np.asarray(kernels.get("tanh").grad2(zz)))
    rates = {
        v: _decay(evidence, v, 1.0)
        for v in ("tanh/tanh", "relu/tanh", "identity/tanh", "tanh/identity")
    }
    measured = [r for r in rates.values() if r is not None]
    return ClaimRow(
        "second-derivative",
        "general",
        "we need a method whose second derivative can sustain for a long range before going "
        "to zero. Tanh is a good function that has all the above properties",
        NOT_SUPPORTED,
        {
            "forget_bias": 1.0,
            # with zero weights the cell state's Jacobian is f = sigmoid(b_f): rate ln f
            "zero_weight_rate": math.log(1 / (1 + math.exp(-1.0))),
            "tanh2_peak_z": float(np.asarray(zz)[np.argmax(d2)]),
            "tanh2_peak": float(d2.max()),
            "rates": [{"variant": r["variant"], "rate": float(r["rate"])} for r in measured],
            "spread": _spread(measured, evidence.comparisons),
        },
    )


def _relu_instead(evidence: Evidence) -> ClaimRow:
    dec = _decay(evidence, "relu/relu", 3.0) or _decay(evidence, "relu/relu", 1.0)
    state = (
        {"max_abs_c": float(dec["max_abs_c"]), "forget_bias": float(dec["forget_bias"])}
        if dec is not None
        else None
    )
    return ClaimRow(
        "relu-instead-of-tanh",
        "general",
        "You can use the ReLU function in place of the tanh function",
        DEPENDS,
        {
            "relu_candidate": _trained(_training(evidence, "relu/tanh")),
            "relu_output": _trained(_training(evidence, "tanh/relu")),
            "relu_both": _trained(_training(evidence, "relu/relu")),
            "relu_both_state": state,
        },
    )


def _sigmoid_and_vision(evidence: Evidence) -> list[ClaimRow]:
    sigmoid = kernels.get("sigmoid")
    return [
        ClaimRow(
            "sigmoid-good",
            "sigmoid",
            "Sigmoid function has all the fundamental properties of a good activation function",
            DEPENDS,
            {
                "range": [0.0, 1.0],
                "slope_at_0": float(sigmoid.grad(0.0)),
                "as_candidate": _trained(_training(evidence, "sigmoid/tanh")),
            },
        ),
        ClaimRow(
            "relu-vision",
            "relu",
            "Found much success in computer vision applications",
            NOT_SUPPORTED,
            {},
        ),
    ]


def measured_rows(evidence: Evidence) -> list[ClaimRow]:
    """Claims answered by the report's timings, decay sweeps and training runs.

    Args:
        evidence: what the report measured (empty: every row says it was not measured).

    Returns:
        ClaimRows: the two cost claims, tanh-converges-faster, second-derivative,
        relu-instead-of-tanh, sigmoid-good, relu-vision.
    """
    return [
        *_cost_rows(evidence),
        _converges_faster(evidence),
        _second_derivative(evidence),
        _relu_instead(evidence),
        *_sigmoid_and_vision(evidence),
    ]
