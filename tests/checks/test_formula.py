"""The formula parser and derivative checker: seed formulas, other pairs, hostile input."""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.checks.formula import FormulaError, parse, split_sides, to_jax
from analysis.checks.formula import check_formula as full_check
from kernels.formula import MpBackend, compile_tree


def check_formula(*args, **kw):
    """The checker on 2,400 points instead of 24,001: these tests are about verdicts."""
    return full_check(*args, **{"n_points": 2_400, **kw})


def mp_derivative(f: str, params: dict, z: float) -> float:
    """d/dz f at z by mpmath's own numerical differentiation (80 digits), not our rules."""
    with mpmath.workdps(80):
        fn = compile_tree(parse(f, params), MpBackend(mpmath.mp))
        # A step far below any distance to a kink among the test points (even 5e-324).
        h = mpmath.mpf("1e-30") * max(1, abs(z))
        h = min(h, abs(mpmath.mpf(z)) / 4) if z != 0 else h
        return float(mpmath.diff(fn, mpmath.mpf(z), h=h))


SIGMOID = "Sigmoid(z) = 1 / (1 + exp(-z))"
TANH = "tanh(z) = [exp(z) - exp(-z)] / [exp(z) + exp(-z)]"
TANH_PRIME = "tanh'(z) = 1 - ([exp(z) - exp(-z)] / [exp(z) + exp(-z)])^2 = 1 - tanh^2(z)"
HARD_TANH = "hardtanh(z) = -1 if z < -1; z if -1 <= z <= 1; 1 if z > 1"
HARD_TANH_PRIME = "hardtanh'(z) = 1 if -1 <= z <= 1; 0 otherwise"
RELU = "relu(z) = max(z, 0)"
RELU_PRIME = "relu'(z) = 1 if z > 0; 0 otherwise"
LEAKY = "leaky(z) = max(z, k dot z) where 0 < k < 1"
LEAKY_PRIME = "relu'(z) = 1 if z > 0; k otherwise"
K = {"k": 0.01}

# (f, claimed df, params, matches): the seed page's lines as written, then other pairs.
CASES = [
    (SIGMOID, "sigmoid'(z) = -exp(-z) / 1 + exp(-z)^2", {}, False),
    (SIGMOID, "-exp(-z) / (1 + exp(-z))^2", {}, False),
    (SIGMOID, "exp(-z)/(1+exp(-z))^2", {}, True),
    (SIGMOID, "sigmoid(z) * (1 - sigmoid(z))", {}, True),
    (TANH, split_sides(TANH_PRIME)[0], {}, True),
    (TANH, split_sides(TANH_PRIME)[1], {}, True),
    (TANH, "1 - tanh(z)", {}, False),
    (HARD_TANH, HARD_TANH_PRIME, {}, True),
    (HARD_TANH, "1 if -1 <= z <= 1; 1 otherwise", {}, False),
    (RELU, RELU_PRIME, {}, True),
    (RELU, "1 if z >= 0; 0 otherwise", {}, True),
    (RELU, "1 if z < 0; 0 otherwise", {}, False),
    (LEAKY, LEAKY_PRIME, K, True),
    (LEAKY, "1 if z >= 0; k otherwise", K, True),
    (LEAKY, "1 if z > 0; 0 otherwise", K, False),
    ("z^3", "3*z^2", {}, True),
    ("z^3", "2*z^2", {}, False),
    ("z**3 - 2*z", "3*z**2 - 2", {}, True),
    ("log1p(exp(z))", "sigmoid(z)", {}, True),
    ("log1p(exp(z))", "1.0001*sigmoid(z)", {}, False),
    ("sinh(z)", "cosh(z)", {}, True),
    ("cosh(z)", "sinh(z)", {}, True),
    ("log(cosh(z))", "tanh(z)", {}, True),
    ("sqrt(1 + z^2)", "z / sqrt(1 + z^2)", {}, True),
    ("abs(z)", "z / abs(z) if z > 0; -1 otherwise", {}, True),
    ("min(z, 1)", "1 if z < 1; 0 otherwise", {}, True),
    ("exp(-z^2)", "-2*z*exp(-z^2)", {}, True),
    ("exp(-z^2)", "2*z*exp(-z^2)", {}, False),
    # An error only beyond z = 15, and one confined to a region 1e-4 wide.
    ("z^3", "3*z^2 if z <= 15; 3*z^2 + 0.001*(z-15)^2 otherwise", {}, False),
    ("z^3", "3*z^2 if z < 3; 3*z^2 + 1 if z <= 3.0001; 3*z^2 otherwise", {}, False),
]


