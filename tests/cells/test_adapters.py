"""Bring your own cell: Flax, Equinox and PyTorch models give the framework's own outputs in
float64 through the cell interface, and go through state_grad_norms unchanged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis import cells
from analysis.flow import state_norms

B, T, IN, H = 2, 5, 3, 4
XS = jax.random.normal(jax.random.key(2), (B, T, IN), jnp.float64)


# ------------------------------------------------------------------ Flax


def _flax_loop(module, variables, carry, xs):
    outs, apply = [], jax.jit(module.apply)
    for t in range(xs.shape[1]):
        carry, y = apply(variables, carry, xs[:, t])
        outs.append(y)
    return jnp.stack(outs, 1), carry


@pytest.mark.parametrize(
    ("cls", "states"),
    [
        ("LSTMCell", ("c", "h")),
        ("OptimizedLSTMCell", ("c", "h")),
        ("GRUCell", ("h",)),
        ("SimpleCell", ("h",)),
        ("MGUCell", ("h",)),
    ],
)
def test_flax_cells_match_flax(cls, states):
    nn = pytest.importorskip("flax.linen")
    module = getattr(nn, cls)(features=H, param_dtype=jnp.float64, dtype=jnp.float64)
    carry0 = module.initialize_carry(jax.random.key(0), (B, IN))
    variables = module.init(jax.random.key(1), carry0, XS[:, 0])
    cell = cells.from_flax(module, variables)
    assert (cell.state_names, cell.input_size, cell.hidden_size) == (states, IN, H)
    assert cell.dtype == "float64"
    ys, last = cell.apply(cell.init(None), XS)
    ref_ys, ref_last = _flax_loop(module, variables, carry0, XS)
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-13, atol=1e-15)
    leaves = ref_last if isinstance(ref_last, tuple) else (ref_last,)
    ref_named = dict(zip(states, leaves, strict=True))
    for k in states:
        np.testing.assert_allclose(last[k], ref_named[k], rtol=1e-13, atol=1e-15)


def test_a_user_flax_subclass_with_a_dict_carry():
    nn = pytest.importorskip("flax.linen")

    class Leaky(nn.RNNCellBase):
        """h_t = (1 - a) h_{t-1} + a tanh(x W + h U); carry {"h", "count"}."""

        features: int

        @nn.compact
        def __call__(self, carry, x):
            h = carry["h"]
            z = nn.Dense(self.features, param_dtype=jnp.float64)(x)
            z = z + nn.Dense(self.features, use_bias=False, param_dtype=jnp.float64)(h)
            h = 0.7 * h + 0.3 * jnp.tanh(z)
            return {"h": h, "count": carry["count"] + 1.0}, h

        def initialize_carry(self, rng, input_shape):
            z = jnp.zeros((*input_shape[:-1], self.features), jnp.float64)
            return {"h": z, "count": z}

        @property
        def num_feature_axes(self):
            return 1

    module = Leaky(features=H)
    carry0 = module.initialize_carry(None, (B, IN))
    variables = module.init(jax.random.key(0), carry0, XS[:, 0])
    cell = cells.from_flax(module, variables)
    assert set(cell.state_names) == {"h", "count"}
    ys, last = cell.apply(variables, XS)
    ref_ys, ref_last = _flax_loop(module, variables, carry0, XS)
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-13)
    np.testing.assert_allclose(last["h"], ref_last["h"], rtol=1e-13)
    np.testing.assert_allclose(last["count"], np.full((B, H), float(T)))
    norms = state_norms.state_grad_norms(cell.step, variables, XS, cell.initial_carry(B))
    assert np.all(np.asarray(norms["count"]) == 0)  # the loss never reads the counter
    assert np.all(np.asarray(norms["h"]) > 0)


def test_flax_gru_norms_equal_the_same_weights_in_the_built_in_gru():
    nn = pytest.importorskip("flax.linen")
    module = nn.GRUCell(features=H, param_dtype=jnp.float64, dtype=jnp.float64)
    variables = module.init(jax.random.key(1), module.initialize_carry(None, (B, IN)), XS[:, 0])
    cell = cells.from_flax(module, variables)
    # Flax's GRU: r, z, n with b_hn inside r * (...), i.e. PyTorch's convention, b_hr = b_hz = 0.
    p = variables["params"]
    gru = cells.get("gru", input_size=IN, hidden_size=H, dtype="float64")
    cat = jnp.concatenate
    params = {
        "w_ih": cat([p["ir"]["kernel"], p["iz"]["kernel"], p["in"]["kernel"]], 1),
        "w_hh": cat([p["hr"]["kernel"], p["hz"]["kernel"], p["hn"]["kernel"]], 1),
        "b_ih": cat([p["ir"]["bias"], p["iz"]["bias"], p["in"]["bias"]]),
        "b_hh": cat([jnp.zeros(2 * H), p["hn"]["bias"]]),
    }
    ours = state_norms.state_grad_norms(cell.step, variables, XS, cell.initial_carry(B))
    ref = state_norms.state_grad_norms(gru.step, params, XS, gru.initial_carry(B))
    np.testing.assert_allclose(ours["h"], ref["h"], rtol=1e-12)
    np.testing.assert_allclose(ours["log_h"], ref["log_h"], rtol=1e-12)


# ------------------------------------------------------------------ Equinox


@pytest.mark.parametrize(("cls", "states"), [("LSTMCell", ("h", "c")), ("GRUCell", ("h",))])
def test_equinox_cells_match_equinox(cls, states):
    eqx = pytest.importorskip("equinox")
    module = getattr(eqx.nn, cls)(IN, H, key=jax.random.key(0), dtype=jnp.float64)
    cell = cells.from_equinox(module)
    assert cell.state_names == states and cell.dtype == "float64"
    ys, last = cell.apply(cell.init(None), XS)
    call = eqx.filter_jit(module)
    for b in range(B):
        hidden = tuple(jnp.zeros(H) for _ in states) if len(states) > 1 else jnp.zeros(H)
        for t in range(T):
            hidden = call(XS[b, t], hidden)
            h = hidden[0] if len(states) > 1 else hidden
            np.testing.assert_allclose(ys[b, t], h, rtol=1e-13, atol=1e-15)
        if len(states) > 1:
            np.testing.assert_allclose(last["c"][b], hidden[1], rtol=1e-13, atol=1e-15)
    if len(states) > 1:  # the analysis takes it unchanged (once: it compiles)
        carry0 = cell.initial_carry(B)
        norms = state_norms.state_grad_norms(
            cell.step, cell.init(None), XS, carry0, log_space=False
        )
        assert set(norms) == set(states) and np.all(np.asarray(norms["h"]) > 0)


# ------------------------------------------------------------------ PyTorch


@pytest.mark.parametrize(
    ("kind", "name", "kw"),
    [
        ("LSTM", "lstm", {}),
        ("GRU", "gru", {}),
        ("RNN", "rnn", {"nonlinearity": "tanh"}),
        ("RNN", "rnn", {"nonlinearity": "relu"}),
    ],
)
@pytest.mark.parametrize("layers", [1, 2])
def test_torch_modules_match_torch(kind, name, kw, layers):
    torch = pytest.importorskip("torch")
    torch.manual_seed(layers)
    module = getattr(torch.nn, kind)(IN, H, num_layers=layers, batch_first=True, **kw).double()
    slots = {"candidate": kw["nonlinearity"]} if kw else {}
    cell = cells.get(
        name, input_size=IN, hidden_size=H, num_layers=layers, dtype="float64", **slots
    )
    params = cells.params_from_torch(module, cell)
    ys, _ = cell.apply(params, XS)
    ref, _ = module(torch.tensor(np.asarray(XS)))
    np.testing.assert_allclose(ys, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    sd = {k: v.numpy() for k, v in module.state_dict().items()}  # a state dict of arrays works too
    again = cells.params_from_torch(sd, cell)
    for a, b in zip(
        jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(again), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_torch_bias_false_and_float32_cast():
    torch = pytest.importorskip("torch")
    module = torch.nn.GRU(IN, H, bias=False)
    cell = cells.get("gru", input_size=IN, hidden_size=H, dtype="float32")
    params = cells.params_from_torch(module, cell)
    assert all(x.dtype == jnp.float32 for x in params.values())
    assert np.all(np.asarray(params["b_hh"]) == 0)


# ------------------------------------------------------------------ bad input


def test_bad_adapter_input_is_one_line_value_error():
    torch = pytest.importorskip("torch")
    nn = pytest.importorskip("flax.linen")
    eqx = pytest.importorskip("equinox")
    relu_rnn = torch.nn.RNN(IN, H, nonlinearity="relu")
    cases = [
        (lambda: cells.from_flax(nn.Dense(3), {}), "expected a flax.linen RNNCellBase"),
        (lambda: cells.from_flax(nn.GRUCell(features=3), [1]), "variables must be a dict"),
        (lambda: cells.from_equinox(object()), "expected an Equinox module"),
        (lambda: cells.from_equinox(eqx.nn.Linear(3, 3, key=jax.random.key(0))), "not a recurrent"),
        (lambda: cells.params_from_torch(relu_rnn, cells.get("rnn", IN, H)), "candidate='relu'"),
        (lambda: cells.params_from_torch(relu_rnn, cells.get("gru", IN, H)), "maps to cell 'rnn'"),
        (
            lambda: cells.params_from_torch(
                torch.nn.GRU(IN, H, num_layers=2), cells.get("gru", IN, H)
            ),
            "num_layers=L",
        ),
        (
            lambda: cells.params_from_torch(torch.nn.GRU(IN, H), cells.get("gru", IN, H + 1)),
            "needs weight_ih",
        ),
        (
            lambda: cells.params_from_torch(
                torch.nn.GRU(IN, H, bidirectional=True), cells.get("gru", IN, H)
            ),
            "bidirectional",
        ),
        (
            lambda: cells.params_from_torch(torch.nn.GRU(IN, H), cells.get("mingru", IN, H)),
            "maps to cell",
        ),
        (lambda: cells.params_from_torch({}, "gru"), "must be an analysis.cells cell"),
        (
            lambda: cells.params_from_torch(42, cells.get("gru", IN, H)),
            "a PyTorch module or a state dict",
        ),
    ]
    for call, needle in cases:
        with pytest.raises(ValueError) as err:
            call()
        assert needle in str(err.value), (needle, str(err.value))
        assert "\n" not in str(err.value)
