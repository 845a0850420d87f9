"""The page's one statistical rule.

Rule (stated once on the page): solve rates are compared with Fisher's exact test, decay rates
with a two-sided permutation test on the per-seed rates (statistic: difference of medians;
exact where the permutations number at most `PERMUTATIONS`). p-values are Holm-adjusted
within families declared in advance, one per question the page asks, so that adding a
section never flips an earlier verdict. A difference is "higher" or "lower" at adjusted
p < `ALPHA`, otherwise "not distinguishable". Half-lives are reported, not tested (a growing
gradient's half-life is infinite).

The intervals and tests themselves are `analysis.util.stats`' (scipy.stats); this module
declares the families, adjusts within them and turns adjusted p-values into verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from analysis.checks.properties import PROPERTIES
from analysis.report import variants
from analysis.report.model import (
    Comparison,
    DecayRow,
    Family,
    GatingRow,
    PropertyRow,
    Proportion,
    RealRow,
    RemedyRow,
    SlotFinding,
    TrainRow,
)
from analysis.util.stats import fisher_p, holm, permutation_p, rank_correlation_p

__all__ = [
    "ALPHA",
    "REFERENCE",
    "REFERENCE_SOLVES",
    "SLOTS",
    "compare_all",
    "detectable",
    "reference_passes",
    "slot_findings",
    "slot_of",
]

ALPHA = 0.05


def _verdict(effect: float, p_adjusted: float) -> str:
    if math.isnan(p_adjusted):
        return "not tested"
    if p_adjusted < ALPHA and effect != 0:
        return "higher" if effect > 0 else "lower"
    return "not distinguishable"


def detectable(n: int, m: int) -> int:
    """The smallest k for which k/n against 0/n is a difference after Holm over m tests (its
    strictest step, ALPHA / m); 0 when no k of n is."""
    if n == 0 or m == 0:
        return 0
    for k in range(1, n + 1):
        if fisher_p(Proportion(k, n, 0, 0), Proportion(0, n, 0, 0)) < ALPHA / m:
            return k
    return 0


class _Pending:
    """Comparisons of one family before adjustment."""

    def __init__(self, key: str, quantity: str) -> None:
        self.key, self.quantity = key, quantity
        self.items: list[tuple[str, str, str, float, float]] = []
        self.n_per_side = 0

    def add_rates(self, a: str, b: str, setting: str, ra: DecayRow, rb: DecayRow) -> None:
        effect = ra.rate.value - rb.rate.value
        self.items.append((a, b, setting, effect, permutation_p(ra.rates, rb.rates)))
        self.n_per_side = max(self.n_per_side, len(ra.rates), len(rb.rates))

    def add_solves(self, a: str, b: str, setting: str, ta: TrainRow, tb: TrainRow) -> None:
        effect = ta.solved.rate - tb.solved.rate
        self.items.append((a, b, setting, effect, fisher_p(ta.solved, tb.solved)))
        self.n_per_side = max(self.n_per_side, ta.solved.n, tb.solved.n)

    def add_correlation(self, a: str, b: str, setting: str, x: list, y: list) -> None:
        rho, p = rank_correlation_p(x, y)
        self.items.append((a, b, setting, rho, p))
        self.n_per_side = max(self.n_per_side, len(x))

    def close(self) -> tuple[list[Comparison], Family]:
        adjusted = holm([p for *_, p in self.items])
        comps = [
            Comparison(self.key, self.quantity, a, b, s, e, p, q, _verdict(e, q))
            for (a, b, s, e, p), q in zip(self.items, adjusted, strict=True)
        ]
        size = sum(not math.isnan(c.p) for c in comps)
        det = detectable(self.n_per_side, size) if self.quantity == "solve rate" else 0
        return comps, Family(self.key, self.quantity, size, self.n_per_side, det)


REFERENCE = "tanh/tanh"
# a swap is judged at a length only where the standard LSTM solves at least this share of its
# seeds (14 of 16, `ReportConfig.reference_passes`): against a reference that fails the
# budget, a difference says nothing about the activation
REFERENCE_SOLVES = 14 / 16
# the training families, one per slot: which slot a variant swaps (the others as in the LSTM)
SLOTS = ("candidate", "output", "both", "gate")


def slot_of(variant: str) -> str:
    """Which of `SLOTS` an LSTM variant swaps: the gate, one slot, or candidate and output."""
    v = variants.get(variant)
    if v.gate != "sigmoid":
        return "gate"
    if v.output == "tanh":
        return "candidate"
    return "output" if v.candidate == "tanh" else "both"


def compare_all(
    decay: Sequence[DecayRow],
    training: Sequence[TrainRow],
    gating: Sequence[GatingRow],
    train_length: int,
    decay_families: Sequence[tuple[str, float, Sequence[str]]],
    slopes: Sequence[tuple[str, float, Sequence[tuple[str, float]]]] = (),
    init_pairs: Sequence[tuple[str, str, DecayRow, TrainRow]] = (),
    passes: float = REFERENCE_SOLVES,
    settings: Sequence[tuple[str, Sequence[TrainRow]]] = (),
    neighbours: Sequence[TrainRow] = (),
    remedies: Sequence[RemedyRow] = (),
    real: Sequence[RealRow] = (),
) -> tuple[tuple[Comparison, ...], tuple[Family, ...]]:
    """Every comparison the page makes, family by family.

    Families, in page order: ``decay_families``, each (key, forget bias, variants): each
    variant's decay rate against the standard LSTM's at that forget bias (the report declares
    ``decay_bf{b}`` for its grid, then the property set and the gate swaps);
    ``train_{slot}_T{T}`` (each variant swapping that slot of `SLOTS`: its solve rate against
    the standard LSTM's at length T, only where the standard LSTM passes, `reference_passes`);
    ``slot_T{T}`` (ReLU in the output against ReLU in the candidate, at the main
    training length); ``gating_swap_decay`` / ``gating_swap_train`` (in each design, each
    further activation against the first); ``gating_design_decay`` / ``gating_design_train``
    (each design against the LSTM, with the first activation).

    Args:
        decay, training, gating: the report's rows; train_length: the main training length;
        decay_families: the decay-rate families, declared by the caller.
        slopes: the ``slope`` family, each (slot, forget bias, [(variant, slope at 0)]):
            does the decay rate rise with the activation's slope at 0 (Spearman, permutation)?
        init_pairs: `summarise.init_vs_training`'s pairs: ``init_predicts``, per group, does
            the solve rate rise with the decay rate at initialisation (Spearman)?
        passes: the share of seeds the standard LSTM must solve at a length for any swap to
            be judged there.
        settings: further settings, each (key, its training rows): the training families
            again, as ``train_{slot}_T{T}_{key}``, against the standard LSTM of that setting.
        neighbours: rows at the grid's neighbours of their chosen rate: ``neighbours_T{T}``,
            each against the standard LSTM at its chosen rate, where it passes.
        remedies: swaps trained with a remedy: ``remedies_T{T}``, each ("{swap} + {remedy}")
            against the same swap without it. real: rows on real data: ``real_{key}`` per
            task, each variant against the standard LSTM there, where it passes.

    Returns:
        (comparisons, families), families in page order.
    """
    fams = _decay_families(decay, decay_families)
    fams += _train_families(training, passes)
    for key, rows in settings:
        fams += _train_families(rows, passes, key)
    fams += _neighbour_family(training, neighbours, passes)
    fams += _remedy_families(training, remedies)
    fams += _real_families(real, passes)
    fams += _slot_family(training, train_length, passes)
    fams += _gating_families(gating)
    fams += _slope_family(decay, slopes)
    fams += _init_family(init_pairs)
    closed = [fam.close() for fam in fams]
    return tuple(c for cs, _ in closed for c in cs), tuple(f for _, f in closed)


def _decay_families(
    decay: Sequence[DecayRow], declared: Sequence[tuple[str, float, Sequence[str]]]
) -> list[_Pending]:
    """Each declared decay family: its variants' rates against the standard LSTM's."""
    fams = []
    for key, fb, names in declared:
        fam = _Pending(key, "decay rate")
        at = {r.variant: r for r in decay if r.forget_bias == fb}
        for name in names:
            if name in at and REFERENCE in at and name != REFERENCE:
                fam.add_rates(name, REFERENCE, f"b_f = {fb:g}", at[name], at[REFERENCE])
        fams.append(fam)
    return fams


def reference_passes(training: Sequence[TrainRow], length: int, passes: float) -> bool:
    """Whether the standard LSTM solves at least `passes` of its seeds at `length` (the budget
    rule: where it does not, the page says "the reference fails here" and judges no swap)."""
    ref = next((r for r in training if r.variant == REFERENCE and r.T == length), None)
    return ref is not None and ref.solved.rate >= passes


def _train_families(
    training: Sequence[TrainRow], passes: float, setting: str = ""
) -> list[_Pending]:
    """Per length and slot, each variant's solve rate against the standard LSTM's, at the
    lengths where the standard LSTM passes its budget (in a further `setting`, its key ends
    each family's)."""
    suffix = f"_{setting}" if setting else ""
    fams = []
    lstm = [r for r in training if r.variant in variants.known()]
    for length in sorted({r.T for r in lstm}):
        if not reference_passes(lstm, length, passes):
            continue  # the reference fails this budget: no swap is judged against it
        ref = next(r for r in lstm if r.variant == REFERENCE and r.T == length)
        for slot in SLOTS:
            fam = _Pending(f"train_{slot}_T{length}{suffix}", "solve rate")
            for r in lstm:
                if r.T == length and r.variant != REFERENCE and slot_of(r.variant) == slot:
                    where = f"T = {length}" + (f", {setting}" if setting else "")
                    fam.add_solves(r.variant, REFERENCE, where, r, ref)
            if fam.items:
                fams.append(fam)
    return fams


def _neighbour_family(
    training: Sequence[TrainRow], rows: Sequence[TrainRow], passes: float
) -> list[_Pending]:
    """Each row at a neighbouring rate against the standard LSTM at its chosen rate."""
    fams = []
    for length in sorted({r.T for r in rows}):
        if not reference_passes(training, length, passes):
            continue
        ref = next(r for r in training if r.variant == REFERENCE and r.T == length)
        fam = _Pending(f"neighbours_T{length}", "solve rate")
        for r in rows:
            if r.T == length and r.variant != REFERENCE:
                fam.add_solves(r.variant, REFERENCE, f"T = {length}, lr = {r.lr:g}", r, ref)
        if fam.items:
            fams.append(fam)
    return fams


def _remedy_families(training: Sequence[TrainRow], remedies: Sequence[RemedyRow]) -> list[_Pending]:
    """Per length, each remedied swap's solve rate against the same swap's without it."""
    fams = []
    for length in sorted({r.train.T for r in remedies}):
        fam = _Pending(f"remedies_T{length}", "solve rate")
        base = {r.variant: r for r in training if r.T == length}
        for r in remedies:
            if r.train.T == length and r.variant in base:
                a = f"{r.variant} + {r.remedy}"
                fam.add_solves(a, r.variant, f"T = {length}", r.train, base[r.variant])
        if fam.items:
            fams.append(fam)
    return fams


def _real_families(rows: Sequence[RealRow], passes: float) -> list[_Pending]:
    """Per real task, each variant's solve rate against the standard LSTM's on it."""
    fams = []
    for key in dict.fromkeys(r.key for r in rows):
        mine = [r for r in rows if r.key == key]
        ref = next((r for r in mine if r.variant == REFERENCE), None)
        if ref is None or ref.train.solved.rate < passes:
            continue  # the reference fails this budget: no swap is judged against it
        fam = _Pending(f"real_{key}", "solve rate")
        for r in mine:
            if r.variant != REFERENCE:
                fam.add_solves(r.variant, REFERENCE, key, r.train, ref.train)
        if fam.items:
            fams.append(fam)
    return fams


def _slot_family(training: Sequence[TrainRow], length: int, passes: float) -> list[_Pending]:
    """ReLU in the output against ReLU in the candidate, at the main training length, where the
    standard LSTM passes its budget (elsewhere both may fail for the budget's sake)."""
    if not reference_passes(training, length, passes):
        return []
    by = {(r.variant, r.T): r for r in training}
    out_relu, cand_relu = by.get(("tanh/relu", length)), by.get(("relu/tanh", length))
    if out_relu is None or cand_relu is None:
        return []
    fam = _Pending(f"slot_T{length}", "solve rate")
    fam.add_solves("tanh/relu", "relu/tanh", f"T = {length}", out_relu, cand_relu)
    return [fam]


def _init_family(pairs: Sequence[tuple[str, str, DecayRow, TrainRow]]) -> list[_Pending]:
    fam = _Pending("init_predicts", "rank correlation")
    for group in dict.fromkeys(g for g, *_ in pairs):
        mine = [(d, t) for g, _, d, t in pairs if g == group]
        if len(mine) >= 3:
            rates = [d.rate.value for d, _ in mine]
            solved = [t.solved.rate for _, t in mine]
            fam.add_correlation("decay rate at initialisation", "solve rate", group, rates, solved)
    return [fam] if fam.items else []


def _slope_family(
    decay: Sequence[DecayRow], slopes: Sequence[tuple[str, float, Sequence[tuple[str, float]]]]
) -> list[_Pending]:
    fam = _Pending("slope", "rank correlation")
    for slot, fb, pairs in slopes:
        at = {r.variant: r.rate.value for r in decay if r.forget_bias == fb}
        have = [(v, x) for v, x in pairs if v in at]
        if len(have) >= 3:
            xs = [x for _, x in have]
            fam.add_correlation("slope at 0", "decay rate", slot, xs, [at[v] for v, _ in have])
    return [fam] if fam.items else []


def _gating_families(rows: Sequence[GatingRow]) -> list[_Pending]:
    if not rows:
        return []
    designs = list(dict.fromkeys(r.design for r in rows))
    acts = list(dict.fromkeys(r.activation for r in rows))
    at = {(r.design, r.activation): r for r in rows}
    swap_d = _Pending("gating_swap_decay", "decay rate")
    swap_t = _Pending("gating_swap_train", "solve rate")
    for d in designs:
        base = at.get((d, acts[0]))
        for act in acts[1:]:
            row = at.get((d, act))
            if base is None or row is None:
                continue
            a, b = f"{d} ({act})", f"{d} ({acts[0]})"
            swap_d.add_rates(a, b, d, row.decay, base.decay)
            if row.train is not None and base.train is not None:
                swap_t.add_solves(a, b, d, row.train, base.train)
    design_d = _Pending("gating_design_decay", "decay rate")
    design_t = _Pending("gating_design_train", "solve rate")
    lstm = at.get(("lstm", acts[0]))
    for d in designs:
        row = at.get((d, acts[0]))
        if lstm is None or row is None or d == "lstm":
            continue
        a, b = f"{d} ({acts[0]})", f"lstm ({acts[0]})"
        design_d.add_rates(a, b, acts[0], row.decay, lstm.decay)
        if row.train is not None and lstm.train is not None:
            design_t.add_solves(a, b, acts[0], row.train, lstm.train)
    return [f for f in (swap_d, swap_t, design_d, design_t) if f.items]


def slot_findings(
    comparisons: Sequence[Comparison], properties: Sequence[PropertyRow]
) -> tuple[SlotFinding, ...]:
    """Per candidate/output training family, which property separates the swaps that hurt.

    Rule: a swap *hurt* when its verdict against the standard LSTM is "lower" (fewer seeds
    solved), is *unchanged* when "not distinguishable"; a property *separates* them when every
    hurt swap's activation differs from tanh in it and no unchanged swap's does (the property
    table's `PropertyRow.differs`); with no unchanged swap there is nothing to contrast, and no
    property is named. A swap whose activation is not in the property table is left out.

    Args:
        comparisons: the page's comparisons; properties: the property table's rows.

    Returns:
        one SlotFinding per ``train_candidate_T{T}`` and ``train_output_T{T}`` family (and
        per further setting's, ``..._T{T}_{key}``).
    """
    differs = {p.kernel: set(p.differs) for p in properties}
    out = []
    for fam in dict.fromkeys(c.family for c in comparisons):
        slot, _, rest = fam.removeprefix("train_").partition("_T")
        if not fam.startswith("train_") or slot not in ("candidate", "output"):
            continue
        length, _, setting = rest.partition("_")
        hurt, unchanged = [], []
        for c in comparisons:
            kernel = getattr(variants.get(c.a), slot) if c.family == fam else None
            if kernel not in differs:
                continue
            if c.verdict == "lower":
                hurt.append(c.a)
            elif c.verdict == "not distinguishable":
                unchanged.append(c.a)

        def props(v: str, slot: str = slot) -> set[str]:
            return differs[getattr(variants.get(v), slot)]

        separating = (
            tuple(
                p
                for p in PROPERTIES
                if all(p in props(v) for v in hurt)
                if not any(p in props(v) for v in unchanged)
            )
            if hurt and unchanged
            else ()
        )
        out.append(
            SlotFinding(slot, int(length), setting, tuple(hurt), tuple(unchanged), separating)
        )
    return tuple(out)