@pytest.mark.parametrize(("f", "df", "params", "matches"), CASES)
def test_derivative_pairs(f: str, df: str, params: dict, matches: bool) -> None:
    res = check_formula(f, df, params)
    assert res.matches is matches, (res.counterexamples, res.kinks, res.notes)
    if matches:
        assert res.counterexamples == []
        assert res.max_abs_err <= 1e-9 * (1 + abs(res.worst_z)) ** 3
    else:
        assert res.counterexamples
        # Each counterexample is a real disagreement: the true value is mpmath's numerical
        # derivative of f (or, at a kink, one of the one-sided derivatives).
        kinks = {k["z"]: k for k in res.kinks}
        for z, claimed, true in res.counterexamples:
            if z in kinks:
                assert true in (kinks[z]["left"], kinks[z]["right"])
            else:
                assert true == pytest.approx(mp_derivative(f, params, z), rel=1e-12, abs=1e-30)
            assert abs(claimed - true) > 1e-12 * abs(true)


def test_seed_sigmoid_as_written_is_wrong_everywhere() -> None:
    res = check_formula(SIGMOID, "-exp(-z) / 1 + exp(-z)^2")
    assert not res.matches
    assert res.mismatch_regions[0][:2] == (-20.0, 20.0)
    z, claimed, true = res.counterexamples[0]
    assert claimed == pytest.approx(-math.exp(-z) + math.exp(-z) ** 2)
    assert true == pytest.approx(math.exp(-z) / (1 + math.exp(-z)) ** 2)


def test_error_only_at_large_z_is_located() -> None:
    res = check_formula("z^3", "3*z^2 if z <= 15; 3*z^2 + 0.001*(z-15)^2 otherwise")
    assert all(lo > 15 for lo, _, _ in res.mismatch_regions)
    assert all(z > 15 for z, _, _ in res.counterexamples)


def test_seed_tanh_chain_is_refused_whole_and_split_into_claims() -> None:
    with pytest.raises(FormulaError, match="more than one '='"):
        parse(TANH_PRIME)
    sides = split_sides(TANH_PRIME)
    assert sides == ["1 - ([exp(z) - exp(-z)] / [exp(z) + exp(-z)])^2", "1 - tanh^2(z)"]


def test_hard_tanh_kinks_are_reported_not_compared() -> None:
    res = check_formula(HARD_TANH, HARD_TANH_PRIME)
    kinks = {k["z"]: k for k in res.kinks}
    assert set(kinks) == {-1.0, 1.0}
    assert (kinks[-1.0]["left"], kinks[-1.0]["right"], kinks[-1.0]["claimed"]) == (0.0, 1.0, 1.0)
    assert (kinks[1.0]["left"], kinks[1.0]["right"], kinks[1.0]["claimed"]) == (1.0, 0.0, 1.0)
    assert all(k["verdict"].startswith("convention") for k in res.kinks)
    assert res.kinks_excluded >= 2


