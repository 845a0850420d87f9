"""The page's one rule against independent computations: Wilson's formula, Fisher's exact test
by summing hypergeometric tables, the permutation test by enumerating every split, Holm by its
definition; and verdicts read from the adjusted p-values."""

import itertools
import math

import numpy as np
import pytest
from report_records import decay_record, train_record

from analysis.report import compare, summarise
from analysis.report.model import Proportion
from analysis.util import stats


@pytest.mark.parametrize(("k", "n"), [(0, 8), (1, 8), (5, 8), (8, 8), (14, 16), (3, 7)])
def test_wilson_matches_the_closed_form(k, n):
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    got = stats.wilson(k, n)
    assert (got.low, got.high) == pytest.approx((max(0, centre - half), min(1, centre + half)))


def test_wilson_2_of_3_by_hand_and_the_ends():
    # k = 2, n = 3, z = 1.959964 by hand: z^2 = 3.841459, denominator 1 + z^2/3 = 2.280486,
    # centre (2/3 + z^2/6) / 2.280486 = 0.573084, half-width
    # z sqrt(2/27 + z^2/36) / 2.280486 = 0.365424 -> [0.207660, 0.938508]
    got = stats.wilson(2, 3)
    assert (got.low, got.high) == pytest.approx((0.207660, 0.938508), abs=2e-6)
    z2 = 1.959963984540054**2
    zero, full = stats.wilson(0, 8), stats.wilson(8, 8)
    assert zero.low == 0.0 and zero.high == pytest.approx(z2 / (8 + z2), rel=1e-9)
    assert full.high == 1.0 and full.low == pytest.approx(8 / (8 + z2), rel=1e-9)


def _fisher_by_hand(a, b):
    """Two-sided: the sum of every table with the same margins no likelier than the observed."""
    n1, n2, k = a.n, b.n, a.k + b.k
    lo, hi = max(0, k - n2), min(k, n1)

    def prob(x):
        return math.comb(n1, x) * math.comb(n2, k - x) / math.comb(n1 + n2, k)

    observed = prob(a.k)
    return sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= observed * (1 + 1e-7))


@pytest.mark.parametrize(("ka", "kb", "n"), [(5, 0, 8), (1, 8, 8), (8, 8, 8), (14, 9, 16)])
def test_fisher_matches_summed_hypergeometric_tables(ka, kb, n):
    a, b = Proportion(ka, n, 0, 0), Proportion(kb, n, 0, 0)
    assert stats.fisher_p(a, b) == pytest.approx(_fisher_by_hand(a, b), rel=1e-9)


def test_the_issues_examples_5_of_8_against_0_and_1_against_8():
    p = stats.fisher_p(Proportion(5, 8, 0, 0), Proportion(0, 8, 0, 0))
    assert p == pytest.approx(0.02564, abs=1e-5)
    p = stats.fisher_p(Proportion(1, 8, 0, 0), Proportion(8, 8, 0, 0))
    assert p == pytest.approx(0.001399, abs=1e-6)


def test_permutation_p_equals_full_enumeration_of_splits():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 6), rng.normal(0.8, 1, 6)
    pooled = np.concatenate([x, y])
    observed = abs(np.median(x) - np.median(y))
    hits = total = 0
    for idx in itertools.combinations(range(12), 6):
        mask = np.zeros(12, bool)
        mask[list(idx)] = True
        d = abs(np.median(pooled[mask]) - np.median(pooled[~mask]))
        hits += d >= observed * (1 - 1e-12)
        total += 1
    assert stats.permutation_p(x, y) == pytest.approx(hits / total, rel=1e-9)


