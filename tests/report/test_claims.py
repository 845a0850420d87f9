"""The seed-claims audit: formulas as written on the page, and the property claims."""

import pickle
from pathlib import Path

import pytest

from analysis.report import claims


@pytest.fixture(scope="module")
def formula_rows():
    return {r.id: r for r in claims.formula_rows()}


def test_every_seed_formula_has_a_row(formula_rows):
    for name in claims.SEED_FORMULAS:
        assert f"{name}-f" in formula_rows
        assert f"{name}-df" in formula_rows
    assert "tanh-df-2" in formula_rows  # the page's second form, 1 - tanh^2(z)


def test_seed_sigmoid_derivative_is_wrong_and_the_correct_form_holds(formula_rows):
    row = formula_rows["sigmoid-df"]
    assert row.verdict == claims.WRONG
    assert row.data["counterexamples"]
    assert row.data["sign_only"]["matches"] is False
    assert row.data["correct"]["matches"] is True


@pytest.mark.parametrize("row_id", ["tanh-df", "tanh-df-2", "hard_tanh-df", "relu-df"])
def test_correct_seed_derivatives_hold(formula_rows, row_id):
    assert formula_rows[row_id].verdict == claims.HOLDS


def test_leaky_relu_row_shows_both_conventions_at_zero(formula_rows):
    row = formula_rows["leaky_relu-df"]
    assert row.data["jax_nn_at_0"] == 1.0  # jax.nn: where(x >= 0, x, k x)
    kink = row.data["kinks"][0]
    assert kink["z"] == 0.0 and kink["claimed"] == pytest.approx(0.01)


def test_page_tanh_overflows_as_written_but_matches_the_kernel(formula_rows):
    row = formula_rows["tanh-f"]
    assert row.verdict == claims.HOLDS
    assert row.data["overflows_as_written"] is True


def test_property_rows_measure_the_kernels():
    rows = {r.id: r for r in claims.property_rows()}
    assert rows["hard_tanh-saturates"].verdict == claims.HOLDS
    assert rows["hard_tanh-saturates"].data["max_grad_outside"] == 0.0
    assert rows["leaky-propagates"].data["leaky_grad_neg"] > 0
    assert rows["leaky-propagates"].data["relu_grad_neg"] == 0
    assert rows["relu-no-saturation"].verdict == claims.DEPENDS


def test_measured_rows_without_evidence_say_so():
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence())}
    assert rows["hard_tanh-cheaper"].verdict == claims.NOT_SUPPORTED
    assert rows["tanh-converges-faster"].verdict == claims.NOT_SUPPORTED
    assert rows["second-derivative"].verdict == claims.NOT_SUPPORTED


def test_cost_rows_use_the_measured_ratio():
    costs = {
        "hard_tanh": {"forward_s": 1.0, "fwd_bwd_s": 2.0},
        "tanh": {"forward_s": 2.0, "fwd_bwd_s": 4.0},
        "sigmoid": {"forward_s": 2.0, "fwd_bwd_s": 4.0},
    }
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence(costs=costs, device="cpu"))}
    assert rows["hard_tanh-cheaper"].data["forward_ratio"] == pytest.approx(0.5)
    assert rows["hard_tanh-cheaper"].verdict == claims.DEPENDS


def test_second_derivative_claim_reads_the_spread_of_measured_rates():
    decay = [
        {"variant": v, "forget_bias": 1.0, "rate": r, "flow": "vanishing", "half_life_ci": ci}
        for v, r, ci in (
            ("tanh/tanh", -0.03, [23.1, 21.0, 25.0]),
            ("relu/tanh", -0.15, [4.6, 4.1, 5.6]),
            ("identity/tanh", -0.025, [27.7, 26.0, 30.0]),
        )
    ]
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence(decay=decay))}
    text = rows["second-derivative"].evidence
    assert "6.0x apart at the same forget bias (half-life intervals separate)" in text
    assert "forget gate more than" not in text
    decay[1]["half_life_ci"] = [4.6, 4.1, 28.0]  # overlaps the slowest: no difference claimed
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence(decay=decay))}
    assert "not distinguishable" in rows["second-derivative"].evidence
    alone = {r.id: r for r in claims.measured_rows(claims.Evidence(decay=decay[:1]))}
    assert "apart" not in alone["second-derivative"].evidence


