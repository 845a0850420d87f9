"""The answer's paragraph on gradient flow during training, every number read from the rows.

It answers the two questions of the evidence issue: does the standard LSTM learn to keep
memory (its half-life against the sequence length, first against last snapshot, split by
whether a seed solved), and what ReLU/ReLU's flow does before it diverges or blows up. A
change is claimed only where the 95% intervals separate (`stats.separated`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from analysis._util import stats
from analysis.report import rows as R
from analysis.report.config import ReportConfig

__all__ = ["flow_change", "flow_paragraph"]

_VARIANTS = ("tanh/tanh", "relu/tanh", "tanh/relu", "relu/relu")


def _iv(ci: Sequence[float]) -> stats.Interval:
    return stats.Interval(*(float(v) for v in ci))


def flow_change(frows: Sequence[Mapping], variant: str, length: int) -> str:
    """ "half-life A steps at step 0 (class), B at step S (class); largest Lyapunov exponent
    ... -> ..., max |c| ... -> ..." (medians over seeds), or "no snapshots".

    Args:
        frows: `rows.flow_rows`; variant: "candidate/output"; length: the training T.

    Returns:
        the text.
    """
    r = R.find(frows, variant, T=length)
    if r is None or len(r["steps"]) < 2:
        return "no snapshots"
    a, b = r["half_life"][0], r["half_life"][-1]
    return (
        f"half-life {stats.fmt(a)} steps at step 0 ({r['flow'][0]}), {stats.fmt(b)} at step "
        f"{r['steps'][-1]} ({r['flow'][-1]}); largest Lyapunov exponent "
        f"{r['lyapunov_max'][0]:+.3f} -> {r['lyapunov_max'][-1]:+.3f}, max |c| "
        f"{stats.fmt(r['max_abs_c'][0])} -> {stats.fmt(r['max_abs_c'][-1])}"
    )


def _dip(std: Mapping) -> str:
    """The lowest median half-life between the first and last snapshot, where its interval
    lies wholly below the first snapshot's."""
    first = _iv(std["half_life_ci"][0])
    inner = [k for k in range(1, len(std["steps"]) - 1) if not math.isnan(std["half_life"][k])]
    if not inner:
        return ""
    j = min(inner, key=lambda k: std["half_life"][k])
    low = _iv(std["half_life_ci"][j])
    if not low.high < first.low:
        return ""
    # the lowest of several snapshots, picked after the fact: the text says so
    which = (
        "the one snapshot between the first and the last"
        if len(inner) == 1
        else f"the lowest of the {len(inner)} snapshots between the first and the last"
    )
    return (
        f" On the way its median half-life fell to {stats.fmt(low.estimate)} steps "
        f"[{stats.fmt(low.low)}, {stats.fmt(low.high)}] at step {std['steps'][j]} ({which}), "
        f"below the first snapshot's [{stats.fmt(first.low)}, {stats.fmt(first.high)}]."
    )


def _group_text(members: Sequence[Sequence[float]], label: str, plural: str) -> str:
    """ "the 5 seeds that solved end at half-lives 35.2-58.4 steps (5/5 above their own first
    value)"; seeds whose last half-life is nan are counted and named, not spanned."""
    known = [m for m in members if not math.isnan(m[1])]
    n, one = len(members), len(members) == 1
    noun = label if one else plural
    if not known:
        return f"the {n} {noun} have no half-life at their last snapshot"
    last = [m[1] for m in known]
    lo, hi = stats.fmt(min(last)), stats.fmt(max(last))
    span = lo if len(known) == 1 else f"{lo}-{hi}"
    grew = sum(m[1] > m[0] for m in known)
    text = (
        f"the {n} {noun} {'ends' if one else 'end'} at "
        f"{'half-life' if len(known) == 1 else 'half-lives'} {span} steps ({grew}/{len(known)} "
        f"above {'its' if one else 'their'} own first value"
    )
    missing = n - len(known)
    return text + (f"; {missing} with no half-life at the end)" if missing else ")")


