"""The cell interface: registry and errors, scan vs loop, exact oracles, parity with PyTorch
and with a numpy loop of the sLSTM equations, no recompilation."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis import cells
from analysis.flow import gradients, state_norms

B, T, IN, H = 2, 7, 3, 4


def _noisy(params, key, scale=0.4):
    """Params plus noise, so zero biases cannot hide a wrong bias path."""
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    noisy = [
        x + scale * jax.random.normal(k, x.shape, x.dtype)
        for x, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree_util.tree_unflatten(tree, noisy)


def _cell_and_params(name, **kw):
    cell = cells.get(name, input_size=IN, hidden_size=H, dtype="float64", **kw)
    return cell, _noisy(cell.init(jax.random.key(0)), jax.random.key(1))


XS = jax.random.normal(jax.random.key(2), (B, T, IN), jnp.float64)


# ------------------------------------------------------------------ registry and errors


def test_names_and_config_cover_every_field():
    assert cells.names() == (
        "gru",
        "indrnn",
        "janet",
        "lnlstm",
        "lstm",
        "mingru",
        "minlstm",
        "rnn",
        "slstm",
    )
    for name in cells.names():
        cell = cells.get(name, input_size=IN, hidden_size=H)
        cfg = cell.config()
        assert cfg["cell"] == name
        assert set(cfg) - {"cell"} == {f.name for f in dataclasses.fields(cell)}
        assert cell == cells.get(name, input_size=IN, hidden_size=H)
        assert hash(cell) == hash(cells.get(name, input_size=IN, hidden_size=H))
        assert set(cell.slots) <= set(cfg)
        assert cells.describe(name)["states"] == cell.state_names


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "transformer"}, "valid cells: gru, indrnn, janet, lnlstm, lstm"),
        ({"name": "gru", "output": "tanh"}, "its slots: gate, candidate"),
        (
            {"name": "gru", "forget_bias": 1.0},
            "'forget_bias' belongs to janet, lnlstm, lstm, minlstm",
        ),
        ({"name": "rnn", "gate": "sigmoid"}, "its slots: candidate"),
        ({"name": "gru", "candidate": "nope"}, "valid names: elu"),
        ({"name": "rnn", "initializer": "xavier"}, "valid: orthogonal, identity, uniform"),
        ({"name": "slstm", "forget": "tanh"}, "valid: sigmoid, exp"),
        ({"name": "gru", "update_bias": math.inf}, "finite real"),
        ({"name": "minlstm", "normalize": 1}, "true or false"),
        ({"name": "gru", "hidden_size": 0}, ">= 1"),
        ({"name": "gru", "dtype": "int8"}, "valid: float16, bfloat16, float32, float64"),
        ({"name": "lstm", "initializer": "chrono"}, "needs t_max"),
        ({"name": "gru", "num_layers": 0}, "num_layers"),
    ],
)
def test_bad_input_is_one_line_value_error(kwargs, needle):
    with pytest.raises(ValueError) as err:
        cells.get(**kwargs)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ scan vs loop, dtype


@pytest.mark.parametrize("name", cells.names())
def test_apply_equals_a_loop_of_steps(name):
    cell, params = _cell_and_params(name)
    ys, last = cell.apply(params, XS)
    carry, outs, step = cell.initial_carry(B), [], jax.jit(cell.step)
    for t in range(T):
        carry, y = step(params, carry, XS[:, t])
        outs.append(y)
    np.testing.assert_allclose(ys, jnp.stack(outs, 1), rtol=1e-12, atol=1e-13)
    for k in cell.state_names:
        np.testing.assert_allclose(last[k], carry[k], rtol=1e-12, atol=1e-13)


def test_float32_is_kept():
    for name in cells.names():  # eval_shape: dtypes are decided at trace time, nothing compiles
        cell = cells.get(name, input_size=IN, hidden_size=H, dtype="float32")
        params = jax.eval_shape(cell.init, jax.random.key(0))
        assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(params)), name
        ys, last = jax.eval_shape(cell.apply, params, XS)
        assert ys.dtype == jnp.float32 and all(v.dtype == jnp.float32 for v in last.values())


def test_stack_equals_layers_run_in_turn():
    stack = cells.get("gru", input_size=IN, hidden_size=H, num_layers=2, dtype="float64")
    params = stack.init(jax.random.key(0))
    ys0, last0 = stack.layers[0].apply(params[0], XS)
    ys1, _ = stack.layers[1].apply(params[1], ys0)
    ys, last = stack.apply(params, XS)
    np.testing.assert_allclose(ys, ys1, rtol=1e-13)
    np.testing.assert_allclose(last["h_l0"], last0["h"], rtol=1e-13)
    carry = stack.initial_carry(B)
    for t in range(T):  # the per-step interleaving equals the layer-by-layer scan
        carry, y = stack.step(params, carry, XS[:, t])
    np.testing.assert_allclose(y, ys[:, -1], rtol=1e-12)
    assert stack.config()["num_layers"] == 2 and stack.state_names == ("h_l0", "h_l1")


def test_jitted_step_and_apply_do_not_recompile():
    cell, params = _cell_and_params("slstm")
    traces = []

    def step(p, c, x):
        traces.append(1)
        return cell.step(p, c, x)

    jstep = jax.jit(step)
    carry = cell.initial_carry(B)
    for t in range(3):
        carry, _ = jstep(params, carry, XS[:, t])
    assert len(traces) == 1
    twin = cells.get("slstm", input_size=IN, hidden_size=H, dtype="float64")
    cell.apply(params, XS)
    size = cells.base._scan_apply._cache_size()
    twin.apply(_noisy(params, jax.random.key(5)), XS + 1.0)  # equal config, new values
    assert cells.base._scan_apply._cache_size() == size


# ------------------------------------------------------------------ exact oracles


def _zero(params):
    return jax.tree_util.tree_map(jnp.zeros_like, params)


def test_zero_weight_gru_gradient_shrinks_by_sigmoid_bz_per_step():
    cell = cells.get("gru", input_size=1, hidden_size=3, dtype="float64")
    params = _zero(cell.init(jax.random.key(0)))
    b_z = 0.8
    params["b_ih"] = params["b_ih"].at[3:6].set(b_z).at[6:].set(0.5)  # b_in: h != 0
    xs, carry0 = jnp.ones((2, 40, 1)), cell.initial_carry(2)
    norms = state_norms.state_grad_norms(cell.step, params, xs, carry0, log_space=False)
    ratio = np.asarray(norms["h"][:-1] / norms["h"][1:])
    sig = 1.0 / (1.0 + math.exp(-b_z))
    np.testing.assert_allclose(ratio, sig, rtol=1e-13)
    assert gradients.fit_decay(norms["h"]).rate == pytest.approx(math.log(sig), rel=1e-12)


@pytest.mark.parametrize("a", [0.9, -0.7, 1.1])
def test_linear_rnn_with_u_equal_a_identity_has_rate_ln_abs_a(a):
    cell = cells.get("rnn", input_size=2, hidden_size=3, candidate="identity", dtype="float64")
    params = dict(cell.init(jax.random.key(0)), u=a * jnp.eye(3))
    xs = jax.random.normal(jax.random.key(3), (2, 30, 2))
    norms = state_norms.state_grad_norms(
        cell.step, params, xs, cell.initial_carry(2), log_space=False
    )
    fit = gradients.fit_decay(norms["h"])
    assert fit.rate == pytest.approx(math.log(abs(a)), abs=1e-12)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)


def test_identity_init_is_irnn():
    cell = cells.get("rnn", input_size=2, hidden_size=3, initializer="identity", scale=0.5)
    u = cell.init(jax.random.key(0))["u"]
    np.testing.assert_array_equal(u, 0.5 * np.eye(3, dtype=np.float32))
    orth = cells.get("rnn", input_size=2, hidden_size=3, dtype="float64").init(jax.random.key(0))
    np.testing.assert_allclose(orth["u"] @ orth["u"].T, np.eye(3), atol=1e-12)


def test_mingru_step_jacobian_is_diag_one_minus_z():
    cell, params = _cell_and_params("mingru")
    h = jax.random.normal(jax.random.key(4), (1, H), jnp.float64)
    x = XS[:1, 0]
    jac = jax.jacobian(lambda hh: cell.step(params, {"h": hh}, x)[1])(h)[0, :, 0, :]
    z = jax.nn.sigmoid(x @ params["w"][:, :H] + params["b"][:H])[0]
    np.testing.assert_allclose(jac, np.diag(1.0 - np.asarray(z)), rtol=1e-14, atol=0)


# ------------------------------------------------------------------ parity


def test_gru_matches_torch_nn_gru():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.GRU(IN, H, batch_first=True).double()
    cell = cells.get("gru", input_size=IN, hidden_size=H, dtype="float64")
    ys, last = cell.apply(cells.params_from_torch(module, cell), XS)
    ref, h_n = module(torch.tensor(np.asarray(XS)))
    np.testing.assert_allclose(ys, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(last["h"], h_n[0].detach().numpy(), rtol=1e-12, atol=1e-14)


def test_relu_rnn_matches_torch_nn_rnn():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    module = torch.nn.RNN(IN, H, nonlinearity="relu", batch_first=True).double()
    cell = cells.get("rnn", input_size=IN, hidden_size=H, candidate="relu", dtype="float64")
    ys, _ = cell.apply(cells.params_from_torch(module, cell), XS)
    ref, _ = module(torch.tensor(np.asarray(XS)))
    np.testing.assert_allclose(ys, ref.detach().numpy(), rtol=1e-12, atol=1e-14)


def _np_slstm(params, xs, forget):
    """The sLSTM equations of Beck et al. 2024 (stabilised), one numpy loop."""
    w, u, b = (np.asarray(params[k]) for k in ("w_ih", "w_hh", "b"))
    bsz, t_len, _ = xs.shape
    h = c = n = m = np.zeros((bsz, H))
    hs = []
    for t in range(t_len):
        zi, zf, zz, zo = np.split(xs[:, t] @ w + h @ u + b, 4, axis=-1)
        log_f = -np.logaddexp(0.0, -zf) if forget == "sigmoid" else zf
        m_new = np.where(n == 0, zi, np.maximum(zi, log_f + m))
        i_s = np.exp(zi - m_new)
        f_s = np.where(n == 0, 0.0, np.exp(np.where(n == 0, 0.0, log_f + m - m_new)))
        c = f_s * c + i_s * np.tanh(zz)
        n = f_s * n + i_s
        m = m_new
        h = 1.0 / (1.0 + np.exp(-zo)) * c / n
        hs.append(h)
    return np.stack(hs, 1), {"h": h, "c": c, "n": n, "m": m}


@pytest.mark.parametrize("forget", ["sigmoid", "exp"])
def test_slstm_matches_a_numpy_loop(forget):
    cell, params = _cell_and_params("slstm", forget=forget)
    xs = 3.0 * XS  # large pre-activations: the stabiliser must do its job
    ys, last = cell.apply(params, xs)
    ref_ys, ref_last = _np_slstm(params, np.asarray(xs), forget)
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-12, atol=1e-14)
    for k in ("h", "c", "n", "m"):
        np.testing.assert_allclose(last[k], ref_last[k], rtol=1e-12, atol=1e-14)
    assert np.all(np.asarray(last["n"]) >= 1.0 - 1e-12)


def test_slstm_exp_gates_do_not_overflow_in_float32():
    cell = cells.get("slstm", input_size=IN, hidden_size=H, forget="exp", dtype="float32")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1), scale=30.0)
    xs = 50.0 * XS.astype(jnp.float32)
    ys, last = cell.apply(params, xs)
    grads = jax.grad(lambda p: jnp.sum(cell.apply(p, xs)[0] ** 2))(params)
    assert np.all(np.isfinite(ys)) and all(np.all(np.isfinite(v)) for v in last.values())
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