def test_leaky_relu_convention_at_zero() -> None:
    seed = check_formula(LEAKY, LEAKY_PRIME, K)
    (kink,) = seed.kinks
    assert (kink["z"], kink["left"], kink["right"], kink["claimed"]) == (0.0, 0.01, 1.0, 0.01)
    assert kink["verdict"] == "convention: left derivative"
    jax_nn = check_formula(LEAKY, "1 if z >= 0; k otherwise", K)
    assert jax_nn.matches and jax_nn.kinks[0]["verdict"] == "convention: right derivative"
    assert jax_nn.kinks[0]["claimed"] == float(jax.grad(jax.nn.leaky_relu)(0.0, 0.01))


def test_value_outside_one_sided_derivatives_at_kink_is_wrong() -> None:
    res = check_formula("abs(z)", "3 if 0 <= z <= 0; 1 if z > 0; -1 otherwise")
    assert not res.matches
    assert (0.0, 3.0, 1.0) in res.counterexamples or (0.0, 3.0, -1.0) in res.counterexamples


def test_step_function_jump_is_reported() -> None:
    res = check_formula("1 if z > 0; 0 otherwise", "0")
    assert res.matches  # f' = 0 wherever it exists
    (kink,) = res.kinks
    assert kink["z"] == 0.0 and kink["f_jumps"] and "jumps" in kink["verdict"]


def test_leaky_constraint_is_checked() -> None:
    with pytest.raises(FormulaError, match="k < 1, but k = 2"):
        parse(LEAKY, {"k": 2.0})


def test_overflow_is_reported_not_called_wrong() -> None:
    res = check_formula(SIGMOID, "exp(-z)/(1+exp(-z))^2", domain=(-1000.0, 1000.0))
    assert res.matches
    df_rows = [o for o in res.overflow if o["formula"] == "df"]
    assert df_rows and df_rows[0]["z_lo"] == -1000.0 and -800 < df_rows[0]["z_hi"] < -700
    assert "df is nan" in res.overflow_note
    # The wrong sign is still caught on the same wide domain.
    assert not check_formula(SIGMOID, "-exp(-z)/(1+exp(-z))^2", domain=(-1000.0, 1000.0)).matches


def test_huge_power_tower_does_not_hang() -> None:
    start = time.perf_counter()
    res = check_formula("9**9**9**9", "0")
    assert time.perf_counter() - start < 10
    assert not res.matches and res.n_compared == 0
    assert res.overflow[0]["formula"] == "f" and res.overflow[0]["kind"] == "+inf"


@pytest.mark.parametrize(
    ("text", "z", "expected"),
    [
        ("-z^2", 3.0, -9.0),
        ("2^3^2", 0.0, 512.0),
        ("2**-z", 1.0, 0.5),
        ("tanh^2(z)", 0.5, math.tanh(0.5) ** 2),
        ("k dot z", 3.0, 0.03),
        ("[z + 1] * (z - 1)", 3.0, 8.0),
        ("1e-3*z", 2.0, 0.002),
        ("x^2", 3.0, 9.0),
        ("-exp(-z) / 1 + exp(-z)^2", 1.0, -math.exp(-1) + math.exp(-2)),
        ("1 if z > 0 else 0", 2.0, 1.0),
        ("(1 if z > 0; 0 otherwise) * 2 + pi", 1.0, 2 + math.pi),
        ("0 if z < 0; z if z >= 0", -2.0, 0.0),
    ],
)
def test_grammar(text: str, z: float, expected: float) -> None:
    assert float(to_jax(parse(text, K))(np.float64(z))) == pytest.approx(expected, rel=1e-15)


def test_to_jax_is_vectorised_and_differentiable() -> None:
    f = to_jax(parse("exp(-z) if z > 0; 1 otherwise"))
    zs = np.array([-800.0, -1.0, 0.5, 2.0])
    assert f(zs).shape == (4,)
    g = jax.jit(jax.vmap(jax.grad(f)))(zs)
    assert np.all(np.isfinite(g))  # the unused exp(800) branch does not poison the gradient
    np.testing.assert_allclose(g, [0.0, 0.0, -np.exp(-0.5), -np.exp(-2.0)], rtol=1e-15)


