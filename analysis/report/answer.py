"""The report's prose: the "In one minute" summary and the answer, every number measured.

Differences between variants are claimed only when their 95% intervals separate (Wilson for
solve rates, bootstrap for half-lives); otherwise the text says "not distinguishable at
n = N". Gradient flow is named by `classify` alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis._util import stats
from analysis.report import answer_flow, flow_text
from analysis.report import rows as R
from analysis.report import variants
from analysis.report.config import ReportConfig

__all__ = ["compare_solve", "compose_answer", "one_minute", "solve_text"]


def _mid(cfg: ReportConfig) -> float:
    return 1.0 if 1.0 in cfg.forget_biases else cfg.forget_biases[0]


def _iv(ci: Sequence[float]) -> stats.Interval:
    return stats.Interval(*(float(v) for v in ci))


def solve_text(row: Mapping[str, Any] | None) -> str:
    """ "solved 6/8 (95% CI 0.41-0.93; median step 540, IQR 420-660)", or what happened instead.

    Args:
        row: a `rows.training_rows` entry or None.

    Returns:
        the text.
    """
    if row is None:
        return "not trained"
    k, n = row["solved"], row["n"]
    _, lo, hi = row["solve_rate_ci"]
    text = f"solved {k}/{n} (95% CI {lo:.2f}-{hi:.2f}"
    if k == 1:
        text += f"; at step {row['steps_to_solve'][0]:.0f}"
    elif k:
        med, q1, q3 = row["steps_to_solve"]
        text += f"; median step {med:.0f}, IQR {q1:.0f}-{q3:.0f}"
    text += ")"
    others = {o: row["outcomes"].count(o) for o in dict.fromkeys(row["outcomes"]) if o != "solved"}
    if others:
        text += "; " + ", ".join(f"{o} {c}/{n}" for o, c in others.items())
    return text


def compare_solve(a: Mapping | None, b: Mapping | None, name_a: str, name_b: str) -> str:
    """Which of two training cells solves more often, only when the Wilson intervals separate.

    Args:
        a, b: `rows.training_rows` entries (or None); name_a, name_b: how to call them.

    Returns:
        "A solves more often than B (intervals separate)" or "A and B are not
        distinguishable at n = N".
    """
    if a is None or b is None:
        return f"{name_a} and {name_b}: not both trained"
    ia, ib = _iv(a["solve_rate_ci"]), _iv(b["solve_rate_ci"])
    if stats.separated(ia, ib):
        hi, lo = (name_a, name_b) if ia.estimate > ib.estimate else (name_b, name_a)
        return f"{hi} solves more often than {lo} (the 95% intervals separate)"
    n = min(a["n"], b["n"])
    return f"{name_a} and {name_b} are not distinguishable at n = {n}"


def _hl_text(row: Mapping | None) -> str:
    if row is None:
        return "not measured"
    _, lo, hi = row["half_life_ci"]
    text = row["flow_text"]
    if row["flow"] in ("vanishing", "stable") and math.isfinite(hi):
        text += f", 95% CI {lo:.3g}-{hi:.3g}"
    return text


def _length_text(lrows: Sequence[Mapping], variant: str, steps: int) -> str:
    lr = next((r for r in lrows if r["variant"] == variant), None)
    if lr is None:
        return "not trained across lengths"
    longest = (
        f"longest solved T = {lr['longest_solved']}"
        if lr["longest_solved"]
        else "solves none of the lengths tried"
    )
    fails = f"first fails at T = {lr['first_fails']}" if lr["first_fails"] else "fails at none"
    share = f"{R.SOLVES_AT:.0%} of the seeds"
    return f"{longest}, {fails} (within {steps} steps; solved = at least {share})"


def one_minute(cfg: ReportConfig, drows, trows, lrows, frows) -> list[str]:
    """Five bullets: the answer with its numbers.

    Args:
        cfg: the report; drows, trows, lrows, frows: decay, training, length, flow rows.

    Returns:
        five strings.
    """
    T = cfg.train_length
    std = [R.find(drows, "tanh/tanh", forget_bias=b) for b in cfg.forget_biases]
    gates = "; ".join(
        f"b_f = {b:g}: {_hl_text(r)}" for b, r in zip(cfg.forget_biases, std, strict=True)
    )
    rr = R.find(drows, "relu/relu", forget_bias=max(cfg.forget_biases))
    tt, rc, ro = (R.find(trows, v, T=T) for v in ("tanh/tanh", "relu/tanh", "tanh/relu"))
    return [
        "Sigmoid gates: a gate multiplies, so it lives in [0, 1]; the forget bias b_f shifts the "
        "forget gate f = sigmoid(W_f [x_t, h_{t-1}] + b_f). "
        f"Standard LSTM, T = {cfg.decay_length}: {gates}.",
        f"tanh in both slots (the standard LSTM), adding problem at T = {T}: {solve_text(tt)}; "
        f"across lengths: {_length_text(lrows, 'tanh/tanh', cfg.train_steps)}.",
        f"ReLU in the candidate: {solve_text(rc)}; ReLU in the output: {solve_text(ro)}. "
        f"{compare_solve(rc, ro, 'ReLU-candidate', 'ReLU-output')}.",
        "ReLU in both slots"
        + (
            f", b_f = {rr['forget_bias']:g}: {rr['flow_text']}, max |c| {stats.fmt(rr['max_abs_c'])}"
            if rr
            else ""
        )
        + f"; trained at b_f = {cfg.train_forget_bias:g}: "
        + f"{solve_text(R.find(trows, 'relu/relu', T=T))}.",
        f"During training (T = {T}, b_f = {cfg.train_forget_bias:g}), the standard LSTM: "
        f"{answer_flow.flow_change(frows, 'tanh/tanh', T)}.",
    ]


def _variant_items(cfg: ReportConfig, drows, trows, lrows) -> list[str]:
    items = []
    for v in variants.VARIANTS:
        if v.name not in cfg.decay_variants and v.name not in cfg.train_variants:
            continue
        parts = [
            f"b_f={fb:g}: {_hl_text(r)}, max |c| {stats.fmt(r['max_abs_c'])}"
            for fb in cfg.forget_biases
            if (r := R.find(drows, v.name, forget_bias=fb)) is not None
        ]
        trained = R.find(trows, v.name, T=cfg.train_length)
        text = f"{v.name} ({v.note}): " + "; ".join(parts)
        if trained:
            text += f". Adding problem, T = {cfg.train_length}: {solve_text(trained)}"
        if v.name in cfg.length_variants:
            text += f"; {_length_text(lrows, v.name, cfg.train_steps)}"
        items.append(text + ".")
    return items


def _rate_spread(drows: Sequence[Mapping], forget_bias: float) -> str:
    """How far the activations move the decay rate at one forget bias (random weights), a
    difference named only where the two extremes' half-life intervals separate."""
    sp = flow_text.rate_spread([r for r in drows if r["forget_bias"] == forget_bias])
    if sp is None:
        return ""
    span = (
        f"at b_f = {forget_bias:g} the vanishing variants' rates run from {sp.slow['rate']:+.4f} "
        f"({sp.slow['variant']}) to {sp.fast['rate']:+.4f} ({sp.fast['variant']}) per step"
    )
    if not sp.separated:
        n = sp.slow.get("seeds", "?")
        return f" With random weights {span}: not distinguishable at n = {n}."
    return (
        f" With random weights the rest of the cell moves it too: {span}, "
        f"{sp.ratio:.1f}x apart (half-life intervals separate)."
    )


