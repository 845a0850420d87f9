"""The report's vocabulary and numbers: one flow classification, intervals, lengths, prose."""

import math

import pytest

from analysis._util import stats
from analysis.flow import classify
from analysis.report import answer, answer_flow, rows

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


def test_x51_and_x1e17_never_share_a_word_and_describe_gives_the_number():
    a = classify.describe(math.log(51) / 199, math.inf)
    b = classify.describe(math.log(1e17) / 199, math.inf)
    assert a.split()[0] == "growing" and b.split()[0] == "exploding"
    assert classify.describe(-LN2 / 20, 20.0) == "vanishing (half-life 20 steps)"
    assert classify.per_100_steps(math.log(1.02)) == "x7.2"
    assert "x1e+" in classify.per_100_steps(20.0)


def _train_record(variant, length, solved, n=8, diverged=()):
    cand, out = variant.split("/")
    per = []
    for i in range(n):
        per.append(
            {
                "solved_step": 100 + 10 * i if i < solved else None,
                "diverged_at": 5 if i in diverged else None,
                "final_test_loss": 0.001 if i < solved else 0.17,
                "flow_snapshots": [
                    {
                        "step": 0,
                        "rate": -0.1,
                        "half_life": LN2 / 0.1,
                        "lyapunov_max": -0.1,
                        "max_abs_c": 1.0,
                        "log_h": [0.0] * length,
                    },
                    {
                        "step": 50,
                        "rate": -0.005,
                        "half_life": LN2 / 0.005,
                        "lyapunov_max": -0.01,
                        "max_abs_c": 2.0,
                        "log_h": [0.0] * length,
                    },
                ],
            }
        )
    return {
        "config": {"candidate": cand, "output": out, "length": length, "steps": 400},
        "result": {"baseline": 1 / 6, "per_seed": per, "wall_s": 1.0, "steps_per_s": 10.0},
    }


def test_training_rows_carry_wilson_intervals_and_steps_to_solve_quartiles():
    (row,) = rows.training_rows([_train_record("tanh/tanh", 100, solved=6)])
    assert (row["solved"], row["n"]) == (6, 8)
    assert row["solve_rate_ci"] == pytest.approx(list(stats.wilson(6, 8)))
    # solved steps 100, 110, ..., 150: median 125, quartiles 112.5 and 137.5
    assert row["steps_to_solve"] == pytest.approx([125.0, 112.5, 137.5])
    assert row["outcome"] == "solved" and row["outcomes"].count("stuck at baseline") == 2


def test_length_rows_find_the_longest_solved_and_the_first_failure():
    recs = [
        _train_record("tanh/tanh", 50, 8),
        _train_record("tanh/tanh", 100, 6),
        _train_record("tanh/tanh", 200, 2),
        _train_record("relu/relu", 50, 0),
    ]
    trows = rows.training_rows(recs)
    by = {
        r["variant"]: r
        for r in rows.length_rows(trows, ["tanh/tanh", "relu/relu"], [50, 100, 200, 400])
    }
    assert by["tanh/tanh"]["longest_solved"] == 100 and by["tanh/tanh"]["first_fails"] == 200
    assert by["tanh/tanh"]["by_length"][400] is None  # not trained
    assert by["relu/relu"]["longest_solved"] is None and by["relu/relu"]["first_fails"] == 50


def test_a_length_solved_after_a_failure_still_counts_as_the_longest_solved():
    trows = rows.training_rows(
        [_train_record("relu/tanh", 50, 3), _train_record("relu/tanh", 100, 5)]
    )
    (lr,) = rows.length_rows(trows, ["relu/tanh"], [50, 100])
    assert lr["longest_solved"] == 100 and lr["first_fails"] == 50


def test_flow_rows_take_medians_over_seeds_per_snapshot():
    (fr,) = rows.flow_rows([_train_record("tanh/tanh", 100, 3)])
    assert fr["steps"] == [0, 50]
    assert fr["half_life"] == pytest.approx([LN2 / 0.1, LN2 / 0.005])
    assert fr["flow"] == ["vanishing", "stable"] and fr["seeds_at"] == [8, 8]


