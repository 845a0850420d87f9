"""analysis.checks.verify: passes on the real kernels, fails on deliberately broken ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from analysis.checks import verify, verify_points
from kernels import Kink, make_activation

N = 2000


def _broken_tanh(scale=1.01, d2_scale=1.0):
    good = kernels.get("tanh")
    return make_activation(
        "broken_tanh",
        jnp.tanh,
        lambda x: scale * (1 - jnp.tanh(x) ** 2),
        lambda x: d2_scale * -2 * jnp.tanh(x) * (1 - jnp.tanh(x) ** 2),
        good.reference,
        properties=good.properties,
        jax_nn=jnp.tanh,
    )


@pytest.mark.parametrize("name", ["tanh", "leaky_relu", "gelu_tanh", "softsign"])
def test_real_kernels_pass(name):
    rep = verify.verify_activation(kernels.get(name), n_random=N)
    assert rep.passed, [r for r in rep.rows if not r.passed] + [k for k in rep.kinks if not k.ok]
    checks = {(r.dtype, r.check) for r in rep.rows}
    for want in [
        ("float64", "f' vs jax.grad(reference)"),
        ("float64", "f'' vs grad(grad(reference))"),
        ("float32", "f' vs finite diff of f"),
        ("float32", "f' vs float64"),
        ("float32", "f vs jax.nn"),
        ("float16", "finite in -> finite f, f', f'' (all 2^16)"),
        ("bfloat16", "NaN in -> NaN out (all 2^16)"),
    ]:
        assert want in checks
    assert all(r.n_points > 0 for r in rep.rows)


def test_wrong_first_derivative_fails():
    rep = verify.verify_activation(_broken_tanh(scale=1.01), n_random=N)
    assert not rep.passed
    failed = {(r.dtype, r.check) for r in rep.failures}
    assert ("float64", "f' vs jax.grad(reference)") in failed
    assert ("float64", "f' vs finite diff of f") in failed
    assert ("float32", "f' vs finite diff of f") in failed
    worst = next(r for r in rep.failures if r.check == "f' vs jax.grad(reference)")
    assert worst.max_rel_err == pytest.approx(0.01, rel=1e-3)


def test_wrong_second_derivative_fails():
    rep = verify.verify_activation(_broken_tanh(scale=1.0, d2_scale=-1.0), n_random=N)
    failed = {r.check for r in rep.failures}
    assert "f'' vs grad(grad(reference))" in failed
    assert "f'' vs finite diff of f'" in failed
    assert "f' vs jax.grad(reference)" not in failed


def test_nan_producing_kernel_fails():
    good = kernels.get("silu")
    naive = make_activation(
        "naive_silu",
        lambda x: x * jax.nn.sigmoid(x),  # -inf * 0 = NaN at -inf; fine for finite x
        lambda x: jax.nn.sigmoid(x) * (1 + x * (1 - jax.nn.sigmoid(x))),
        lambda x: jnp.zeros_like(x),
        good.reference,
        properties=good.properties,
    )
    rep = verify.verify_activation(naive, n_random=N, finite_dtypes=())
    failed = {r.check for r in rep.failures}
    assert "±inf -> limits" in failed
    assert "f'' vs finite diff of f'" in failed


def test_wrong_kink_declaration_is_reported():
    good = kernels.get("relu")
    wrong = make_activation(
        "relu_wrong_kink",
        lambda x: jnp.maximum(x, 0),
        good.grad,
        good.grad2,
        good.reference,
        kinks=(Kink(at=0.0, left=0.0, right=1.0, convention=1.0, reason="declared 1", jax_nn=0.0),),
        properties=good.properties,
        jax_nn=jax.nn.relu,
    )
    rep = verify.verify_activation(wrong, n_random=N, finite_dtypes=())
    assert not rep.passed
    assert all(r.passed for r in rep.rows)  # the kink point is left out of the comparisons
    (k64,) = [k for k in rep.kinks if k.dtype == "float64"]
    assert not k64.ok and k64.value_at_kink == 0.0
    assert k64.measured_left == 0.0 and k64.measured_right == 1.0
    assert k64.fd_right == pytest.approx(1.0) and k64.jax_nn_measured == 0.0


def test_leaky_relu_kink_differs_from_jax_nn():
    rep = verify.verify_activation(kernels.get("leaky_relu"), n_random=N, finite_dtypes=())
    for k in rep.kinks:
        assert k.ok and k.value_at_kink == pytest.approx(0.01) and k.jax_nn_measured == 1.0


def test_bad_arguments():
    act = kernels.get("relu")
    with pytest.raises(ValueError, match="unknown dtype"):
        verify.verify_activation(act, dtypes=("float8",))
    with pytest.raises(ValueError, match="n_random"):
        verify.verify_activation(act, n_random=0)


@pytest.mark.parametrize("name", ["tanh", "gelu", "relu", "softsign", "leaky_relu", "silu"])
def test_declared_properties_hold(name):
    rows = verify.check_properties(kernels.get(name))
    assert {r[0] for r in rows} >= {"range", "monotonic", "max_abs_grad", "f_prime_at_zero"}
    assert all(ok for *_, ok in rows), [r for r in rows if not r[3]]


def test_wrong_property_is_caught():
    import dataclasses

    act = kernels.get("tanh")
    wrong = dataclasses.replace(
        act, properties=dataclasses.replace(act.properties, max_abs_grad=0.5, monotonic=False)
    )
    bad = {r[0] for r in verify.check_properties(wrong) if not r[3]}
    assert bad == {"max_abs_grad", "monotonic"}


def test_fast_compile_option_keeps_results_bit_identical():
    x = np.concatenate([np.linspace(-30, 30, 4001), [0.0, 1e-30, -1e30, np.inf, np.nan]])
    with jax.enable_x64(True):
        for name in ("gelu_tanh", "silu", "softplus"):
            act = kernels.get(name)

            def run(v, act=act):
                return act.fn(v), act.grad(v), act.grad2(v)

            for dtype in ("float32", "float64"):
                xs = jnp.asarray(x, dtype)
                fast = verify_points.jit_points(run)(xs)
                plain = jax.jit(run)(xs)
                for a, b in zip(fast, plain, strict=True):
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_check_formula_is_reexported():
    pytest.importorskip("analysis.checks.formula")
    assert callable(verify.check_formula)
    assert issubclass(verify.FormulaError, ValueError)