def test_permutation_p_drops_non_finite_values_and_needs_two_a_side():
    assert math.isnan(stats.permutation_p([1.0, math.nan], [1.0, 2.0, 3.0]))
    assert stats.permutation_p([1.0, 2.0, math.inf, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(1.0)


def _holm_by_definition(ps):
    m = len(ps)
    order = np.argsort(ps)
    adj = np.empty(m)
    for rank, i in enumerate(order):
        adj[i] = max(min(1.0, (m - r) * ps[order[r]]) for r in range(rank + 1))
    return adj


def test_holm_matches_its_definition_and_leaves_nan_out_of_the_count():
    ps = [0.01, 0.04, 0.03, 0.005, 0.5]
    assert stats.holm(ps) == pytest.approx(list(_holm_by_definition(ps)))
    with_nan = stats.holm([0.01, math.nan, 0.04])
    assert with_nan[0] == pytest.approx(0.02) and math.isnan(with_nan[1])
    assert with_nan[2] == pytest.approx(0.04)


def test_detectable_is_the_first_k_that_passes_the_strictest_holm_step():
    for n, m in ((8, 1), (8, 8), (16, 8), (3, 1)):
        k = compare.detectable(n, m)

        def p(j, n=n):
            return stats.fisher_p(Proportion(j, n, 0, 0), Proportion(0, n, 0, 0))

        if k:
            assert p(k) < compare.ALPHA / m and (k == 1 or p(k - 1) >= compare.ALPHA / m)
        else:
            assert p(n) >= compare.ALPHA / m
    assert compare.detectable(8, 1) == 5 and compare.detectable(3, 1) == 0


def test_bootstrap_interval_holds_the_median_and_repeats():
    values = [3.0, 1.0, 2.0, 5.0, 4.0, 2.5, 3.5, 1.5]
    a, b = stats.median_bootstrap(values), stats.median_bootstrap(values)
    assert a == b and a.low <= a.value <= a.high and a.value == pytest.approx(2.75)
    assert a.low >= min(values) and a.high <= max(values) and a.n == 8
    one = stats.median_bootstrap([5.0, math.nan])
    assert (one.value, one.low, one.high, one.n) == (5.0, 5.0, 5.0, 1)


def test_verdicts_follow_the_adjusted_p_values_and_families_are_separate():
    training = summarise.training_rows(
        [
            train_record("tanh/tanh", 100, 8),
            train_record("relu/tanh", 100, 5),
            train_record("sigmoid/tanh", 100, 0),
            train_record("tanh/relu", 100, 0),
            train_record("tanh/tanh", 50, 8),
            train_record("tanh/relu", 50, 1),
        ]
    )
    rates_ref = [-0.03 - 0.001 * i for i in range(8)]
    rates_fast = [-0.15 - 0.001 * i for i in range(8)]
    decay = summarise.decay_rows(
        [decay_record("tanh/tanh", rates_ref), decay_record("relu/tanh", rates_fast)]
    )
    fams_declared = [("decay_bf1", 1.0, ("tanh/tanh", "relu/tanh"))]
    comps, fams = compare.compare_all(decay, training, (), 100, fams_declared)
    by = {(c.family, c.a, c.b): c for c in comps}
    fast = by[("decay_bf1", "relu/tanh", "tanh/tanh")]
    assert fast.verdict == "lower" and fast.p_adjusted < 0.05  # every rate below every other
    sig = by[("train_candidate_T100", "sigmoid/tanh", "tanh/tanh")]
    cand = by[("train_candidate_T100", "relu/tanh", "tanh/tanh")]
    # two tests in the candidate family: 0/8 against 8/8 survives Holm, 5/8 against 8/8 not
    assert sig.verdict == "lower" and sig.p_adjusted == pytest.approx(2 * sig.p)
    assert cand.verdict == "not distinguishable"
    # the output slot is its own family: one test, no adjustment
    out = by[("train_output_T100", "tanh/relu", "tanh/tanh")]
    assert out.verdict == "lower" and out.p_adjusted == out.p
    slot = by[("slot_T100", "tanh/relu", "relu/tanh")]
    assert slot.p == pytest.approx(stats.fisher_p(Proportion(0, 8, 0, 0), Proportion(5, 8, 0, 0)))
    assert by[("train_output_T50", "tanh/relu", "tanh/tanh")].verdict == "lower"
    assert {f.key for f in fams} == {
        "decay_bf1",
        "train_candidate_T100",
        "train_output_T100",
        "train_output_T50",
        "slot_T100",
    }
    fam = next(f for f in fams if f.key == "train_candidate_T100")
    assert fam.detectable == compare.detectable(8, 2)


@pytest.mark.parametrize(("solved", "judged"), [(13, False), (14, True), (16, True)])
def test_the_budget_rule_judges_swaps_only_where_the_reference_passes(solved, judged):
    # a synthetic record of the standard LSTM at T = 200: 14/16 passes, 13/16 fails
    training = summarise.training_rows(
        [
            train_record("tanh/tanh", 200, solved, n=16),
            train_record("relu/tanh", 200, 0, n=16),
            train_record("tanh/relu", 200, 0, n=16),
        ]
    )
    assert compare.reference_passes(training, 200, 14 / 16) is judged
    comps, fams = compare.compare_all((), training, (), 200, (), passes=14 / 16)
    want = [("relu/tanh", "T = 200"), ("tanh/relu", "T = 200"), ("tanh/relu", "T = 200")]
    assert [(c.a, c.setting) for c in comps] == (want if judged else [])
    # the slot comparison (ReLU out against ReLU in) is gated by the same rule
    keys = {"train_candidate_T200", "train_output_T200", "slot_T200"}
    assert {f.key for f in fams} == (keys if judged else set())
    # a length the reference never trained at is not judged either
    assert not compare.reference_passes(training, 100, 14 / 16)


def test_slots_of_the_variants():
    assert compare.slot_of("relu/tanh") == "candidate"
    assert compare.slot_of("tanh/identity") == "output"
    assert compare.slot_of("relu/relu") == "both"
    assert compare.slot_of("gate=tanh") == "gate"


def test_slot_findings_name_the_property_that_separates_hurt_from_unchanged_swaps():
    from analysis.checks.properties import Measured
    from analysis.report.model import Comparison, PropertyRow

    def row(label, differs):
        return PropertyRow(label, label, Measured(label, 1, True, 0, 0, True, 1, 1, 0), differs)

    props = [
        row("relu", ("bounded", "centred", "slope", "curvature")),
        row("identity", ("bounded", "curvature")),
        row("hard_tanh", ("curvature",)),
        row("sigmoid", ("centred", "slope", "curvature")),
    ]

    def cmp(family, a, verdict):
        return Comparison(family, "solve rate", a, "tanh/tanh", "T = 100", 0, 0, 0, verdict)

    comps = [
        # output: unbounded swaps hurt, bounded ones do not -> boundedness
        cmp("train_output_T100", "tanh/relu", "lower"),
        cmp("train_output_T100", "tanh/identity", "lower"),
        cmp("train_output_T100", "tanh/hard_tanh", "not distinguishable"),
        cmp("train_output_T100", "tanh/sigmoid", "not distinguishable"),
        # candidate: relu hurts, sigmoid (not centred, slope) does not -> bounded and ... no:
        # identity is unchanged and unbounded, so only what relu has and neither else has
        cmp("train_candidate_T100", "relu/tanh", "lower"),
        cmp("train_candidate_T100", "identity/tanh", "not distinguishable"),
        cmp("train_candidate_T100", "sigmoid/tanh", "not distinguishable"),
        # both slots are not a one-slot question
        cmp("train_both_T100", "relu/relu", "lower"),
    ]
    got = {f.slot: f for f in compare.slot_findings(comps, props)}
    assert set(got) == {"candidate", "output"}
    assert got["output"].hurt == ("tanh/relu", "tanh/identity")
    assert got["output"].separating == ("bounded",)
    # relu's four properties: bounded (identity has it), centred and slope (sigmoid has them),
    # curvature (both have it): nothing separates
    assert got["candidate"].separating == ()
    # nothing unchanged to contrast with: no property is named
    only_hurt = [c for c in comps if c.a in ("tanh/relu", "tanh/identity")]
    assert compare.slot_findings(only_hurt, props)[0].separating == ()


def test_rank_correlation_p_equals_full_enumeration_of_pairings():
    from scipy.stats import spearmanr

    x = [0.25, 0.5, 1.0, 1.0, 2.0, 0.0]
    y = [-0.2, -0.15, -0.03, -0.06, 0.002, -0.14]
    rho, p = stats.rank_correlation_p(x, y)
    observed = spearmanr(x, y).statistic
    hits = sum(
        abs(spearmanr(x, list(perm)).statistic) >= abs(observed) * (1 - 1e-12)
        for perm in itertools.permutations(y)
    )
    assert rho == pytest.approx(observed)
    assert p == pytest.approx(hits / math.factorial(6), rel=1e-9)
    assert all(math.isnan(v) for v in stats.rank_correlation_p([1.0, 2.0], [3.0, 4.0]))


def test_the_slope_family_tests_each_slot_once():
    rows = summarise.decay_rows([decay_record("tanh/tanh", [-0.03 - 0.001 * i for i in range(8)])])
    import dataclasses

    extra = [
        dataclasses.replace(rows[0], variant=v, rate=dataclasses.replace(rows[0].rate, value=r))
        for v, r in (("a/tanh", -0.2), ("b/tanh", -0.1), ("c/tanh", -0.001), ("d/tanh", 0.0))
    ]
    pairs = [("tanh/tanh", 1.0), ("a/tanh", 0.25), ("b/tanh", 0.5), ("c/tanh", 2.0)]
    comps, fams = compare.compare_all(
        (*rows, *extra), (), (), 100, (), [("candidate", 1.0, pairs), ("output", 1.0, pairs[:2])]
    )
    (cmp,) = comps  # the output slot has two points: no test
    assert (cmp.family, cmp.setting, cmp.quantity) == ("slope", "candidate", "rank correlation")
    assert cmp.effect == pytest.approx(1.0)  # the rates rise with the slope, in rank order
    assert fams[-1].key == "slope" and fams[-1].size == 1


@pytest.mark.parametrize(
    ("sigmoid_solves", "named", "want"),
    [
        (2, (), ("sigmoid/tanh",)),  # 2/16 against 16/16: lower after Holm over the family
        (15, (), ()),  # 15/16: not distinguishable, so not a failing swap
        (2, ("relu/relu", "sigmoid/tanh"), ("sigmoid/tanh", "relu/relu")),  # each once
    ],
)
def test_failing_swaps_are_the_lower_verdicts_then_those_named(sigmoid_solves, named, want):
    from analysis.report import config, remedies

    cfg = config.preset("tiny", train_length=100, remedy_variants=named)
    records = [
        train_record("tanh/tanh", 100, 16, n=16),
        train_record("relu/tanh", 100, 15, n=16),
        train_record("sigmoid/tanh", 100, sigmoid_solves, n=16),
    ]
    assert remedies.failing_swaps(cfg, records) == want