def test_prose_claims_a_difference_only_when_intervals_separate():
    rows_ = rows.training_rows(
        [
            _train_record("relu/tanh", 100, 8),
            _train_record("tanh/relu", 100, 0),
            _train_record("sigmoid/tanh", 100, 5),
        ]
    )
    a, b, c = (rows.find(rows_, v, T=100) for v in ("relu/tanh", "tanh/relu", "sigmoid/tanh"))
    assert "solves more often than" in answer.compare_solve(a, b, "A", "B")
    assert answer.compare_solve(a, c, "A", "C") == "A and C are not distinguishable at n = 8"


def test_relu_relu_sentence_matches_the_outcome_table():
    blew = _train_record("relu/relu", 100, 0)
    for seed in blew["result"]["per_seed"][:6]:
        seed["final_test_loss"] = 5.0  # finite, above 10x the baseline 1/6
    trows = rows.training_rows([blew])
    assert trows[0]["outcomes"].count("blew up") == 6
    text = answer_flow._before_divergence(trows, rows.flow_rows([blew]), 100)
    assert "no seed diverged" in text and "6/8 seeds blew up" in text
    assert "vanishing -> stable" in text and "max |c| 1 -> 2" in text
    nan = _train_record("relu/relu", 100, 0, diverged=(2, 5))
    text = answer_flow._before_divergence(rows.training_rows([nan]), rows.flow_rows([nan]), 100)
    assert text.startswith("ReLU/ReLU diverged in 2/8 seeds (first at step 5)")
    calm = _train_record("relu/relu", 100, 0)
    text = answer_flow._before_divergence(rows.training_rows([calm]), rows.flow_rows([calm]), 100)
    assert text.startswith("ReLU/ReLU neither diverged nor blew up at T = 100")


def _trained(cfg, variant, length, solved):
    from analysis.report import stages

    per_seed = [{"solved_step": s} for s in solved]
    return {"config": stages.train_cell(cfg, variant, length), "result": {"per_seed": per_seed}}


def test_training_goes_one_length_longer_only_after_a_solved_seed(monkeypatch, tmp_path):
    from analysis.experiments import sweep
    from analysis.report import config, stages

    cfg = config.preset("tiny")  # main T = 12, lengths 6, 12, 24; lengths for tanh/tanh

    def fake_run(cells, seeds, run_cell, out, desc="", workers=1, follow=None):
        # every grid cell solves one seed, every follow-up none; follow-ups last, as sweep.run
        recs = [_trained(cfg, rows.variant_of(c), c["length"], [None, 5, None]) for c in cells]
        ups = [c for r in recs for c in follow(r)]
        return recs + [_trained(cfg, rows.variant_of(c), c["length"], [None] * 3) for c in ups]

    monkeypatch.setattr(sweep, "run", fake_run)
    got = [
        (rows.variant_of(r["config"]), r["config"]["length"])
        for r in stages.run_training(cfg, tmp_path)
    ]
    assert got == [("tanh/tanh", 12), ("relu/relu", 12), ("tanh/tanh", 6), ("tanh/tanh", 24)]
    assert stages._longer(cfg, _trained(cfg, "tanh/tanh", 12, [None] * 3)) == []  # none solved
    # relu/relu is not one of tiny's length variants
    assert stages._longer(cfg, _trained(cfg, "relu/relu", 12, [1, 1, 1])) == []
    assert stages._longer(cfg, _trained(cfg, "tanh/tanh", 6, [1, 1, 1])) == []  # shorter: no chain
    assert stages._longer(cfg, _trained(cfg, "tanh/tanh", 24, [1, 1, 1])) == []  # the longest
    assert stages._longer(cfg, _trained(cfg, "tanh/tanh", 12, [None, 9, None])) == [
        stages.train_cell(cfg, "tanh/tanh", 24)
    ]


def test_one_solved_seed_has_a_step_and_no_quartiles():
    (one,) = rows.training_rows([_train_record("sigmoid/tanh", 100, 1)])
    assert "solved 1/8" in answer.solve_text(one) and "at step 100" in answer.solve_text(one)
    assert "IQR" not in answer.solve_text(one)
    (three,) = rows.training_rows([_train_record("sigmoid/tanh", 100, 3)])
    assert "median step 110, IQR 105-115" in answer.solve_text(three)


