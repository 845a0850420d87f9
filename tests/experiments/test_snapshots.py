"""Gradient-flow snapshots during training: schedule, count, fields, values, cost."""

import jax
import numpy as np
import pytest
from jax import monitoring

from analysis.experiments import snapshots, train
from analysis.flow import gradients

FIELDS = {"step", "log_h", "rate", "half_life", "lyapunov_max", "max_abs_c"}
CFG = train.TrainConfig(
    task="adding",
    length=7,
    steps=12,
    batch=4,
    hidden_size=3,
    eval_every=3,
    test_batch=8,
    snapshots=5,
    snapshot_batch=2,
)


@pytest.mark.parametrize(
    ("steps", "every", "n", "expected"),
    [
        (7, 3, 5, (0, 3, 6, 7)),  # targets 0, 1.75, 3.5, 5.25, 7 -> nearest chunk boundaries
        (1200, 60, 20, None),  # 21 boundaries: 20 distinct picks
        (10, 5, 0, ()),
        (10, 5, 1, (0,)),
    ],
)
def test_schedule_picks_the_nearest_chunk_boundaries(steps, every, n, expected):
    cfg = train.TrainConfig(**{**CFG.__dict__, "steps": steps, "eval_every": every, "snapshots": n})
    got = snapshots.schedule(cfg)
    if expected is None:
        assert len(got) == 20 and got[0] == 0 and got[-1] == steps
        assert all(s % every == 0 for s in got)
    else:
        assert got == expected


@pytest.fixture(scope="module")
def run():
    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(kwargs.get("fun_name"))

    monitoring.register_event_duration_secs_listener(listener)
    try:
        result = train.train(CFG, [0, 1])
    finally:
        monitoring.unregister_event_duration_listener(listener)
    return result, compiles


def test_every_seed_has_one_snapshot_per_scheduled_step_with_every_field(run):
    result, _ = run
    for seed in result["per_seed"]:
        snaps = seed["flow_snapshots"]
        assert [s["step"] for s in snaps] == [0, 3, 6, 9, 12]  # targets 0, 3, 6, 9, 12
        for s in snaps:
            assert set(s) == FIELDS
            assert len(s["log_h"]) == CFG.length


def test_snapshot_values_equal_a_direct_measurement_of_the_initial_model(run):
    result, _ = run
    x = snapshots._batch(CFG)
    lcfg = CFG.lstm_config(fused=False)
    for s, seed in enumerate(result["seeds"]):
        key = jax.random.key(seed)
        model = train.init_model(jax.random.fold_in(key, 0), CFG)
        norms = gradients.per_step_grad_norms(model.lstm, x, lcfg)
        snap = result["per_seed"][s]["flow_snapshots"][0]
        # against the plain norms (finite at this T) and their own fit, independently of log_h
        np.testing.assert_allclose(np.exp(snap["log_h"]), np.asarray(norms.h), rtol=2e-5)
        fit = gradients.fit_decay(np.asarray(norms.h, np.float64))
        assert snap["rate"] == pytest.approx(fit.rate, rel=1e-4, abs=1e-6)
        tel = gradients.telemetry(model.lstm, x, lcfg)
        assert snap["max_abs_c"] == pytest.approx(float(np.max(tel["c_max"])), rel=1e-6)
        lyap = gradients.lyapunov_spectrum(
            model.lstm, x, lcfg, k=1, key=jax.random.key(snapshots._LYAPUNOV_KEY)
        )
        assert snap["lyapunov_max"] == pytest.approx(float(lyap[0]), rel=1e-4, abs=1e-6)


def test_snapshot_cost_is_one_compile_and_is_timed_apart(run):
    result, compiles = run
    assert sum("mapped" in (c or "") for c in compiles) <= 4  # init, evaluate, chunk, snapshot
    assert result["snapshot_first_s"] > 0 and result["snapshot_s"] >= 0
    assert result["snapshot_first_s"] + result["snapshot_s"] < result["wall_s"]


def test_threads_take_turns_so_a_snapshot_follows_its_own_chunk(monkeypatch):
    # Variants train in threads (sweep.run workers); the device runs one program at a time.
    # A snapshot timed right after its chunk must not wait for another thread's chunk.
    import threading

    calls, real = [], train.runtime.map_batch

    def recording(fn, *args):
        out = real(fn, *args)
        name = getattr(getattr(fn, "func", fn), "__name__", "?")
        calls.append((threading.current_thread().name, name))
        return out

    monkeypatch.setattr(train.runtime, "map_batch", recording)
    threads = [threading.Thread(target=train.train, args=(CFG, [s]), name=f"t{s}") for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a thread's calls before its second chunk run outside the turns (the first compiles)
    second = {
        w: [i for i, c in enumerate(calls) if c == (w, "train_chunk")][1] for w in "t0 t1".split()
    }
    free = {i for i, (w, _) in enumerate(calls) if i < second[w]}
    for who in ("t0", "t1"):
        mine = [i for i, c in enumerate(calls) if c[0] == who]
        chunks = [i for i in mine if calls[i][1] == "train_chunk"]
        assert len(chunks) == 4 and sum(calls[i][1] == "measure" for i in mine) >= 5
        for i in chunks[1:]:  # every chunk of CFG is followed by a snapshot
            j = next(k for k in mine if k > i)
            assert calls[j] == (who, "measure") and set(range(i + 1, j)) <= free, calls
