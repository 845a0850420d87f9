"""state_grad_norms for any cell: against PyTorch autograd on a torch loop of each cell's
equations (retain_grad on every state), against the LSTM's own per-step norms, log space at
T = 20,000 in float32; the generic Lyapunov spectrum and telemetry."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis import cells
from analysis.flow import cell_stats, gradients, state_norms

B, T, IN, H = 2, 6, 2, 3
XS = jax.random.normal(jax.random.key(2), (B, T, IN), jnp.float64)


def _noisy(params, key, scale=0.4):
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    noisy = [
        x + scale * jax.random.normal(k, x.shape, x.dtype)
        for x, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree_util.tree_unflatten(tree, noisy)


# ------------------------------------------------------------------ torch loops of each cell


def _torch_step(name, p, state, x, torch):
    """One step of cell `name` written out in torch: (new states dict, y)."""
    sig, tanh = torch.sigmoid, torch.tanh
    h = state["h"]
    if name == "lstm":
        i, f, g, o = torch.split(x @ p["w_ih"] + h @ p["w_hh"] + p["b"], H, dim=-1)
        c = sig(f) * state["c"] + sig(i) * tanh(g)
        new = {"c": c, "h": sig(o) * tanh(c)}
    elif name == "gru":
        xr, xz, xn = torch.split(x @ p["w_ih"] + p["b_ih"], H, dim=-1)
        hr, hz, hn = torch.split(h @ p["w_hh"] + p["b_hh"], H, dim=-1)
        r, z = sig(xr + hr), sig(xz + hz)
        new = {"h": (1 - z) * tanh(xn + r * hn) + z * h}
    elif name == "rnn":
        new = {"h": tanh(x @ p["w"] + h @ p["u"] + p["b"])}
    elif name == "indrnn":
        new = {"h": torch.relu(x @ p["w"] + p["u"] * h + p["b"])}
    elif name == "janet":
        s, zc = torch.split(x @ p["w_ih"] + h @ p["w_hh"] + p["b"], H, dim=-1)
        new = {"h": sig(s) * h + (1 - sig(s - 1.0)) * tanh(zc)}
    elif name == "mingru":
        zz, zh = torch.split(x @ p["w"] + p["b"], H, dim=-1)
        new = {"h": (1 - sig(zz)) * h + sig(zz) * zh}
    elif name == "minlstm":
        zf, zi, zh = torch.split(x @ p["w"] + p["b"], H, dim=-1)
        f, i = sig(zf), sig(zi)
        new = {"h": f / (f + i) * h + i / (f + i) * zh}
    elif name == "lnlstm":
        ln = torch.nn.functional.layer_norm  # Ba et al.'s LN, eps 1e-5 as the cell's
        zx = ln(x @ p["w_ih"], (4 * H,), p["s_x"], p["b_x"], eps=1e-5)
        zh = ln(h @ p["w_hh"], (4 * H,), p["s_h"], p["b_h"], eps=1e-5)
        i, f, g, o = torch.split(zx + zh + p["b"], H, dim=-1)
        c = sig(f) * state["c"] + sig(i) * tanh(g)
        new = {"c": c, "h": sig(o) * tanh(ln(c, (H,), p["s_c"], p["b_c"], eps=1e-5))}
    else:  # slstm, sigmoid forget gate
        zi, zf, zz, zo = torch.split(x @ p["w_ih"] + h @ p["w_hh"] + p["b"], H, dim=-1)
        n_prev, empty = state["n"], state["n"] == 0
        log_f = torch.nn.functional.logsigmoid(zf)
        m = torch.where(empty, zi, torch.maximum(zi, log_f + state["m"]))
        i_s = torch.exp(zi - m)
        f_s = torch.where(empty, torch.zeros_like(m), torch.exp(log_f + state["m"] - m))
        c = f_s * state["c"] + i_s * tanh(zz)
        n = f_s * n_prev + i_s
        new = {"m": m, "c": c, "n": n, "h": sig(zo) * c / n}
    for v in new.values():
        v.retain_grad()
    return new, new["h"]


def _torch_norms(name, params, xs, torch):
    """||dL/d state_t|| from torch autograd, L = 0.5 * mean_b ||h_T||^2."""
    flat = params._asdict() if hasattr(params, "_asdict") else params
    p = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in flat.items()}
    x = torch.tensor(np.asarray(xs))
    cell = cells.get(name, input_size=IN, hidden_size=H)
    state = {k: torch.zeros(B, H, dtype=torch.float64) for k in cell.state_names}
    history = []
    for t in range(xs.shape[1]):
        state, y = _torch_step(name, p, state, x[:, t], torch)
        history.append(state)
    loss = 0.5 * (y**2).sum(-1).mean()
    loss.backward()
    return {
        k: np.array([0.0 if s[k].grad is None else s[k].grad.norm().item() for s in history])
        for k in cell.state_names
    }


@pytest.mark.parametrize("name", cells.names())
def test_state_grad_norms_match_torch_autograd(name):
    torch = pytest.importorskip("torch")
    cell = cells.get(name, input_size=IN, hidden_size=H, dtype="float64")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1))
    ours = state_norms.state_grad_norms(cell.step, params, XS, cell.initial_carry(B))
    ref = _torch_norms(name, params, XS, torch)
    for k in cell.state_names:
        if k == "m":  # a gauge: m_t + d with c_t, n_t scaled by e^-d changes nothing, dL/dm_t = 0
            scale = float(np.max(ref["h"]))
            assert np.max(ref["m"]) < 1e-12 * scale and np.max(ours["m"]) < 1e-12 * scale
            continue
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-10, atol=1e-15)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(ours[f"log_{k}"], np.log(ref[k]), rtol=1e-10, atol=1e-12)


def test_stacked_cells_match_torch_autograd_per_layer():
    torch = pytest.importorskip("torch")
    stack = cells.get("lstm", input_size=IN, hidden_size=H, num_layers=2, dtype="float64")
    params = _noisy(stack.init(jax.random.key(0)), jax.random.key(1))
    ours = state_norms.state_grad_norms(stack.step, params, XS, stack.initial_carry(B))
    ps = [
        {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in p._asdict().items()}
        for p in params
    ]
    states = [{k: torch.zeros(B, H, dtype=torch.float64) for k in ("h", "c")} for _ in ps]
    history, x = [], torch.tensor(np.asarray(XS))
    for t in range(T):
        y = x[:, t]
        for layer, p in enumerate(ps):
            states[layer], y = _torch_step("lstm", p, states[layer], y, torch)
        history.append([dict(st) for st in states])
    (0.5 * (y**2).sum(-1).mean()).backward()
    for layer in range(2):
        for k in ("h", "c"):
            ref = np.array([hist[layer][k].grad.norm().item() for hist in history])
            np.testing.assert_allclose(ours[f"{k}_l{layer}"], ref, rtol=1e-10)
            np.testing.assert_allclose(ours[f"log_{k}_l{layer}"], np.log(ref), rtol=1e-10)


def test_lstm_cell_matches_the_lstm_per_step_norms():
    cell = cells.get("lstm", input_size=IN, hidden_size=H, dtype="float64")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1))
    carry0 = cell.initial_carry(B)
    ours = state_norms.state_grad_norms(cell.step, params, XS, carry0, log_space=False)
    ref = gradients.per_step_grad_norms(params, XS, cell.lstm_config)
    np.testing.assert_allclose(ours["h"], ref.h, rtol=1e-12)
    np.testing.assert_allclose(ours["c"], ref.c, rtol=1e-12)
    mean = state_norms.state_grad_norms(cell.step, params, XS, carry0, "mean", log_space=False)
    ref = gradients.per_step_grad_norms(params, XS, cell.lstm_config, loss="mean")
    np.testing.assert_allclose(mean["h"], ref.h, rtol=1e-12)
    np.testing.assert_allclose(mean["c"], ref.c, rtol=1e-12)


def test_bad_arguments_are_value_errors():
    cell = cells.get("gru", input_size=IN, hidden_size=H)
    params, carry0 = cell.init(jax.random.key(0)), cell.initial_carry(B)
    cases = [
        ((cell.step, params, XS, carry0, "median"), "loss must be None, last, mean"),
        ((42, params, XS, carry0), "step must be callable"),
        ((cell.step, params, XS[0], carry0), "xs must be (B, T, ...)"),
        ((cell.step, params, XS, (carry0["h"],)), "carry0 must be a non-empty dict"),
    ]
    for args, needle in cases:
        with pytest.raises(ValueError, match=re.escape(needle)):
            state_norms.state_grad_norms(*args)


def test_a_plain_step_without_perturb_gets_it_after_the_step():
    cell = cells.get("gru", input_size=IN, hidden_size=H, dtype="float64")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1))

    def plain(p, carry, x):  # no `perturb` keyword: the generic path
        return cell.step(p, carry, x)

    a = state_norms.state_grad_norms(plain, params, XS, cell.initial_carry(B), log_space=False)
    b = state_norms.state_grad_norms(cell.step, params, XS, cell.initial_carry(B), log_space=False)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12)
    # An equal cell built anew, with new values: the jitted pass is reused, not recompiled.
    size = state_norms._grads._cache_size()
    twin = cells.get("gru", input_size=IN, hidden_size=H, dtype="float64")
    carry0 = twin.initial_carry(B)
    state_norms.state_grad_norms(
        twin.step, _noisy(params, jax.random.key(7)), XS + 1, carry0, log_space=False
    )
    assert state_norms._grads._cache_size() == size


def test_custom_loss_matches_jax_grad_of_each_state():
    cell = cells.get("minlstm", input_size=IN, hidden_size=H, dtype="float64")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1))

    def loss(ys):
        return jnp.sum(jnp.sin(ys))

    ours = state_norms.state_grad_norms(cell.step, params, XS, cell.initial_carry(B), loss)
    # Oracle: h_t -> L through the tail re-run from t (a separate jax.grad per t).
    carry_hist = []
    carry = cell.initial_carry(B)
    for t in range(T):
        carry, _ = cell.step(params, carry, XS[:, t])
        carry_hist.append(carry["h"])
    ys_all, _ = cell.apply(params, XS)
    for t in (0, T - 2):

        def tail(h_t, t=t):
            ys, c = [], {"h": h_t}
            for s in range(t + 1, T):
                c, y = cell.step(params, c, XS[:, s])
                ys.append(y)
            head = ys_all[:, :t]
            return loss(jnp.concatenate([head, h_t[:, None], *[y[:, None] for y in ys]], 1))

        g = jax.grad(tail)(carry_hist[t])
        assert float(ours["h"][t]) == pytest.approx(float(jnp.linalg.norm(g)), rel=1e-12)
        assert float(ours["log_h"][t]) == pytest.approx(
            math.log(float(jnp.linalg.norm(g))), rel=1e-10
        )


# ------------------------------------------------------------------ log space at any T


def test_log_norms_are_exact_and_finite_at_t_20000_in_float32():
    cell = cells.get("gru", input_size=1, hidden_size=2, dtype="float32")
    params = jax.tree_util.tree_map(jnp.zeros_like, cell.init(jax.random.key(0)))
    # zero weights: dh_t/dh_{t-1} = sigma(b_z) exactly; b_in makes h nonzero
    params["b_ih"] = params["b_ih"].at[2:4].set(0.3).at[4:].set(0.5)
    keep = 1.0 / (1.0 + math.exp(-0.3))
    t_len = 20_000
    xs = jnp.ones((2, t_len, 1), jnp.float32)
    out = state_norms.state_grad_norms(cell.step, params, xs, cell.initial_carry(2))
    logs = np.asarray(out["log_h"], np.float64)
    assert np.all(np.isfinite(logs))
    assert np.asarray(out["h"])[0] == 0.0  # the plain float32 norm underflowed
    expected = logs[-1] + np.arange(t_len - 1, -1, -1) * math.log(keep)
    # float32: each of the T steps adds a rounding of ~eps32 * |ln keep|
    np.testing.assert_allclose(logs, expected, rtol=0, atol=t_len * 1.2e-7 * 4)
    fit = gradients.fit_decay(np.exp(logs - logs.max()))
    assert fit.rate == pytest.approx(math.log(keep), rel=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_gives_no_nan_and_exact_log_norms(dtype):
    cell = cells.get("gru", input_size=1, hidden_size=2, dtype=dtype)
    params = jax.tree_util.tree_map(jnp.zeros_like, cell.init(jax.random.key(0)))
    params["b_ih"] = params["b_ih"].at[2:4].set(0.3).at[4:].set(0.5)  # as the T = 20,000 test
    t_len = 300
    out = state_norms.state_grad_norms(
        cell.step, params, jnp.ones((2, t_len, 1)), cell.initial_carry(2)
    )
    assert out["h"].dtype == jnp.dtype(dtype) and not np.any(np.isnan(np.asarray(out["h"], float)))
    logs = np.asarray(out["log_h"], np.float64)
    assert np.all(np.isfinite(logs))
    keep = float(jnp.asarray(jax.nn.sigmoid(jnp.asarray(0.3, dtype)), np.float64))  # sigma in dtype
    expected = logs[-1] + np.arange(t_len - 1, -1, -1) * math.log(keep)
    # each of the T steps rounds the cotangent times sigma(b_z) to the dtype's eps
    np.testing.assert_allclose(logs, expected, rtol=0, atol=float(jnp.finfo(dtype).eps) * t_len)


# ------------------------------------------------------------------ Lyapunov and telemetry


def test_carry_lyapunov_equals_the_lstm_spectrum():
    cell = cells.get("lstm", input_size=IN, hidden_size=H, dtype="float64")
    params = cell.init(jax.random.key(0))
    xs = jax.random.normal(jax.random.key(3), (2, 12, IN))
    ours = cell_stats.carry_lyapunov(cell.step, params, xs, cell.initial_carry(2), k=3)
    ref = gradients.lyapunov_spectrum(params, xs, cell.lstm_config, k=3)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_carry_lyapunov_of_linear_rnn_is_ln_abs_a():
    cell = cells.get("rnn", input_size=1, hidden_size=3, candidate="identity", dtype="float64")
    params = dict(cell.init(jax.random.key(0)), u=-0.6 * jnp.eye(3))
    xs = jax.random.normal(jax.random.key(3), (2, 20, 1))
    lam = cell_stats.carry_lyapunov(cell.step, params, xs, cell.initial_carry(2), k=3)
    np.testing.assert_allclose(lam, math.log(0.6), rtol=1e-12)
    with pytest.raises(ValueError, match="k must be an integer in"):
        cell_stats.carry_lyapunov(cell.step, params, xs, cell.initial_carry(2), k=4)


def test_telemetry_matches_the_lstm_telemetry_and_covers_every_cell():
    cell = cells.get("lstm", input_size=IN, hidden_size=H, dtype="float64")
    params = _noisy(cell.init(jax.random.key(0)), jax.random.key(1), scale=3.0)
    ours = cell_stats.cell_telemetry(cell, params, XS)
    ref = gradients.telemetry(params, XS, cell.lstm_config)
    for k in ("forget_mean", "saturated_fraction", "c_max", "h_max"):
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-6)
    gru = cells.get("gru", input_size=IN, hidden_size=H, dtype="float64")
    tele = cell_stats.cell_telemetry(gru, gru.init(jax.random.key(0)), XS)
    assert set(tele) == {"reset_mean", "update_mean", "saturated_fraction", "h_max"}
    rnn = cells.get("rnn", input_size=IN, hidden_size=H)
    assert set(cell_stats.cell_telemetry(rnn, rnn.init(jax.random.key(0)), XS)) == {"h_max"}


def test_the_fused_lstm_is_the_fast_case_and_the_generic_pass_agrees():
    fused = cells.get("lstm", input_size=IN, hidden_size=H, dtype="float64")
    plain = cells.get("lstm", input_size=IN, hidden_size=H, dtype="float64", fused=False)
    params = _noisy(fused.init(jax.random.key(0)), jax.random.key(1))
    carry0 = fused.initial_carry(B)
    fast = state_norms.state_grad_log_norms(fused.step, params, XS, carry0)
    ref = gradients.per_step_grad_norms(params, XS, fused.lstm_config)
    assert list(fast) == list(carry0)
    np.testing.assert_array_equal(fast["h"], ref.log_h)  # the same pass, not a second one
    np.testing.assert_array_equal(fast["c"], ref.log_c)
    generic = state_norms.state_grad_log_norms(plain.step, params, XS, carry0)  # VJP per step
    np.testing.assert_allclose(generic["h"], ref.log_h, rtol=1e-12)
    np.testing.assert_allclose(generic["c"], ref.log_c, rtol=1e-12)
