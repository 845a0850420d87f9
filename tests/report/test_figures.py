"""write_figures: the same figures and page order whether the jobs are drawn here or by the
pool's workers, whatever order the workers finish in (no drawing: the jobs are stubbed)."""

import pickle
from pathlib import Path

import pytest

from analysis.runtime import pool
from analysis.report import config, figures


def _fake_draw(kind):
    def draw(cfg, out, *args):
        if kind == "gallery":
            return {"gallery": [(f"gallery_{args[0]}", "g")]}
        if kind == "decay":
            return {"decay": [(f"decay_bf{args[0]:g}", "d")], "telemetry": [("t", "t")]}
        return {kind: [(kind, kind)]}

    return draw


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(figures, "_DRAW", {k: _fake_draw(k) for k in figures._DRAW})
    cfg = config.preset("tiny")
    decay = [{"config": {"forget_bias": fb}} for fb in cfg.forget_biases]
    train = [{"config": {"length": cfg.train_length}}]
    gating = ([{"row": 1}], [{"config": {}}])
    return cfg, decay, train, gating


def _reversed_pool(todo, seeds, run_cell, processes, finish, advance):
    for key in reversed(list(todo)):
        # what a worker gets: pool.run_cells pickles (run_cell, dict(config), seeds)
        fn, cell, got_seeds = pickle.loads(pickle.dumps((run_cell, dict(todo[key]), list(seeds))))
        finish(todo[key], key, pickle.loads(pickle.dumps(fn(cell, got_seeds))))
        advance()


def test_pool_gives_the_same_figures_in_page_order(stubbed, monkeypatch, tmp_path):
    cfg, decay, train, gating = stubbed
    monkeypatch.setattr(pool, "usable", lambda *a: False)
    here = figures.write_figures(cfg, Path(tmp_path), decay, train, gating)
    handed_out = []

    def record(todo, *rest):
        handed_out.extend(todo)
        _reversed_pool(todo, *rest)

    monkeypatch.setattr(pool, "usable", lambda *a: True)
    monkeypatch.setattr(pool, "run_cells", record)
    drawn = figures.write_figures(cfg, Path(tmp_path), decay, train, gating)
    assert drawn == here
    assert list(drawn) == list(figures.GROUPS)
    assert [s for s, _ in drawn["gallery"]] == [f"gallery_{k}" for k in cfg.gallery_kernels]
    assert [s for s, _ in drawn["decay"]] == [f"decay_bf{fb:g}" for fb in cfg.forget_biases]
    # the workers get the longest jobs first, the gallery last
    n_decay = len(cfg.forget_biases)
    assert handed_out[: n_decay + 1] == [f"decay_bf{fb:g}" for fb in cfg.forget_biases] + ["flow"]
    assert all(k.startswith("gallery_") for k in handed_out[-len(cfg.gallery_kernels) :])


def test_a_job_without_records_is_not_drawn(stubbed, monkeypatch, tmp_path):
    cfg, decay, _, _ = stubbed
    monkeypatch.setattr(pool, "usable", lambda *a: False)
    figs = figures.write_figures(cfg, Path(tmp_path), decay[:1], [])
    assert figs["training"] == [] and figs["flow"] == [] and figs["gating"] == []
    assert [s for s, _ in figs["decay"]] == [f"decay_bf{cfg.forget_biases[0]:g}"]
