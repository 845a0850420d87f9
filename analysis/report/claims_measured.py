"""Seed-page claims answered by the report's own measurements: kernel timings, decay sweeps
and training runs (`Evidence`). This module measures nothing itself, apart from tanh'' on a
grid for the second-derivative claim."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import kernels
from analysis.report import compare
from analysis.report.claims_base import (
    DEPENDS,
    HOLDS,
    NOT_SUPPORTED,
    ClaimRow,
    Evidence,
    grid,
)

__all__ = ["describe_training", "measured_rows"]


def _decay(evidence: Evidence, variant: str, forget_bias: float) -> Mapping[str, Any] | None:
    for row in evidence.decay:
        if row["variant"] == variant and float(row["forget_bias"]) == float(forget_bias):
            return row
    return None


def _training(evidence: Evidence, variant: str) -> Mapping[str, Any] | None:
    return next((r for r in evidence.training if r["variant"] == variant), None)


_OUTCOME_WORDS = {
    "solved": "solved",
    "diverged": "diverged",
    "blew_up": "blew up",
    "stuck": "stuck at baseline",
    "learning": "learning, not solved",
}


def describe_training(row: Mapping[str, Any] | None) -> str:
    """ "solved by 6/8 seeds [95% CI 0.41, 0.93] (median step 540), final test MSE 0.002".

    Args:
        row: a training row as `summarise.evidence_rows` gives it, or None.

    Returns:
        the text.
    """
    from analysis.report.render import num

    if row is None:
        return "not trained in this run"
    steps = [s for s in row.get("solved_steps", []) if s is not None]
    ci = compare.wilson(len(steps), len(row.get("solved_steps", [])))
    solved = f"solved by {ci.k}/{ci.n} seeds [95% CI {ci.low:.2f}, {ci.high:.2f}]" + (
        f" (median step {np.median(steps):.0f})" if steps else ""
    )
    outcome = _OUTCOME_WORDS.get(row["outcome"], row["outcome"])
    lead = solved if row["outcome"] == "solved" else f"{outcome} ({solved})"
    return f"{lead}, final test MSE {num(row['final_test_loss'])}"


def _cost_word(costs: Mapping[str, Mapping[str, Any]], a: str, b: str, key: str) -> str:
    """cheaper / costlier only where a's and b's [min, max] times over the repeats do not
    overlap; "not distinguishable here" where they do; "one timing, no range" without them."""
    ra, rb = costs[a].get(f"{key}_range_s"), costs[b].get(f"{key}_range_s")
    if ra is None or rb is None:
        return "one timing, no range"
    if ra[1] < rb[0]:
        return "cheaper: the ranges over the repeats separate"
    if ra[0] > rb[1]:
        return "costlier: the ranges over the repeats separate"
    return "not distinguishable here"


def _cost_rows(evidence: Evidence) -> list[ClaimRow]:
    dev = evidence.device or "this machine"
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
        if a not in evidence.costs or b not in evidence.costs:
            rows.append(ClaimRow(row_id, topic, quote, NOT_SUPPORTED, "not timed in this run", {}))
            continue
        fw = float(evidence.costs[a]["forward_s"] / evidence.costs[b]["forward_s"])
        fb = float(evidence.costs[a]["fwd_bwd_s"] / evidence.costs[b]["fwd_bwd_s"])
        # a forward+backward timed below its own forward is noise of this machine: say so
        noisy = [
            k for k in (a, b) if evidence.costs[k]["fwd_bwd_s"] < evidence.costs[k]["forward_s"]
        ]
        noise = f"; timing noise: forward+backward measured below forward for {', '.join(noisy)}"
        rows.append(
            ClaimRow(
                row_id,
                topic,
                quote + ("" if a == "hard_tanh" else "   [than sigmoid's, the page implies]"),
                DEPENDS,
                f"on {dev}: {a}/{b} time ratio forward {fw:.2f} "
                f"({_cost_word(evidence.costs, a, b, 'forward')}), forward+backward {fb:.2f} "
                f"({_cost_word(evidence.costs, a, b, 'fwd_bwd')}){noise if noisy else ''}. "
                "Hardware-dependent: on a GPU these elementwise kernels are memory-bound and "
                "cost the same; inside an LSTM step the matmul dominates either way",
                {"forward_ratio": fw, "fwd_bwd_ratio": fb},
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
    if tanh_row is None or sig_row is None or cmp is None:
        text = "tanh vs sigmoid candidate not trained in this run"
        return ClaimRow("tanh-converges-faster", "tanh", quote, NOT_SUPPORTED, text, {})
    if cmp.verdict == "lower":
        verdict, which = HOLDS, "tanh solved more seeds"
    elif cmp.verdict == "higher":
        verdict, which = DEPENDS, "sigmoid solved more seeds"
    else:
        verdict, which = NOT_SUPPORTED, "the solve rates are not distinguishable"
    text = (
        f"adding problem, candidate tanh: {describe_training(tanh_row)}; candidate sigmoid: "
        f"{describe_training(sig_row)}; {which} (Fisher's exact test, Holm-adjusted p = "
        f"{cmp.p_adjusted:.2g}). One task and budget: evidence, not a law"
    )
    return ClaimRow("tanh-converges-faster", "tanh", quote, verdict, text, {})


def _spread(rows: Sequence[Mapping[str, Any]], comparisons: Sequence[Any]) -> str:
    """Whether the activations move the rate, read from the page's tests at forget bias 1
    (each swap against the standard LSTM, Holm-adjusted), with the measured spread."""
    fading = [r for r in rows if r.get("flow") == "vanishing" and float(r["rate"]) < 0]
    tests = [
        c
        for c in comparisons
        if c.family == "decay_bf1" and c.b == "tanh/tanh" and c.a in {r["variant"] for r in rows}
    ]
    if len(fading) < 2 or not tests:
        return ""
    slow = max(fading, key=lambda r: float(r["rate"]))
    fast = min(fading, key=lambda r: float(r["rate"]))
    moved = [c.a for c in tests if c.verdict in ("higher", "lower")]
    ratio = float(fast["rate"]) / float(slow["rate"])
    if not moved:
        return (
            f": {ratio:.1f}x apart, but no swap's rate differs from the standard LSTM's "
            f"(permutation tests, Holm-adjusted, n = {slow['seeds']})"
        )
    return (
        f": {ratio:.1f}x apart, and {len(moved)} of {len(tests)} swaps differ from the standard "
        f"LSTM's rate ({', '.join(moved)}; permutation tests, Holm-adjusted), so with random "
        "weights the activations move the rate too; none of it involves a second derivative"
    )


def _second_derivative(evidence: Evidence) -> ClaimRow:
    zz = grid(0.0, 20.0, 20_001)
    d2 = np.abs(np.asarray(kernels.get("tanh").grad2(zz)))
    peak = float(np.asarray(zz)[np.argmax(d2)])
    rates = {
        v: _decay(evidence, v, 1.0)
        for v in ("tanh/tanh", "relu/tanh", "identity/tanh", "tanh/identity")
    }
    rate_txt = ", ".join(
        f"{v}: {float(r['rate']):.3g}/step" for v, r in rates.items() if r is not None
    )
    spread = _spread([r for r in rates.values() if r is not None], evidence.comparisons)
    sig_bf = math.log(1 / (1 + math.exp(-1.0)))
    return ClaimRow(
        "second-derivative",
        "general",
        "we need a method whose second derivative can sustain for a long range before going "
        "to zero. Tanh is a good function that has all the above properties",
        NOT_SUPPORTED,
        "Backpropagation through time multiplies first derivatives; no second derivative "
        "enters the gradient. In an LSTM the long-range path is the cell state, whose "
        "Jacobian is the forget gate f: with zero weights the decay rate is exactly ln f "
        f"(= {sig_bf:.3f} per step at forget bias 1) whatever the candidate and output are. "
        f"tanh'' is not 'sustained' either: |tanh''| peaks at z = {peak:.2f} "
        f"({d2.max():.3f}) and decays like e^(-2|z|). Measured decay rates at forget bias 1 "
        f"({rate_txt or 'not measured in this run'}){spread}",
        {"tanh2_peak_z": peak, "tanh2_peak": float(d2.max())},
    )


def _relu_instead(evidence: Evidence) -> ClaimRow:
    relu_c, relu_o = _training(evidence, "relu/tanh"), _training(evidence, "tanh/relu")
    relu_b = _training(evidence, "relu/relu")
    dec = _decay(evidence, "relu/relu", 3.0) or _decay(evidence, "relu/relu", 1.0)
    state = (
        f"; with ReLU in both slots max |c| reached {float(dec['max_abs_c']):.3g} "
        f"at initialisation (forget bias {float(dec['forget_bias']):g})"
        if dec is not None
        else ""
    )
    return ClaimRow(
        "relu-instead-of-tanh",
        "general",
        "You can use the ReLU function in place of the tanh function",
        DEPENDS,
        f"ReLU candidate (output tanh): {describe_training(relu_c)}; ReLU output: "
        f"{describe_training(relu_o)}; ReLU in both: {describe_training(relu_b)}{state}. "
        "Which slot matters: a bounded output keeps h bounded even when c grows",
        {},
    )


def _sigmoid_and_vision(evidence: Evidence) -> list[ClaimRow]:
    sig_row = _training(evidence, "sigmoid/tanh")
    return [
        ClaimRow(
            "sigmoid-good",
            "sigmoid",
            "Sigmoid function has all the fundamental properties of a good activation function",
            DEPENDS,
            "Good as a gate: its range (0, 1) makes it a soft switch. As a candidate it is not "
            "zero-centred (range (0, 1), so c can only be pushed up) and its slope at 0 is "
            f"0.25, not 1; as candidate: {describe_training(sig_row)}",
            {},
        ),
        ClaimRow(
            "relu-vision",
            "relu",
            "Found much success in computer vision applications",
            NOT_SUPPORTED,
            "True of the literature, but nothing measured here bears on it; it says nothing "
            "about recurrent cells, where outputs are fed back and ReLU's unboundedness "
            "compounds",
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
