"""Training any cell: configs round-trip, the step's gradient against loops written here, the
snapshots against direct measurements, all in float64."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis import cells
from analysis.experiments import snapshots, train
from analysis.experiments.train_config import RUN_FIELDS
from analysis.flow import cell_stats, state_norms

SMALL = dict(task="adding", length=5, batch=3, hidden_size=3, dtype="float64", test_batch=8)
SMALL |= dict(steps=2, eval_every=1, lr=0.05, optimizer="sgd")
SIG = jax.nn.sigmoid


def _rnn(p, x):
    h = jnp.zeros((x.shape[0], p["u"].shape[0]))
    hs = []
    for t in range(x.shape[1]):
        h = jax.nn.relu(x[:, t] @ p["w"] + h @ p["u"] + p["b"])
        hs.append(h)
    return h, jnp.stack(hs)


def _gru(p, x):
    n_h = p["w_hh"].shape[0]
    h = jnp.zeros((x.shape[0], n_h))
    hs = []
    for t in range(x.shape[1]):
        gx, gh = x[:, t] @ p["w_ih"] + p["b_ih"], h @ p["w_hh"] + p["b_hh"]
        r = SIG(gx[:, :n_h] + gh[:, :n_h])
        z = SIG(gx[:, n_h : 2 * n_h] + gh[:, n_h : 2 * n_h])
        n = jnp.tanh(gx[:, 2 * n_h :] + r * gh[:, 2 * n_h :])
        h = (1 - z) * n + z * h
        hs.append(h)
    return h, jnp.stack(hs)


def _slstm(p, x):
    # The unstabilised sLSTM: c~ = f c~ + e^{i~} z, n~ = f n~ + e^{i~}, h = o c~ / n~ (its
    # stabiliser m rescales c and n alike, so the ratio is this one).
    n_h = p["w_hh"].shape[0]
    h = c = n = jnp.zeros((x.shape[0], n_h))
    states = []
    for t in range(x.shape[1]):
        zi, zf, zz, zo = jnp.split(x[:, t] @ p["w_ih"] + h @ p["w_hh"] + p["b"], 4, axis=-1)
        c = SIG(zf) * c + jnp.exp(zi) * jnp.tanh(zz)
        n = SIG(zf) * n + jnp.exp(zi)
        h = SIG(zo) * c / n
        states.append(h)
    return h, jnp.stack(states)


def _mingru(p, x):
    n_h = p["w"].shape[1] // 2
    h = jnp.zeros((x.shape[0], n_h))
    hs = []
    for t in range(x.shape[1]):
        zx = x[:, t] @ p["w"] + p["b"]
        z = SIG(zx[:, :n_h])
        h = (1 - z) * h + z * zx[:, n_h:]
        hs.append(h)
    return h, jnp.stack(hs)


LOOPS = {
    "rnn": ({"candidate": "relu", "initializer": "identity"}, _rnn),
    "gru": ({}, _gru),
    "slstm": ({}, _slstm),
    "mingru": ({"gate_bias": -0.5}, _mingru),
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_a_training_step_follows_the_gradient_of_a_loss_written_here(name):
    options, loop = LOOPS[name]
    cfg = train.TrainConfig.from_dict({**SMALL, "cell": name, **options})
    key = jax.random.key(4)
    state = train.init_state(key, cfg)
    x, y = cfg.task_spec().make_batch(jax.random.fold_in(jax.random.fold_in(key, 1), 0), 3)

    def loss(model):
        h_last, _ = loop(model.lstm, x)
        return jnp.mean((h_last @ model.w_out + model.b_out - y) ** 2)

    value, grads = jax.value_and_grad(loss)(state.params)
    new, m = jax.jit(train.train_step, static_argnames="cfg")(key, state, cfg)
    assert float(m.loss) == pytest.approx(float(value), rel=1e-12)
    # sgd: the update is -lr times the gradient, leaf by leaf
    for a, b, g in zip(
        *(jax.tree.leaves(t) for t in (new.params, state.params, grads)), strict=True
    ):
        np.testing.assert_allclose(
            np.asarray(a) - np.asarray(b), -cfg.lr * np.asarray(g), rtol=1e-9, atol=1e-14
        )
    if name != "slstm":  # sLSTM's carry also holds c, n and its stabiliser m
        assert float(m.max_abs_c) == pytest.approx(
            float(jnp.max(jnp.abs(loop(state.params.lstm, x)[1]))), rel=1e-12
        )


def test_slstm_max_abs_c_is_the_largest_state_of_its_whole_carry():
    cfg = train.TrainConfig.from_dict({**SMALL, "cell": "slstm"})
    model = train.init_model(jax.random.key(2), cfg)
    x, _ = cfg.task_spec().make_batch(jax.random.key(3), 3)
    cell = cfg.recurrent_cell()
    carry, peak = cell.initial_carry(3), 0.0
    for t in range(x.shape[1]):
        carry, _ = cell.step(model.lstm, carry, x[:, t])
        peak = max(peak, *(float(jnp.max(jnp.abs(v))) for v in carry.values()))
    assert float(train.forward(model, x, cfg)[1]) == pytest.approx(peak, rel=1e-12)


def test_the_lstm_cell_through_the_generic_scan_equals_the_fused_path():
    cfg = train.TrainConfig(
        **{**SMALL, "optimizer": "adam"}, spec=cells.CellSpec.of(candidate="relu")
    )
    model = train.init_model(jax.random.key(0), cfg)
    x, _ = cfg.task_spec().make_batch(jax.random.key(1), 3)

    def fused(p):
        hs, h_last, max_c = train.run_lstm(p, x, cfg.lstm_config())
        return jnp.sum(h_last**2) + jnp.sum(hs), max_c

    def generic(p):
        hs, h_last, _ = train.run_cell(p, x, cfg.recurrent_cell())
        return jnp.sum(h_last**2) + jnp.sum(hs), None

    (v_f, _), g_f = jax.value_and_grad(fused, has_aux=True)(model.lstm)
    (v_g, _), g_g = jax.value_and_grad(generic, has_aux=True)(model.lstm)
    assert float(v_g) == pytest.approx(float(v_f), rel=1e-12)
    for a, b in zip(jax.tree.leaves(g_g), jax.tree.leaves(g_f), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.fixture(scope="module")
def gru_run():
    cfg = train.TrainConfig.from_dict({**SMALL, "cell": "gru", "candidate": "relu", "snapshots": 3})
    return cfg, train.train(cfg, [0, 1])


def test_gru_run_records_its_cell_and_snapshots(gru_run):
    cfg, result = gru_run
    assert result["config"] == cfg.to_dict() and result["config"]["cell"]["name"] == "gru"
    assert (
        result["config"]["cell"]["candidate"] == "relu"
        and "update_bias" in result["config"]["cell"]
    )
    for seed in result["per_seed"]:
        assert [s["step"] for s in seed["flow_snapshots"]] == [0, 1, 2]
        for s in seed["flow_snapshots"]:
            assert set(s) == {"step", "log_h", "rate", "half_life", "lyapunov_max", "max_abs_c"}
            assert len(s["log_h"]) == cfg.length and np.all(np.isfinite(s["log_h"]))


def test_gru_snapshot_equals_a_direct_measurement_of_the_initial_model(gru_run):
    cfg, result = gru_run
    cell, x = cfg.recurrent_cell(), snapshots._batch(cfg)
    for s, seed in enumerate(result["seeds"]):
        params = train.init_model(jax.random.fold_in(jax.random.key(seed), 0), cfg).lstm
        carry0 = cell.initial_carry(x.shape[0])
        snap = result["per_seed"][s]["flow_snapshots"][0]
        plain = state_norms.state_grad_norms(cell.step, params, x, carry0, log_space=False)
        np.testing.assert_allclose(snap["log_h"], np.log(np.asarray(plain["h"])), rtol=1e-6)
        lyap = cell_stats.carry_lyapunov(
            cell.step, params, x, carry0, k=1, key=jax.random.key(snapshots._LYAPUNOV_KEY)
        )
        assert snap["lyapunov_max"] == pytest.approx(float(lyap[0]), rel=1e-9)
        tel = cell_stats.cell_telemetry(cell, params, x)
        assert snap["max_abs_c"] == pytest.approx(float(np.max(tel["h_max"])), rel=1e-12)


REPORT_CALL = {
    "cell": "rnn",
    "candidate": "relu",
    "initializer": "identity",
    "task": "adding",
    "length": 50,
    "steps": 10,
    "batch": 4,
    "hidden_size": 8,
    "lr": 0.01,
    "eval_every": 5,
    "test_batch": 8,
    "stop_when_solved": True,
    "snapshots": 3,
}


@pytest.mark.parametrize("name", cells.names())
def test_every_cell_round_trips_through_its_json_record(name):
    cfg = train.TrainConfig.from_dict({"cell": name, "hidden_size": 4, "length": 5})
    record = json.loads(json.dumps(cfg.to_dict()))
    assert record["cell"]["name"] == name and train.TrainConfig.from_dict(record) == cfg
    assert hash(train.TrainConfig.from_dict(record)) == hash(cfg)
    described = cells.describe(name)
    # the run's fields beside one cell spec: every slot and option but the run's dtype
    # ("delay" only when not 0: the records of runs without one stay as they were)
    assert set(record) == {*RUN_FIELDS, "cell"} - {"delay"}
    options = {*described["slots"], *described["options"]} - {"dtype"}
    assert set(record["cell"]) == {"name", *options}


def test_the_report_call_and_flat_lstm_fields_load():
    cfg = train.TrainConfig.from_dict(REPORT_CALL)
    assert cfg.recurrent_cell() == cells.get(
        "rnn", input_size=2, hidden_size=8, candidate="relu", initializer="identity"
    )
    assert train.TrainConfig.from_dict(cfg.to_dict()) == cfg
    # the LSTM's flat fields (the command line's, a script's) give the nested record's config
    flat = {"length": 40, "candidate": "relu", "forget_bias": 3, "init": "uniform", "fused": False}
    nested = train.TrainConfig(
        length=40,
        spec=cells.CellSpec.of(
            "lstm", candidate="relu", forget_bias=3.0, initializer="uniform", fused=False
        ),
    )
    assert train.TrainConfig.from_dict(flat) == nested
    assert train.TrainConfig.from_dict(nested.to_dict()) == nested
    assert train.TrainConfig.from_dict({**flat, "cell": "lstm"}).to_dict() == nested.to_dict()
    # a flat field overrides the nested spec's option (a --compare over a stored record)
    over = train.TrainConfig.from_dict({**nested.to_dict(), "candidate": "tanh"})
    assert over.spec == nested.spec.replace(candidate="tanh")


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"cell": "nope"}, "valid cells: gru, indrnn, janet, lnlstm, lstm"),
        ({"cell": "gru", "output": "relu"}, "its slots: gate, candidate"),
        ({"cell": "gru", "scale": 1.0}, "'scale' belongs to indrnn, rnn"),
        ({"cell": "rnn", "init": "zeros"}, "valid: orthogonal, identity, uniform"),
        ({"cell": "gru", "input_size": 3}, "input_size 3 is not task 'adding''s 2"),
        ({"cell": "gru", "options": [["dtype", "float64"]]}, "dtype is not a cell option"),
        ({"cell": "lstm", "options": [["scale", 1.0]]}, "lstm has no slot or option 'scale'"),
        ({"cell": {"name": "gru", "output": "relu"}}, "gru has no slot or option 'output'"),
        ({"colour": 1}, "unknown field(s) ['colour']"),
    ],
)
def test_bad_records_are_one_line_value_errors(record, match):
    with pytest.raises(
        ValueError,
        match=match.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]"),
    ) as info:
        train.TrainConfig.from_dict(record)
    assert "\n" not in str(info.value)


def test_a_spec_with_another_cells_option_is_refused():
    match = "gru has no slot or option 'output' .* its options: initializer, update_bias$"
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(spec=cells.CellSpec.of("gru", output="relu"))
    with pytest.raises(ValueError, match="not lstm"):
        train.TrainConfig(spec=cells.CellSpec.of("gru")).lstm_config()