def test_overlap_note_names_the_convention() -> None:
    res = check_formula("abs(z)", "1 if z >= 0; -1 if z <= 0")
    assert any("first match" in n for n in res.readings)


PWNED = Path("/tmp/pwned_xyz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('touch /tmp/pwned_xyz')", "not allowed"),
        ("__import__", "not allowed"),
        ("z.real", "attribute"),
        ("z[0]", "subscript"),
        ("exp[z]", "subscript"),
        ("'z'", "strings"),
        ('"z"', "strings"),
        ("lambda z: z", "lambda"),
        ("[z for z in (1, 2)]", "comprehension"),
        ("foo(z)", "unknown function 'foo'"),
        ("q * z", "unknown name 'q'"),
        ("", "empty"),
        ("   ", "empty"),
        ("z" + " " * 10_000, "10001 characters"),
        ("(" * 101 + "z" + ")" * 101, "nesting deeper than 100"),
        ("exp(" * 101 + "z" + ")" * 101, "nesting deeper than 100"),
        ("-" * 150 + "z", "nesting deeper than 100"),
        ("1 if z <= 0; 2 if z >= 1", "z in (0, 1) is not covered"),
        ("1 if z > 0; 0 if z < 0", "z = 0 is not covered"),
        ("1 if z < 5", "z in [5, inf) is not covered"),
        ("0 otherwise; 1 if z > 0", "'otherwise' must close"),
        ("1 if z^2 < 1; 0 otherwise", "compare z or |z| with constants"),
        ("(z + 1", "expected ')'"),
        ("z + 1)", "unbalanced"),
        ("max(z)", "max takes 2 or more arguments"),
        ("z == 1", "only allowed in a condition"),
        ("1e999 * z", "too large"),
        ("z @ z", "unexpected character"),
        ("z; 1 if z > 0", "piece 1 has no condition"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert not PWNED.exists()


def test_injection_through_check_formula_creates_no_file(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    for text in (
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        "().__class__.__bases__[0].__subclasses__()",
    ):
        with pytest.raises(FormulaError):
            check_formula(text, "0")
        with pytest.raises(FormulaError):
            check_formula("z", text)
    assert not target.exists() and not PWNED.exists()


def test_nesting_of_exactly_100_is_accepted() -> None:
    assert float(to_jax(parse("(" * 100 + "z" + ")" * 100))(np.float64(2.0))) == 2.0
    res = check_formula(
        "exp(" * 3 + "z" + ")" * 3, "exp(exp(exp(z)))*exp(exp(z))*exp(z)", {}, (-3.0, 1.0)
    )
    assert res.matches


@pytest.mark.parametrize(
    ("params", "domain", "message"),
    [
        ({"k": math.inf}, (-1.0, 1.0), "finite"),
        ({"k": math.nan}, (-1.0, 1.0), "finite"),
        ({"exp": 1.0}, (-1.0, 1.0), "reserved"),
        ({"k": "1"}, (-1.0, 1.0), "number"),
        ({}, (1.0, 1.0), "lo < hi"),
        ({}, (0.0, math.inf), "finite"),
    ],
)
def test_bad_arguments(params: dict, domain: tuple, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        check_formula("z", "1", params, domain)


@settings(max_examples=10, deadline=None)
@given(
    coeffs=st.lists(st.integers(-5, 5), min_size=1, max_size=6),
    bump=st.integers(0, 5),
)
def test_random_polynomials(coeffs: list[int], bump: int) -> None:
    f = " + ".join(f"({c})*z^{i}" for i, c in enumerate(coeffs))
    df_terms = [(i * c, i - 1) for i, c in enumerate(coeffs) if i > 0]
    df = " + ".join(f"({a})*z^{p}" for a, p in df_terms) or "0"
    assert check_formula(f, df, domain=(-3.0, 3.0)).matches
    wrong = df + f" + 1*z^{bump}"
    assert not check_formula(f, wrong, domain=(-3.0, 3.0)).matches
