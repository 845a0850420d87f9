"""Kernels against independent oracles: jax.grad of the textbook formula and central finite
differences in float64; dtype, extremes, NaN and the kink conventions."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kernels

NAMES = kernels.names()
EXPECTED = (
    "elu gelu gelu_tanh hard_sigmoid hard_tanh identity leaky_relu relu sigmoid silu "
    "softplus softsign tanh"
).split()
DTYPES = (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64)

# Points away from every kink (0, ±1, ±3), where the textbook formulas do not overflow.
X = np.concatenate([np.linspace(-8.0, 8.0, 1601), [-30.0, -12.5, 12.5, 30.0]])
X = X[np.all([np.abs(X - k) > 1e-3 for k in (0.0, -1.0, 1.0, -3.0, 3.0)], axis=0)]


def test_kernels_compile_as_users_do():
    # tests/conftest.py: the rest of the suite compiles at -O0; the kernels' tails must be
    # tested as users' programs compile them, here and in the commands started from here.
    assert jax.config.read("jax_disable_most_optimizations") is False
    assert os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS", "0") == "0"


def test_registry_names():
    assert NAMES == tuple(sorted(EXPECTED))


@pytest.mark.parametrize("name", NAMES)
def test_grad_matches_autodiff_of_reference(name):
    act = kernels.get(name)
    x = jnp.asarray(X)
    want1 = jax.vmap(jax.grad(act.reference))(x)
    want2 = jax.vmap(jax.grad(jax.grad(act.reference)))(x)
    np.testing.assert_allclose(act.fn(x), act.reference(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(act.grad(x), want1, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(act.grad2(x), want2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_grad_matches_finite_differences(name):
    act = kernels.get(name)
    h = 1e-6
    x = jnp.asarray(X)
    fd1 = (act.fn(x + h) - act.fn(x - h)) / (2 * h)
    fd2 = (act.grad(x + h) - act.grad(x - h)) / (2 * h)
    np.testing.assert_allclose(act.grad(x), fd1, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(act.grad2(x), fd2, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_jax_grad_uses_hand_written_rules(name):
    act = kernels.get(name)
    x = jnp.asarray(X)
    np.testing.assert_array_equal(jax.vmap(jax.grad(act.fn))(x), act.grad(x))
    np.testing.assert_array_equal(jax.vmap(jax.grad(jax.grad(act.fn)))(x), act.grad2(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_dtype_kept_and_finite_for_finite_input(name, dtype):
    act = kernels.get(name)
    fi = jnp.finfo(dtype)
    big = float(fi.max)
    vals = [0.0, 1e-3, 0.5, 1.0, 3.0, 10.0, 50.0, 300.0, 1e4, float(fi.tiny), big / 3, big]
    x = jnp.asarray(vals + [-v for v in vals], dtype).reshape(2, 12)
    outs = (act.fn(x), act.grad(x), act.grad2(x), jax.grad(lambda v: act.fn(v).sum())(x))
    for out in outs:
        assert out.dtype == x.dtype and out.shape == x.shape
        assert bool(jnp.all(jnp.isfinite(out))), (name, dtype, out)


@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates_and_infinities_give_limits(name):
    act = kernels.get(name)
    nan = jnp.asarray([jnp.nan])
    for fn in (act.fn, act.grad, act.grad2):
        assert bool(jnp.isnan(fn(nan))[0])
    inf = jnp.asarray([-jnp.inf, jnp.inf])
    far = jnp.asarray([-1e300, 1e300])
    f_far = np.asarray(act.fn(far))
    with np.errstate(invalid="ignore"):
        want_f = np.where(np.abs(f_far) > 1e290, np.sign(f_far) * np.inf, f_far)
    np.testing.assert_allclose(act.fn(inf), want_f, rtol=1e-12, atol=1e-300)
    for fn in (act.grad, act.grad2):
        got = fn(inf)
        assert bool(jnp.all(jnp.isfinite(got)))
        np.testing.assert_allclose(got, fn(far), rtol=1e-12, atol=1e-300)


# name, params, kink location, convention, jax.grad of the jax.nn twin there, order
KINKS = [
    ("relu", {}, 0.0, 0.0, 0.0, 1),
    ("leaky_relu", {}, 0.0, 0.01, 1.0, 1),
    ("leaky_relu", {"negative_slope": 0.2}, 0.0, 0.2, 1.0, 1),
    ("hard_tanh", {}, -1.0, 1.0, 1.0, 1),
    ("hard_tanh", {}, 1.0, 1.0, 1.0, 1),
    ("hard_sigmoid", {}, -3.0, 1 / 6, 0.0, 1),
    ("hard_sigmoid", {}, 3.0, 1 / 6, 0.0, 1),
    ("softsign", {}, 0.0, 0.0, -2.0, 2),
    ("elu", {}, 0.0, 1.0, 1.0, 2),
    ("elu", {"alpha": 2.0}, 0.0, 2.0, 2.0, 1),
]


@pytest.mark.parametrize(("name", "params", "at", "convention", "jax_nn", "order"), KINKS)
def test_kink_conventions(name, params, at, convention, jax_nn, order):
    act = kernels.get(name, **params)
    kink = next(k for k in act.kinks if k.at == at and k.order == order)
    deriv = act.grad if order == 1 else act.grad2
    assert float(deriv(at)) == pytest.approx(convention, abs=1e-15)
    assert kink.convention == pytest.approx(convention)
    # one-sided limits, from one-sided differences of the lower derivative
    prim = act.fn if order == 1 else act.grad
    h = 1e-7
    left = (float(prim(at)) - float(prim(at - h))) / h
    right = (float(prim(at + h)) - float(prim(at))) / h
    assert left == pytest.approx(kink.left, rel=1e-5, abs=1e-6)
    assert right == pytest.approx(kink.right, rel=1e-5, abs=1e-6)
    twin = act.jax_nn
    for _ in range(order):
        twin = jax.grad(twin)
    assert float(twin(jnp.asarray(at))) == pytest.approx(jax_nn)
    assert kink.jax_nn == pytest.approx(jax_nn)
    assert kink.reason


@pytest.mark.parametrize("name", [n for n in NAMES if kernels.get(n).grad_from_output])
def test_grad_from_output(name):
    act = kernels.get(name)
    x = jnp.asarray(X)
    np.testing.assert_allclose(act.grad_from_output(act.fn(x)), act.grad(x), rtol=2e-7, atol=1e-9)


def test_registry_errors():
    with pytest.raises(ValueError, match=r"valid names: .*relu"):
        kernels.get("relux")
    with pytest.raises(ValueError, match="unknown parameter"):
        kernels.get("relu", negative_slope=0.1)
    with pytest.raises(ValueError, match="finite"):
        kernels.get("leaky_relu", negative_slope=float("nan"))
    with pytest.raises(ValueError, match="real number"):
        kernels.get("elu", alpha="1")
    with pytest.raises(ValueError, match="real number"):
        kernels.get("elu", alpha=True)


def test_parameters_reach_the_kernel():
    act = kernels.get("leaky_relu", negative_slope=0.2)
    assert float(act.fn(-2.0)) == pytest.approx(-0.4)
    assert float(act.grad(-2.0)) == pytest.approx(0.2)
    assert float(kernels.get("elu", alpha=2.0).fn(-50.0)) == pytest.approx(-2.0)


@given(
    st.sampled_from(NAMES),
    st.floats(min_value=-40, max_value=40, allow_nan=False).filter(
        lambda v: min(abs(v - k) for k in (0.0, -1.0, 1.0, -3.0, 3.0)) > 1e-4
    ),
)
def test_float32_close_to_float64(name, x):
    act = kernels.get(name)
    x32 = jnp.asarray(x, jnp.float32)
    x64 = x32.astype(jnp.float64)  # same input, so only the arithmetic differs
    for fn, scale in ((act.fn, 1 + abs(x)), (act.grad, 1.0), (act.grad2, 1.0)):
        got, want = float(fn(x32)), float(fn(x64))
        assert abs(got - want) <= 16 * 1.2e-7 * (scale + abs(want)), (name, x, fn)


@given(st.sampled_from(NAMES), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_monotone_kernels_have_nonnegative_grad(name, x):
    act = kernels.get(name)
    g = float(act.grad(x))
    assert abs(g) <= act.properties.max_abs_grad * (1 + 1e-12)
    if act.properties.monotonic:
        assert g >= 0


def test_builtin_names_leave_out_formula_kernels_a_process_has_used():
    name = "formula:tanh(3*z)"
    try:
        kernels.get(name)
        assert name in kernels.names() and name not in kernels.builtin_names()
        # other formula kernels this process used are left out too; every built-in stays
        assert not any(n.startswith("formula:") for n in kernels.builtin_names())
        assert {"tanh", "relu", "sigmoid", "hard_tanh", "leaky_relu"} <= set(
            kernels.builtin_names()
        )
    finally:
        kernels.unregister(name)