def compose_answer(cfg: ReportConfig, drows, trows, lrows, frows) -> list[dict]:
    """The answer section's blocks, every number read from the measurements.

    Args:
        cfg: the report; drows, trows, lrows, frows: decay, training, length, flow rows.

    Returns:
        page blocks (kind text / list).
    """
    mid = _mid(cfg)
    std = R.find(drows, "tanh/tanh", forget_bias=mid)
    return [
        {
            "kind": "text",
            "text": "Why sigmoid for the gates. A gate multiplies a signal, so it must lie in "
            "[0, 1]: sigmoid's range (0, 1) makes it a soft, differentiable switch. The forget "
            "gate f is the Jacobian of the cell-state path c_t = f c_{t-1} + ..., so with all "
            "weights zero it alone sets how fast gradients fade going back in time: the decay "
            f"rate is exactly ln f per step (a unit test checks this).{_rate_spread(drows, mid)} "
            "Why tanh for the candidate and "
            "the output: bounded (|h_t| <= 1), zero-centred, slope 1 at 0. "
            + (
                f"Standard LSTM at b_f = {mid:g}: {_hl_text(std)}, max |c| "
                f"{stats.fmt(std['max_abs_c'])} over {cfg.decay_length} steps."
                if std
                else ""
            ),
        },
        {
            "kind": "text",
            "text": "What each swap does (candidate/output; gradient flow at initialisation over "
            f"T = {cfg.decay_length} steps, median over {cfg.decay_seeds} seeds with a "
            f"bootstrap 95% interval; training on the adding problem at b_f = "
            f"{cfg.train_forget_bias:g}, {cfg.train_seeds} seeds, Wilson 95% intervals):",
        },
        {"kind": "list", "items": _variant_items(cfg, drows, trows, lrows)},
        {"kind": "text", "text": answer_flow.flow_paragraph(cfg, trows, frows)},
        {
            "kind": "text",
            "text": "All of this depends on the setting (initialisation, forget bias, learning "
            "rate, budget, sequence length); rerun with --full, or probe one question with "
            "actgrad decay / actgrad train --compare.",
        },
    ]
