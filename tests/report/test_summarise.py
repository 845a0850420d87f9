"""Stored records -> the report's rows: one flow classification, intervals, lengths, snapshots."""

import math

import pytest
from report_records import decay_record, train_record

from analysis.flow import classify
from analysis.report import summarise
from analysis.util import stats

LN2, LN1000 = math.log(2), math.log(1000)


@pytest.mark.parametrize(
    ("rate", "finite", "unbounded", "expected"),
    [
        (math.log(0.5), True, False, "vanishing"),  # halves every step (b_f = 0-ish)
        (-math.log(2) / 20, True, False, "vanishing"),  # half-life 20 steps
        (-LN2 / 100 * 1.01, True, False, "vanishing"),  # just under 100 steps
        (-LN2 / 100 * 0.99, True, False, "stable"),  # just over 100 steps
        (0.0, True, False, "stable"),
        (LN2 / 100 * 0.99, True, False, "stable"),
        (math.log(51) / 199, True, False, "growing"),  # x51 over 200 steps (b_f = 3, tanh)
        (math.log(1.02), True, False, "growing"),  # x1.02 per step = x7.2 per 100
        (LN1000 / 100 * 0.99, True, False, "growing"),
        (LN1000 / 100 * 1.01, True, False, "exploding"),
        (math.log(1e17) / 199, True, False, "exploding"),  # x1e17 over 200 steps (relu/relu)
        (-0.3, False, False, "exploding"),  # a non-finite norm
        (0.001, True, True, "exploding"),  # max |c| beyond any bounded cell
        (math.nan, True, False, "exploding"),  # the fit broke down: overflow
    ],
)
def test_classification_on_a_table_of_rates(rate, finite, unbounded, expected):
    assert classify.classify(rate, finite, unbounded) == expected


def test_training_rows_carry_wilson_intervals_and_steps_to_solve_quartiles():
    (row,) = summarise.training_rows([train_record("tanh/tanh", 100, solved=6)])
    assert (row.solved.k, row.solved.n) == (6, 8)
    assert (row.solved.low, row.solved.high) == pytest.approx(
        (stats.wilson(6, 8).low, stats.wilson(6, 8).high)
    )
    # solved steps 100, 110, ..., 150: median 125, quartiles 112.5 and 137.5
    est = row.steps_to_solve
    assert (est.value, est.low, est.high, est.n) == pytest.approx((125.0, 112.5, 137.5, 6))
    assert row.outcome == "solved" and row.outcome_counts == {"solved": 6, "stuck": 2}


def test_outcomes_are_checked_in_order_and_a_diverged_loss_leaves_the_median():
    rec = train_record("relu/relu", 100, solved=1, diverged=(1, 2), blown=(3,))
    (row,) = summarise.training_rows([rec])
    assert row.outcomes == ("solved", "diverged", "diverged", "blew_up", *["stuck"] * 4)
    # finite losses 0.001, 1e9 and four 0.17: the nan of the diverged seeds is left out
    assert row.final_test_loss == pytest.approx(0.17)


def test_length_rows_find_the_longest_solved_and_the_first_failure():
    recs = [
        train_record("tanh/tanh", 50, 8),
        train_record("tanh/tanh", 100, 6),
        train_record("tanh/tanh", 200, 2),
        train_record("relu/relu", 50, 0),
    ]
    rows = summarise.training_rows(recs)
    by = {
        r.variant: r
        for r in summarise.length_rows(rows, ["tanh/tanh", "relu/relu"], [50, 100, 200, 400])
    }
    assert by["tanh/tanh"].longest_solved == 100 and by["tanh/tanh"].first_fails == 200
    assert by["tanh/tanh"].cells[-1].T == 400 and by["tanh/tanh"].cells[-1].row is None
    assert by["relu/relu"].longest_solved is None and by["relu/relu"].first_fails == 50


def test_flow_rows_take_the_median_rate_per_snapshot_and_its_half_life():
    (fr,) = summarise.flow_rows([train_record("tanh/tanh", 100, 3)])
    assert fr.steps == (0, 50)
    assert [h.value for h in fr.half_life] == pytest.approx([LN2 / 0.1, LN2 / 0.005])
    assert fr.flow == ("vanishing", "stable") and fr.seeds_at == (8, 8)


def test_decay_row_half_life_is_the_rate_interval_mapped_through_ln2():
    rates = [-0.03, -0.028, -0.035, -0.031, -0.029, -0.033, -0.027, -0.032]
    row = summarise.decay_row(decay_record("tanh/tanh", rates))
    assert row.rate.value == pytest.approx(sorted(rates)[3] / 2 + sorted(rates)[4] / 2)
    assert row.half_life.value == pytest.approx(LN2 / -row.rate.value)
    assert row.half_life.low == pytest.approx(LN2 / -row.rate.low)
    assert row.half_life.high == pytest.approx(LN2 / -row.rate.high)
    assert row.rate.low <= row.rate.value <= row.rate.high
    assert row.flow == "vanishing" and row.seeds == 8


def test_a_non_finite_seed_or_an_unbounded_state_makes_the_row_exploding():
    rates = [-0.03] * 4
    assert summarise.decay_row(decay_record("relu/relu", rates, non_finite=1)).flow == "exploding"
    unbounded = summarise.decay_row(decay_record("relu/relu", rates, length=100, c_max=101.0))
    assert unbounded.flow == "exploding" and unbounded.unbounded_state


def test_each_trained_cell_is_paired_with_its_own_decay_at_the_training_bias():
    decay = summarise.decay_rows(
        [
            decay_record("tanh/tanh", [-0.03] * 4, forget_bias=1.0),
            decay_record("tanh/tanh", [-0.3] * 4, forget_bias=0.0),
            decay_record("relu/tanh", [-0.15] * 4, forget_bias=1.0),
        ]
    )
    training = summarise.training_rows(
        [
            train_record("tanh/tanh", 100, 8),
            train_record("relu/tanh", 100, 2),
            train_record("tanh/tanh", 50, 8),  # another length: not paired
            train_record("tanh/relu", 100, 0),  # no decay row: not paired
        ]
    )
    pairs = summarise.init_vs_training(decay, training, (), 1.0, 100)
    assert [(g, label, d.forget_bias, t.T) for g, label, d, t in pairs] == [
        ("variants", "relu/tanh", 1.0, 100),
        ("variants", "tanh/tanh", 1.0, 100),
    ]
    assert pairs[1][2].rate.value == pytest.approx(-0.03)


@pytest.mark.parametrize("name", ["tanh/tanh", "relu/tanh", "tanh/relu", "sigmoid/tanh"])
def test_a_stored_configs_variant_name_is_read_from_its_cell_spec(name):
    from analysis.cells import CellSpec
    from analysis.experiments.decay_config import DecayConfig
    from analysis.experiments.train_config import TrainConfig
    from analysis.report import variants

    slots = variants.slots(variants.get(name))
    spec = CellSpec.of("lstm", **slots)
    for config in (TrainConfig(spec=spec).to_dict(), DecayConfig(spec=spec).to_dict()):
        assert "candidate" not in config and summarise.variant_of(config) == name
    # the same name as from the flat fields it was read from before schema 2
    assert variants.name_of(slots) == name
    other = CellSpec.of("lstm", gate="hard_sigmoid", candidate="elu", output="tanh")
    assert variants.name_of(TrainConfig(spec=other).to_dict()) == variants.name_of(
        {"gate": "hard_sigmoid", "candidate": "elu", "output": "tanh"}
    )
