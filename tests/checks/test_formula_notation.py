"""The notation people write: a table of real-world inputs, readings, refusals and a fuzz."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.formula import FormulaError, parse, parse_full, to_numpy


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


Z = 0.7
# (as written in textbooks, Wikipedia, chat answers or the seed page; its value at z = 0.7
# computed here with the math module)
TABLE = [
    ("3z^2", 3 * Z**2),
    ("2(z+1)", 2 * (Z + 1)),
    ("σ(z)(1-σ(z))", sig(Z) * (1 - sig(Z))),
    ("sigmoid(z)(1 - sigmoid(z))", sig(Z) * (1 - sig(Z))),
    ("z tanh(z)", Z * math.tanh(Z)),
    ("1 − tanh²(z)", 1 - math.tanh(Z) ** 2),
    ("1 - tanh^2(z)", 1 - math.tanh(Z) ** 2),
    ("sech(z)^2", 1 / math.cosh(Z) ** 2),
    ("sech²(z)", 1 / math.cosh(Z) ** 2),
    ("4/(e^z+e^-z)^2", 4 / (math.exp(Z) + math.exp(-Z)) ** 2),
    ("|z|", abs(Z)),
    ("z/(1+|z|)", Z / (1 + abs(Z))),
    ("erf(z)", math.erf(Z)),
    ("erfc(z)", math.erfc(Z)),
    ("pi z", math.pi * Z),
    ("π·z²", math.pi * Z**2),
    ("2 × z", 2 * Z),
    ("√(1+z²)", math.sqrt(1 + Z**2)),
    ("√z", math.sqrt(Z)),
    ("e^z", math.exp(Z)),
    ("e^-z^2", math.exp(-(Z**2))),
    ("e", math.e),
    ("ln(1+e^z)", math.log(1 + math.exp(Z))),
    ("log2(z) + log10(z)", math.log2(Z) + math.log10(Z)),
    ("log1p(z) - expm1(z)", math.log1p(Z) - math.expm1(Z)),
    ("cbrt(z)", Z ** (1 / 3)),
    ("sin z + cos z + tan z", math.sin(Z) + math.cos(Z) + math.tan(Z)),
    ("sec(z) + csc(z) + cot(z)", 1 / math.cos(Z) + 1 / math.sin(Z) + 1 / math.tan(Z)),
    ("sin^-1 z", math.asin(Z)),
    ("arctan(z) + acos(z)", math.atan(Z) + math.acos(Z)),
    ("asinh(z) + atanh(z) + acosh(1 + z)", math.asinh(Z) + math.atanh(Z) + math.acosh(1 + Z)),
    ("csch(z) + coth(z)", 1 / math.sinh(Z) + 1 / math.tanh(Z)),
    ("sgn(z) + sign(-z)", 0.0),
    ("heaviside(z) + step(-z)", 1.0),
    ("softplus(z)", math.log1p(math.exp(Z))),
    ("relu(z - 1)", 0.0),
    ("logistic(z)", sig(Z)),
    ("clip(z, -0.5, 0.5)", 0.5),
    ("max(z, 0.1z, 2)", 2.0),
    ("min(z, 1, -z, 3)", -Z),
    ("z if z > 0 else 0.01z", Z),
    ("z for z > 0, 0 otherwise", Z),
    ("0 if abs(z) < 0.5; 1 otherwise", 1.0),
    ("1 if |z| <= 1 and z != 0.5; 0 otherwise", 1.0),
    ("1 if z < -1 or z > 0.6; 0 otherwise", 1.0),
    ("1 if z == 0.7; 0 otherwise", 1.0),
    ("-1 if z < -1; z if -1 <= z <= 1; 1 if z > 1", Z),
    ("1 if z ≥ 0.7 else 0", 1.0),
    ("relu'(z) = 1 if z > 0; 0 otherwise", 1.0),
    ("f(x) = x^3 - 2x", Z**3 - 2 * Z),
    ("[exp(z) - exp(-z)] / [exp(z) + exp(-z)]", math.tanh(Z)),
    ("1/2z", 0.5 * Z),
    ("z·(1 − z)", Z * (1 - Z)),
    ("(1+z)²·3", 3 * (1 + Z) ** 2),
    ("||z| - 1|", abs(abs(Z) - 1)),
]


@pytest.mark.parametrize(("text", "value"), TABLE)
def test_notation_table(text: str, value: float) -> None:
    got = float(to_numpy(parse(text))(np.float64(Z)))
    assert got == pytest.approx(value, rel=1e-14, abs=1e-15)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("e^-z^2", "a^(-(b^c))"),
        ("sin^-1 z", "inverse function asin"),
        ("1/2z", "(1/2)*z"),
        ("sin 2z", "sin(product)"),
        ("1 if z >= 0; 0 if z <= 0", "first match wins"),
    ],
)
def test_ambiguous_readings_are_named(text: str, reading: str) -> None:
    assert any(reading in note for note in parse_full(text).notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("z +", "the formula ended where a value was expected"),
        ("z $ 2", "position 3"),
        ("foo(z)", "known: abs"),
        ("sin", "needs an argument"),
        ("clip(z, 1)", "clip takes 3 argument(s), got 2 (at position 1)"),
        ("z if z^2 > 1; 0 otherwise", "like -1 <= z <= 1 or |z| < 5"),
        ("1 if |z| < -1; 0 if z > 5", "piece 1's condition is empty"),
        ("|z", "expected '|'"),
        ("z for z in (1, 2)", "comprehensions are not allowed"),
        ("not z > 0", "write the complementary condition"),
        ("z.real", "attribute access"),
    ],
)
def test_refusals_are_one_line_with_a_position_or_the_accepted_form(
    text: str, message: str
) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert message in str(info.value) and "\n" not in str(info.value)


TOKENS = (
    "z x 1 2.5 1e3 e pi π σ ( ) [ ] | , ; + - * / ^ ** < <= > >= == != = . ' "
    "if else for otherwise and or not in where dot lambda __import__ exp log tanh sin^-1 max "
    "clip sech² − × · √ ² ³ ⁻¹ abs relu heaviside sigmoid"
).split()


def _parse_only_formula_error(text: str) -> None:
    start = time.perf_counter()
    try:
        parse(text, {"k": 0.5})
    except FormulaError as err:
        assert "\n" not in str(err)
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    _parse_only_formula_error(data.decode("utf-8", errors="replace"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_fuzz_token_soup(text: str) -> None:
    _parse_only_formula_error(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_fuzz_token_soup_without_spaces(text: str) -> None:
    _parse_only_formula_error(text)


@pytest.mark.parametrize(("text", "value"), TABLE)
def test_notation_table_in_the_oracle(text: str, value: float) -> None:
    """The 50-digit backend reads every entry the same way as the float64 one."""
    from analysis.checks.formula_oracle import mp_values

    (got,) = mp_values(parse(text), np.asarray([Z]))
    assert float(got) == pytest.approx(value, rel=1e-14, abs=1e-15)
