"""The report's variant grid and the fair protocol's seeds, preset by preset."""

import pytest

from analysis.report import compare, stages, variants
from analysis.report.config import PRESETS

NAMED = ("relu", "hard_tanh", "leaky_relu", "leaky_relu(0.2)", "identity", "sigmoid")


def test_the_default_trains_every_activation_the_question_names_one_slot_at_a_time():
    cfg = PRESETS["default"]
    trained = cfg.trained()
    assert trained[0] == "tanh/tanh"
    for act in NAMED:
        for name, slot in ((f"{act}/tanh", "candidate"), (f"tanh/{act}", "output")):
            assert name in trained, name
            v = variants.get(name)
            assert getattr(v, slot) != "tanh" and v.gate == "sigmoid"
            assert compare.slot_of(name) == slot
    assert "relu/relu" in trained and compare.slot_of("relu/relu") == "both"
    # the reference alone is trained at every length by default; the swaps at the main one
    assert cfg.length_variants == ("tanh/tanh",) and cfg.train_length in cfg.train_lengths


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_search_never_uses_an_evaluation_seed_and_shares_its_program(name):
    cfg = PRESETS[name]
    held_out = stages.tune_seeds(cfg)
    assert len(held_out) == cfg.tune_seeds >= 2
    assert not set(held_out) & set(range(cfg.train_seeds))
    assert len(cfg.lr_grid) >= 2 and len(set(cfg.lr_grid)) == len(cfg.lr_grid)
    # as many models in the search as seeds in the evaluation: one compiled program for both
    assert cfg.tune_seeds * len(cfg.lr_grid) == cfg.train_seeds


def test_the_default_grid_spans_a_decade_and_the_budget_grows_with_length():
    cfg = PRESETS["default"]
    assert len(cfg.lr_grid) >= 3 and max(cfg.lr_grid) / min(cfg.lr_grid) >= 10
    assert cfg.train_seeds >= 16 and cfg.tune_seeds >= 4 and cfg.train_clip is not None
    assert [cfg.steps_at(t) for t in (50, 100, 200)] == [
        max(cfg.train_min_steps, cfg.train_steps_per_T * t) for t in (50, 100, 200)
    ]
    assert cfg.steps_at(200) > cfg.steps_at(100)


def test_a_report_that_cannot_run_is_refused_before_any_work(tmp_path):
    from analysis.report import build
    from analysis.report.config import preset

    bad = [
        (preset("tiny", train_variants=("tanh/tanh", "swish/tanh")), "unknown variant"),
        (preset("tiny", train_seeds=20_000), "train_seeds must be at most"),
        (
            preset("tiny", train_settings=(("old", "adding1997", 1.0, "orthogonal"),)),
            "train setting 'old': length must be",
        ),
        (
            preset("tiny", train_settings=(("x", "adding", 1.0, "xavier"),)),
            "init 'xavier'; valid: orthogonal",
        ),
    ]
    for cfg, message in bad:
        with pytest.raises(ValueError, match=message):
            build.build(cfg, tmp_path / "out")
        assert not (tmp_path / "out").exists()  # nothing written


def test_a_folder_of_another_results_schema_is_refused_before_any_stage(tmp_path):
    from analysis.experiments.store import SchemaMismatchError
    from analysis.report import build
    from analysis.report.config import preset

    store = tmp_path / "out" / "decay" / "results.jsonl"
    store.parent.mkdir(parents=True)
    line = '{"schema": 1, "actgrad": "0.1.0", "key": "k", "config": {}, "seeds": [0]}\n'
    store.write_text(line)
    with pytest.raises(SchemaMismatchError, match="results schema 1"):
        build.build(preset("tiny"), tmp_path / "out")
    assert store.read_text() == line  # nothing lost or rewritten
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["decay"]  # nothing ran
