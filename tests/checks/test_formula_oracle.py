"""The exact oracle: correct forms always match, subtly wrong ones never do, built-in kernels'
hand-written derivatives agree with it, and the safety report names float32's weak spots."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from analysis.checks.formula import check_formula
from analysis.checks.formula_oracle import mp_values
from kernels.formula import derivative, parse

TANH_PRIME_FIVE_WAYS = [
    "1-tanh(z)^2",
    "1/cosh(z)^2",
    "sech(z)^2",
    "4/(e^z+e^-z)^2",
    "1 − tanh²(z)",
]
TANH_PRIME_WRONG = {
    "a 1e-7 bump": "1 - tanh(z)^2 + 1e-7*exp(-(z/0.01)^2)",
    "a tail cut-off": "1 - tanh(z)^2 if |z| < 10; 0 otherwise",
    "a sign error in one piece": "sech(z)^2 if z < 5; -sech(z)^2 otherwise",
    "a wrong constant": "1 - 0.9999 tanh(z)^2",
    "a 1e-6 relative scale": "(1 + 1e-6) sech(z)^2",
}


def test_user_report_tanh_and_one_over_cosh_squared_match() -> None:
    res = check_formula("tanh(z)", "1/cosh(z)^2")
    assert res.matches and res.n_compared > 24_000 and res.max_rel_err < 1e-40


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("df", TANH_PRIME_FIVE_WAYS)
def test_tanh_prime_written_five_ways_matches_every_time(df: str, seed: int) -> None:
    res = check_formula("tanh(z)", df, seed=seed, n_points=6_000 if seed == 0 else 2_400)
    assert res.matches, (res.counterexamples, res.unsure)
    assert res.counterexamples == [] and res.unsure == []


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("what", sorted(TANH_PRIME_WRONG))
def test_subtly_wrong_tanh_primes_mismatch_every_time(what: str, seed: int) -> None:
    n = 6_000 if seed == 0 else 2_400
    res = check_formula("tanh(z)", TANH_PRIME_WRONG[what], seed=seed, n_points=n)
    assert not res.matches and res.counterexamples, what
    for z, claimed, true in res.counterexamples:  # each one really disagrees, in float64
        assert abs(claimed - true) > 1e-12 * abs(true)
        assert true == pytest.approx(1 / np.cosh(z) ** 2, rel=1e-13, abs=1e-300)


def test_default_check_is_fast() -> None:
    check_formula("tanh(z)", "1/cosh(z)^2", n_points=200)  # imports and jit caches
    # CPU seconds, not wall time: the test machine is shared, and load is not our cost.
    start = time.process_time()
    res = check_formula("tanh(z)", "1 - tanh(z)^2")
    assert res.n_points > 24_000 and time.process_time() - start < 5.0


def test_safety_names_the_float32_weak_spots() -> None:
    res = check_formula("tanh(z)", "1 - tanh(z)^2", n_points=6_000)
    f32 = {row["formula"]: row for row in res.safety["float32"]}
    assert f32["df"]["underflow"].startswith("|z| > ")
    assert 7.0 < float(f32["df"]["underflow"][6:]) < 10.5
    assert f32["df"]["few_digits"] and f32["df"]["n_few_digits"] > 0
    line = res.safety_text("float32")[1]
    assert line.startswith("`1 - tanh(z)^2` is correct, but in float32 it is 0 for |z| > ")
    good = check_formula("tanh(z)", "1/cosh(z)^2", n_points=6_000).safety["float32"][1]
    assert good["underflow"] == "" and good["few_digits"] == ""
    assert set(res.safety) == {"float32", "float64"}  # the JSON holds both


def test_cross_checks_show_jax_grad_losing_where_the_oracle_does_not() -> None:
    res = check_formula("tanh(z)", "1/cosh(z)^2", n_points=6_000)
    jg = res.cross_checks["jax_grad_float64"]
    assert jg["n_off"] > 0 and jg["max_rel_err"] > 1.0  # 1 - tanh^2 rounds to 0 at |z| = 20
    assert res.matches


def test_second_derivative_is_checked_the_same_way() -> None:
    good = check_formula("tanh(z)", "sech(z)^2", d2f="-2 tanh(z) sech(z)^2", n_points=3_000)
    assert good.matches and good.second["matches"]
    bad = check_formula("tanh(z)", "sech(z)^2", d2f="2 tanh(z) sech(z)^2", n_points=3_000)
    assert not bad.matches and bad.df_matches and not bad.second["matches"]
    assert bad.second["counterexamples"]


def test_second_derivative_kink_of_softsign() -> None:
    res = check_formula("z/(1+|z|)", "1/(1+|z|)^2", d2f="-2 sign(z)/(1+|z|)^3", n_points=3_000)
    assert res.matches
    (kink,) = res.second["kinks"]
    assert (kink["z"], kink["left"], kink["right"]) == (0.0, 2.0, -2.0)


BUILT_IN_FORMULAS = {
    "sigmoid": "1/(1+exp(-z))",
    "tanh": "tanh(z)",
    "softsign": "z/(1+|z|)",
    "softplus": "log1p(exp(z))",
    "elu": "z if z > 0; exp(z) - 1 otherwise",
    "gelu": "z/2 (1 + erf(z/sqrt(2)))",
    "gelu_tanh": "0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))",
    "silu": "z sigmoid(z)",
    "relu": "max(z, 0)",
    "leaky_relu": "max(z, 0.01 z)",
    "hard_tanh": "clip(z, -1, 1)",
    "hard_sigmoid": "clip(z + 3, 0, 6)/6",
    "identity": "z",
}


def test_every_builtin_kernel_has_a_formula_here() -> None:
    builtin = {n for n in kernels.names() if kernels.expression_of(n) is None}
    assert builtin == set(BUILT_IN_FORMULAS)


# 50 digits are not enough for every tree written as people write it: gelu's
# "1 + erf(z/sqrt 2)" keeps only 50 - 197 < 0 of its digits at z = -30 (erfc(21) ~ 1e-197),
# so the tails are judged at 400 digits, where even that cancellation leaves 200.
ORACLE_DPS = 400


def _local_max(a: np.ndarray, half: int = 5) -> np.ndarray:
    padded = np.pad(a, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).max(axis=1)


@pytest.mark.parametrize(
    "name",
    sorted(BUILT_IN_FORMULAS),
)
def test_builtin_grads_agree_with_the_exact_oracle(name: str) -> None:
    act = kernels.get(name)
    f = parse(BUILT_IN_FORMULAS[name])
    d1, zs = derivative(f), np.linspace(-30.0, 30.0, 1201) + 1e-3  # off the kinks
    with jax.enable_x64(True):
        g = np.asarray(act.grad(jnp.asarray(zs)))
        h = np.asarray(act.grad2(jnp.asarray(zs)))
    eps = float(np.finfo(np.float64).eps)
    for label, got, expr in (("f'", g, d1), ("f''", h, derivative(d1))):
        exact = np.asarray([float(v) for v in mp_values(expr, zs, dps=ORACLE_DPS)])
        # 64 ulps of the largest |value| within +-0.25: relative in the tails, and absolute
        # only near a zero crossing (silu'' at 2.4), where any stable form rounds that much.
        ratio = np.abs(got - exact) / (64 * eps * _local_max(np.abs(exact)) + 1e-300)
        assert ratio.max() <= 1.0, (name, label, float(zs[np.argmax(ratio)]), ratio.max())
