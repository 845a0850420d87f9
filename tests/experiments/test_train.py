"""Training: it learns, divergence is recorded, the chunk program never recompiles."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

from analysis.cells import CellSpec, lstm
from analysis.experiments import sweep, tasks, train

TINY = train.TrainConfig(
    task="adding", length=6, steps=7, batch=4, hidden_size=3, eval_every=3, test_batch=8
)

# jitted once per config: op-by-op dispatch of the scanned LSTM is slow
_step = jax.jit(train.train_step, static_argnames="cfg")


def test_forward_matches_lstm_apply_and_tracks_max_abs_c():
    spec = CellSpec.of("lstm", candidate="relu", output="relu")
    cfg = train.TrainConfig(task="copy", length=3, hidden_size=5, spec=spec)
    params = train.init_model(jax.random.key(0), cfg)
    x, _ = cfg.task_spec().make_batch(jax.random.key(1), 3)
    lcfg = cfg.lstm_config()
    hs, h_last, max_c = train.run_lstm(params.lstm, x, lcfg)
    hs_ref, (h_ref, _) = lstm.apply(params.lstm, x, lcfg)
    np.testing.assert_allclose(hs, hs_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h_last, h_ref, rtol=1e-6, atol=1e-7)
    # max |c_t| over all steps, by an independent numpy loop in float64
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params.lstm)
    h = np.zeros((3, 5))
    c = np.zeros((3, 5))
    peak = 0.0
    for t in range(x.shape[1]):
        z = np.asarray(x[:, t], np.float64) @ p.w_ih + h @ p.w_hh + p.b
        i, f, g, o = np.split(z, 4, axis=-1)
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c = sig(f) * c + sig(i) * np.maximum(g, 0)
        h = sig(o) * np.maximum(c, 0)
        peak = max(peak, np.abs(c).max())
    assert float(max_c) == pytest.approx(peak, rel=1e-5)
    pred, _ = train.forward(params, x, cfg)
    assert pred.shape == (3, cfg.task_spec().length, tasks.COPY_ALPHABET)


@pytest.mark.parametrize("slots", [("tanh", "tanh"), ("relu", "relu")])
@pytest.mark.parametrize("checkpoint_every", [3, None])
def test_fused_and_plain_give_the_same_loss_gradients_and_max_c(slots, checkpoint_every):
    # K = 3 keeps every third state (and a tail of 2) and recomputes the rest; None is the
    # cells' store-or-checkpoint rule, which stores every step at this size
    base = dict(task="adding", length=11, batch=5, hidden_size=4, dtype="float64")
    spec = CellSpec.of("lstm", forget_bias=0.5, candidate=slots[0], output=slots[1])
    plain, fused = (train.TrainConfig(**base, spec=spec.replace(fused=f)) for f in (False, True))
    keys = sweep.seed_keys([0, 1])
    params = jax.vmap(lambda k: train.init_model(k, plain))(keys)
    # a larger scale than init so relu/relu cells grow and gates saturate
    params = params._replace(lstm=jax.tree.map(lambda a: 2.5 * a, params.lstm))
    x, y = plain.task_spec().make_batch(jax.random.key(9), 5)

    def run(cfg):
        loss = functools.partial(train.loss_fn, checkpoint_every=checkpoint_every)
        f = jax.vmap(jax.value_and_grad(loss, has_aux=True), in_axes=(0, None, None, None))
        return jax.jit(f, static_argnums=3)(params, x, y, cfg)

    (loss_p, c_p), g_p = run(plain)
    (loss_f, c_f), g_f = run(fused)
    assert loss_f.dtype == jnp.float64 and c_f.shape == (2,)
    np.testing.assert_allclose(loss_f, loss_p, rtol=1e-10, atol=0)
    np.testing.assert_allclose(c_f, c_p, rtol=1e-10, atol=0)
    assert np.all(np.asarray(c_p) > 0)
    for a, b in zip(jax.tree.leaves(g_f), jax.tree.leaves(g_p), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_metrics_match_an_independent_optax_step():
    cfg = TINY
    key = jax.random.key(3)
    state = train.init_state(key, cfg)
    new, m = _step(key, state, cfg)
    x, y = cfg.task_spec().make_batch(jax.random.fold_in(jax.random.fold_in(key, 1), 0), 4)

    def loss(p):
        pred, _ = train.forward(p, x, cfg)
        return jnp.mean((pred - y) ** 2)

    value, grads = jax.jit(jax.value_and_grad(loss))(state.params)
    gnorm = math.sqrt(
        sum(float(jnp.sum(g.astype(jnp.float64) ** 2)) for g in jax.tree.leaves(grads))
    )
    assert float(m.loss) == pytest.approx(float(value), rel=1e-6)
    assert float(m.grad_norm) == pytest.approx(gnorm, rel=1e-5)
    moved = jax.tree.map(lambda a, b: a - b, new.params, state.params)
    unorm = math.sqrt(
        sum(float(jnp.sum(d.astype(jnp.float64) ** 2)) for d in jax.tree.leaves(moved))
    )
    assert float(m.update_norm) == pytest.approx(unorm, rel=1e-4)
    assert int(new.step) == 1 and int(new.diverged_at) == -1


@pytest.mark.parametrize("magnitude", [0.0, 1e-30, 1.0, 1e20, 1e36])
def test_global_norm_does_not_overflow(magnitude):
    rng = np.random.default_rng(0)
    tree = {"a": rng.normal(size=(3, 4)), "b": (rng.normal(size=5), rng.normal(size=()))}
    tree = jax.tree.map(lambda v: np.float32(magnitude) * v.astype(np.float32), tree)
    exact = math.sqrt(sum(float(np.sum(np.float64(v) ** 2)) for v in jax.tree.leaves(tree)))
    got = float(train.global_norm(tree))
    assert got == pytest.approx(exact, rel=1e-5, abs=0)
    bad = {**tree, "c": np.array([np.inf], np.float32)}
    assert float(train.global_norm(bad)) == math.inf
    assert math.isnan(float(train.global_norm({**tree, "c": np.array([np.nan], np.float32)})))


def test_short_run_learns_adding_t20():
    cfg = train.TrainConfig(
        task="adding",
        length=20,
        steps=400,
        batch=64,
        hidden_size=32,
        lr=1e-2,
        eval_every=100,
        test_batch=500,
    )
    result = train.train(cfg, [0])
    run = result["per_seed"][0]
    assert run["diverged_at"] is None
    assert len(run["loss"]) == 400 and run["test_steps"] == [0, 100, 200, 300, 400]
    assert run["final_test_loss"] < 0.5 * tasks.adding_problem_baseline()
    assert run["test_loss"][-1] == run["final_test_loss"]


def test_chunk_program_never_recompiles():
    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(kwargs.get("fun_name"))

    cfg = TINY
    keys = sweep.seed_keys([0, 1])
    state = sweep.map_seeds(functools.partial(train.init_state, cfg=cfg), keys)
    chunk = functools.partial(train.train_chunk, cfg=cfg)
    state, *_ = sweep.map_batch(chunk, keys, state)  # first call compiles
    monitoring.register_event_duration_secs_listener(listener)
    try:
        for _ in range(3):  # the third call runs past cfg.steps: masked, same program
            state, _, test_loss, _ = sweep.map_batch(chunk, keys, state)
        jax.block_until_ready(test_loss)
        steady = list(compiles)
        jax.jit(lambda v: v * 3.0)(1.0)  # the listener does see a compilation
    finally:
        monitoring.unregister_event_duration_listener(listener)
    assert steady == [] and len(compiles) == 1
    np.testing.assert_array_equal(np.asarray(state.step), [cfg.steps, cfg.steps])
    # the masked steps kept the parameters: re-running changes nothing
    again, *_ = sweep.map_batch(chunk, keys, state)
    for a, b in zip(jax.tree.leaves(again.params), jax.tree.leaves(state.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_same_seed_same_run_and_seeds_differ():
    a = train.train(TINY, [0, 1])["per_seed"]
    b = train.train(TINY, [1, 0])["per_seed"]
    assert a[1]["loss"] == b[0]["loss"] and a[0]["loss"] == b[1]["loss"]
    assert a[0]["loss"] != a[1]["loss"]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"optimizer": "adamw"}, "valid optimizers: adam, rmsprop, sgd"),
        ({"task": "add"}, "valid tasks"),
        ({"candidate": "tanhh"}, "valid names"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"hidden_size": -1}, "hidden_size must be a positive integer"),
        ({"snapshots": -1}, "snapshots must be an integer >= 0"),
        ({"stop_when_solved": 1}, "stop_when_solved must be true or false"),
        ({"lr": 0.0}, "lr must be a finite number > 0"),
        ({"clip": -1.0}, "clip must be"),
        ({"clip_by": "norm"}, "valid rules: global_norm, value"),
        ({"fused": "yes"}, "fused must be true or false"),
    ],
)
def test_bad_config_is_refused_on_construction(fields, match):
    with pytest.raises((ValueError, TypeError), match=match):
        train.TrainConfig.from_dict({**TINY.to_dict(), **fields})


@pytest.mark.parametrize("name", train.OPTIMIZERS)
def test_optimizers_with_and_without_clipping_step(name):
    cfg = train.TrainConfig(**{**TINY.__dict__, "optimizer": name, "clip": 1e-3})
    state = train.init_state(jax.random.key(0), cfg)
    _, m = _step(jax.random.key(0), state, cfg)
    # clipping to 1e-3 bounds what sgd moves (lr * 1e-3); adam/rmsprop rescale anyway
    assert math.isfinite(float(m.update_norm))
    if name == "sgd":
        assert float(m.update_norm) <= cfg.lr * 1e-3 * (1 + 1e-5)


def test_variants_of_one_length_share_the_init_program_and_its_values():
    from dataclasses import replace

    from analysis.experiments.train import TrainConfig, init_config

    base = dict(task="adding", length=12, hidden_size=6, batch=4, forget_bias=2.0)
    a = TrainConfig.from_dict({**base, "candidate": "relu", "output": "relu", "snapshots": 3})
    b = TrainConfig.from_dict({**base, "gate": "hard_sigmoid", "candidate": "tanh", "steps": 70})
    a, b = replace(a, steps=30), replace(b, eval_every=7)
    assert init_config(a) == init_config(b)  # one jit key, so one compiled program
    assert init_config(a) != init_config(TrainConfig.from_dict({**base, "forget_bias": 0.0}))
    key = jax.random.key(3)
    for cfg in (a, b):
        got, want = train.init_state(key, init_config(cfg)), train.init_state(key, cfg)
        for x, y in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_clipping_by_value_bounds_each_entry_not_the_norm():
    # an sgd step after clipping by value moves each parameter by at most lr * clip, and
    # equals -lr * clip(g, -clip, clip) computed here from the raw gradient with numpy
    cfg = train.TrainConfig(
        **{**TINY.__dict__, "optimizer": "sgd", "clip": 1e-3, "clip_by": "value"}
    )
    state = train.init_state(jax.random.key(0), cfg)
    new, _ = _step(jax.random.key(0), state, cfg)
    unclipped = train.TrainConfig(**{**cfg.__dict__, "clip": None})
    raw, _ = _step(jax.random.key(0), train.init_state(jax.random.key(0), unclipped), unclipped)
    for p0, p1, q1 in zip(
        jax.tree.leaves(state.params),
        jax.tree.leaves(new.params),
        jax.tree.leaves(raw.params),
        strict=True,
    ):
        grad = (np.asarray(p0) - np.asarray(q1)) / cfg.lr
        want = np.asarray(p0) - cfg.lr * np.clip(grad, -1e-3, 1e-3)
        np.testing.assert_allclose(np.asarray(p1), want, rtol=1e-9, atol=1e-12)