def _by_outcome(std: Mapping, trow: Mapping | None) -> str:
    """The last half-lives of the seeds that solved against the others' (a diverged seed's
    last snapshot is its last finite state)."""
    ends = std.get("half_life_ends") or []
    if trow is None or len(ends) != len(trow["outcomes"]) or not all(ends):
        return ""
    solved = [e for e, o in zip(ends, trow["outcomes"], strict=True) if o == "solved"]
    other = [e for e, o in zip(ends, trow["outcomes"], strict=True) if o != "solved"]
    parts = [_group_text(solved, "seed that solved", "seeds that solved")] if solved else []
    if other:
        label = ("other seed", "other seeds") if solved else ("seed", "seeds")
        parts.append(_group_text(other, *label))
    head = " By outcome: " if solved else " By outcome: none solved; "
    return head + "; ".join(parts) + "."


def _keeps_memory(cfg: ReportConfig, trows: Sequence[Mapping], frows: Sequence[Mapping]) -> str:
    T = cfg.train_length
    std = R.find(frows, "tanh/tanh", T=T)
    if std is None or len(std["half_life"]) < 2:
        return ""
    a, b = _iv(std["half_life_ci"][0]), _iv(std["half_life_ci"][-1])
    if not stats.separated(a, b):
        change = f"its first and last half-lives are not distinguishable at n = {cfg.train_seeds}"
    else:
        change = "its half-life " + ("grew" if b.estimate > a.estimate else "shrank")
        change += " during training (the 95% intervals separate)"
    reach = "reaches" if b.estimate >= T else "stays below"
    return (
        f"Does the standard LSTM learn to keep memory? {change[0].upper()}{change[1:]}; at the "
        f"last snapshot its median {reach} the sequence length T = {T} "
        f"({stats.fmt(b.estimate)} steps).{_by_outcome(std, R.find(trows, 'tanh/tanh', T=T))}"
        f"{_dip(std)}"
    )


def _before_divergence(trows: Sequence[Mapping], frows: Sequence[Mapping], T: int) -> str:
    """What ReLU/ReLU's gradient flow did on its way to diverging (a non-finite loss) or
    blowing up (a finite final test loss above 10x the baseline, `rows.training_outcome`)."""
    r, f = R.find(trows, "relu/relu", T=T), R.find(frows, "relu/relu", T=T)
    if r is None or f is None:
        return ""
    went = (
        f"its gradient flow went {' -> '.join(dict.fromkeys(f['flow']))}, max |c| "
        f"{stats.fmt(f['max_abs_c'][0])} -> {stats.fmt(f['max_abs_c'][-1])} (medians over seeds"
    )
    steps = [d for d in r["diverged_at"] if d is not None]
    blew, n = r["outcomes"].count("blew up"), r["n"]
    why = "(final test loss above 10x the baseline, or non-finite)"
    if steps:
        more = f"; {blew}/{n} more seeds blew up {why}" if blew else ""
        return (
            f"ReLU/ReLU diverged in {len(steps)}/{r['n']} seeds (first at step {min(steps)})"
            f"{more}; before that {went}; a diverged seed's last snapshot is its last finite "
            "state)."
        )
    if blew:
        return (
            f"ReLU/ReLU's training loss stayed finite at T = {T} (no seed diverged), but "
            f"{blew}/{n} seeds blew up {why}: {went})."
        )
    return f"ReLU/ReLU neither diverged nor blew up at T = {T}: {went})."


def flow_paragraph(cfg: ReportConfig, trows: Sequence[Mapping], frows: Sequence[Mapping]) -> str:
    """The paragraph: each variant's change, then the two questions.

    Args:
        cfg: the report; trows: `rows.training_rows`; frows: `rows.flow_rows`.

    Returns:
        the text ("" parts left out).
    """
    T = cfg.train_length
    parts = [
        f"Gradient flow during training ({cfg.train_snapshots} snapshots per run on a fixed "
        f"held-out batch, T = {T}):"
    ]
    for v in _VARIANTS:
        if R.find(frows, v, T=T) is not None:
            parts.append(f"{v}: {flow_change(frows, v, T)}.")
    parts += [_keeps_memory(cfg, trows, frows), _before_divergence(trows, frows, T)]
    return " ".join(p for p in parts if p)
