"""kernels.from_formula and "formula:EXPR" names: activations like the built-in ones."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from analysis import lstm
from analysis.checks.verify import check_properties, verify_activation


@pytest.fixture
def softsign():
    act = kernels.from_formula("z/(1+|z|)", name="my_softsign")
    yield act
    kernels.unregister("my_softsign")


def test_from_formula_is_registered_and_matches_the_builtin_softsign(softsign) -> None:
    assert kernels.get("my_softsign") is softsign and "my_softsign" in kernels.names()
    ref = kernels.get("softsign")  # hand-written, an independent implementation
    x = jnp.asarray(np.linspace(-50, 50, 2001) + 1e-3)
    for mine, theirs in (
        (softsign.fn, ref.fn),
        (softsign.grad, ref.grad),
        (softsign.grad2, ref.grad2),
    ):
        np.testing.assert_allclose(np.asarray(mine(x)), np.asarray(theirs(x)), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(jax.vmap(jax.grad(softsign.fn))(x), softsign.grad(x))
    np.testing.assert_array_equal(jax.vmap(jax.grad(softsign.grad))(x), softsign.grad2(x))
    assert softsign.doc == "formula: z/(1+|z|)" and kernels.expression_of("my_softsign")


def test_kinks_and_properties_are_measured(softsign) -> None:
    (kink,) = softsign.kinks
    assert (kink.at, kink.order, kink.left, kink.right) == (0.0, 2, 2.0, -2.0)
    p, q = softsign.properties, kernels.get("softsign").properties
    assert p.range == q.range and p.bounded and p.monotonic and p.zero_centered
    assert p.saturating == q.saturating == "both"
    assert p.max_abs_grad == q.max_abs_grad == 1.0 and p.f_prime_at_zero == 1.0
    assert all(ok for *_, ok in check_properties(softsign))


def test_formula_kernel_passes_verify_like_a_builtin(softsign) -> None:
    rep = verify_activation(softsign, n_random=2_000)
    assert rep.passed, [(r.dtype, r.check, r.note) for r in rep.failures]


def test_formula_names_with_params_build_distinct_kernels() -> None:
    name = "formula:max(z, k z)"
    try:
        a, b = kernels.get(name, k=0.1), kernels.get(name, k=0.2)
        assert a is not b and a.params == {"k": 0.1} and b.params == {"k": 0.2}
        assert (a.kinks[0].left, a.kinks[0].right, a.kinks[0].convention) == (0.1, 1.0, 0.1)
        assert float(b.grad(-3.0)) == 0.2 and float(b.grad(3.0)) == 1.0
        assert kernels.default_params(name) == {"k": 0.1}
    finally:
        kernels.unregister(name)


def test_dtype_is_kept_and_inf_nan_behave(softsign) -> None:
    for dtype in (jnp.float32, jnp.bfloat16, jnp.float16):
        x = jnp.asarray([-jnp.inf, -2.0, 0.0, 3.0, jnp.inf, jnp.nan], dtype)
        for fn in (softsign.fn, softsign.grad, softsign.grad2):
            assert fn(x).dtype == dtype
        y = np.asarray(softsign.fn(x), np.float64)
        assert y[0] == -1.0 and y[4] == 1.0 and np.isnan(y[5])


def test_name_collision_and_refusals() -> None:
    kernels.from_formula("z^3", name="cube")
    try:
        assert kernels.from_formula("z^3", name="cube") is kernels.get("cube")
        with pytest.raises(ValueError, match="already registered"):
            kernels.from_formula("z^2", name="cube")
    finally:
        kernels.unregister("cube")
    with pytest.raises(kernels.FormulaError, match="unknown function 'foo'"):
        kernels.from_formula("foo(z)", name="bad")
    with pytest.raises(ValueError) as info:
        kernels.get("formula:__import__('os')")
    assert "\n" not in str(info.value) and "kernels.get" in str(info.value)
    assert not kernels.registered("bad")


def test_formula_kernel_in_an_lstm_slot() -> None:
    name = "formula:z/(1+|z|)"
    try:
        kernels.get(name)
        cfg = lstm.LSTMConfig(input_size=1, hidden_size=4, candidate=name, dtype="float64")
        params = lstm.init(jax.random.PRNGKey(0), cfg)
        xs = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 1), jnp.float64)
        hs, _ = lstm.apply(params, xs, cfg)
        assert hs.shape == (2, 5, 4) and bool(jnp.all(jnp.isfinite(hs)))
    finally:
        kernels.unregister(name)