def test_the_spread_of_decay_rates_at_one_forget_bias_is_read_from_the_rows():
    def row(variant, rate, ci, flow="vanishing", fb=1.0):
        return dict(variant=variant, forget_bias=fb, rate=rate, flow=flow, half_life_ci=ci, seeds=8)

    drows = [
        row("tanh/tanh", -0.03, [23.1, 21.0, 25.0]),
        row("relu/tanh", -0.15, [4.6, 4.1, 5.6]),
        row("relu/relu", -0.5, [1.4, 1.0, 2.0], flow="exploding"),  # not a fading cell
        row("tanh/relu", -0.9, [0.8, 0.7, 0.9], fb=3.0),  # another forget bias
    ]
    text = answer._rate_spread(drows, 1.0)
    assert "-0.0300 (tanh/tanh) to -0.1500 (relu/tanh) per step" in text
    assert "5.0x apart (half-life intervals separate)" in text
    drows[1]["half_life_ci"] = [4.6, 4.1, 22.0]  # overlaps tanh/tanh's: no difference claimed
    text = answer._rate_spread(drows, 1.0)
    assert text.endswith("per step: not distinguishable at n = 8.") and "apart" not in text
    assert answer._rate_spread(drows[:1], 1.0) == ""


def test_keeps_memory_splits_the_seeds_by_outcome_and_names_a_separated_dip():
    from analysis.report.config import ReportConfig

    std = {
        "variant": "tanh/tanh",
        "T": 100,
        "steps": [0, 600, 1200],
        "half_life": [17.0, 4.3, 35.0],
        "half_life_ci": [[17.0, 15.0, 20.0], [4.3, 4.1, 4.5], [35.0, 4.4, 48.0]],
        "half_life_ends": [[16.0, 40.0], [18.0, 50.0], [17.0, 4.5]],
    }
    trow = {"variant": "tanh/tanh", "T": 100, "outcomes": ["solved", "solved", "stuck at baseline"]}
    text = answer_flow._keeps_memory(ReportConfig(train_seeds=3), [trow], [std])
    assert "first and last half-lives are not distinguishable at n = 3" in text
    assert "its median stays below the sequence length T = 100 (35 steps)" in text
    assert "the 2 seeds that solved end at half-lives 40-50 steps (2/2 above" in text
    assert "the 1 other seed ends at half-life 4.5 steps (0/1 above its own first value)" in text
    assert (
        "fell to 4.3 steps [4.1, 4.5] at step 600 (the one snapshot between the first and the "
        "last), below the first snapshot's [15, 20]"
    ) in text
    std["half_life_ci"][1] = [4.3, 4.1, 16.0]  # overlaps the first interval: no dip claimed
    assert "fell to" not in answer_flow._keeps_memory(ReportConfig(train_seeds=3), [trow], [std])


def test_flow_text_edge_cases_say_what_happened():
    from analysis.report import flow_text

    assert flow_text.describe_flow(math.nan, math.nan, False, 0, 8) == (
        "exploding (no rate fitted: fewer than 2 finite points)"
    )
    both = _train_record("relu/relu", 100, 0, diverged=(0,))
    for seed in both["result"]["per_seed"][1:6]:
        seed["final_test_loss"] = 5.0
    text = answer_flow._before_divergence(
        rows.training_rows([both]), rows.flow_rows([both]), 100
    )
    assert text.startswith("ReLU/ReLU diverged in 1/8 seeds (first at step 5); 5/8 more seeds")
    std = {"half_life_ends": [[5.0, math.nan], [5.0, 4.0], [6.0, 7.0]]}
    trow = {"outcomes": ["stuck at baseline"] * 3}
    text = answer_flow._by_outcome(std, trow)
    assert text.startswith(" By outcome: none solved; the 3 seeds end at half-lives 4-7 steps")
    assert "(1/2 above their own first value; 1 with no half-life at the end)" in text