def test_cost_words_follow_the_timing_ranges_and_name_timing_noise():
    def timed(fw, fw_range, fb, fb_range):
        return {"forward_s": fw, "fwd_bwd_s": fb, "forward_range_s": fw_range,
                "fwd_bwd_range_s": fb_range}

    costs = {
        "hard_tanh": timed(1.0, [0.9, 1.1], 2.0, [1.5, 2.7]),
        "tanh": timed(1.16, [1.1, 1.2], 2.72, [2.6, 2.8]),  # against sigmoid: 0.58 and 1.43
        "sigmoid": timed(2.0, [1.9, 2.1], 1.9, [1.8, 2.0]),  # fwd+bwd below its forward: noise
    }
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence(costs=costs, device="cpu"))}
    grad = rows["tanh-grad-cheaper"].evidence
    assert "forward 0.58 (cheaper: the ranges over the repeats separate)" in grad
    assert "forward+backward 1.43 (costlier: the ranges over the repeats separate)" in grad
    assert "timing noise: forward+backward measured below forward for sigmoid" in grad
    hard = rows["hard_tanh-cheaper"].evidence  # ranges [0.9, 1.1] / [1.1, 1.2] touch
    assert "forward 0.86 (not distinguishable here)" in hard and "noise" not in hard
    assert "forward+backward 0.74 (not distinguishable here)" in hard  # [1.5, 2.7] / [2.6, 2.8]
    del costs["tanh"]["forward_range_s"]
    rows = {r.id: r for r in claims.measured_rows(claims.Evidence(costs=costs, device="cpu"))}
    assert "forward 0.58 (one timing, no range)" in rows["tanh-grad-cheaper"].evidence


SEED_PAGE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "lstm-activations-qa.txt"


@pytest.mark.skipif(not SEED_PAGE.is_file(), reason="the shared seed page is not beside the repo")
def test_audited_formulas_are_verbatim_from_the_seed_page():
    page = SEED_PAGE.read_text()
    for f, df, _ in claims.SEED_FORMULAS.values():
        assert f in page, f
        assert df in page, df
    assert claims.TANH_SECOND_FORM in page


def test_derivative_checks_from_the_pool_give_the_same_rows_in_page_order(monkeypatch):
    from analysis.runtime import pool

    def fake_row(name, f, df, params, row_id):  # no oracle: the assembly is what is checked
        return claims.ClaimRow(row_id, name, df, claims.HOLDS, f"{row_id} ok", {"max_abs_err": 0})

    def reversed_pool(todo, seeds, run_cell, processes, finish, advance):
        for key in reversed(list(todo)):
            # what a worker gets: pool.run_cells pickles (run_cell, dict(config), seeds)
            fn, cell, got_seeds = pickle.loads(
                pickle.dumps((run_cell, dict(todo[key]), list(seeds)))
            )
            finish(todo[key], key, pickle.loads(pickle.dumps(fn(cell, got_seeds))))

    monkeypatch.setattr(claims, "_derivative_row", fake_row)
    monkeypatch.setattr(pool, "usable", lambda *a: True)
    monkeypatch.setattr(pool, "run_cells", reversed_pool)
    checked = claims.run_derivative_checks()
    assert list(checked) == list(claims.derivative_checks())  # back in page order
    assert claims.formula_rows(checked) == claims.formula_rows()
    ids = [r.id for r in claims.formula_rows(checked)]
    assert ids.index("sigmoid-df") < ids.index("tanh-df") < ids.index("tanh-df-2")
