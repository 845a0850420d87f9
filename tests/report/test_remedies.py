"""Each remedy's training cell: the swap's own cell with the remedy's change and nothing else."""

import pytest

from analysis.cells import flat_config
from analysis.experiments.train import TrainConfig
from analysis.report import config, remedies, stages


@pytest.mark.parametrize("remedy", sorted(remedies.REMEDIES))
def test_a_remedy_changes_its_fields_and_keeps_the_swap_and_budget(remedy):
    cfg = config.preset("default")
    base = flat_config(stages.train_cell(cfg, "sigmoid/tanh", 100, 0.01))
    cell = remedies.remedy_cell(cfg, "sigmoid/tanh", remedy, 100, 0.01)
    got = flat_config(cell)
    TrainConfig.from_dict(cell)  # a valid run
    for key, value in remedies.REMEDIES[remedy].items():
        assert got[key] == value
    changed = {k for k in set(base) | set(got) if base.get(k) != got.get(k)}
    # the LSTM's own options (initializer, fused, ...) do not carry over to another cell
    gone = {k for k in base if k not in got and base[k] is not None}
    dropped = gone if "cell" in remedies.REMEDIES[remedy] else set()
    assert changed == set(remedies.REMEDIES[remedy]) | {"snapshots"} | dropped
    assert (got["candidate"], got["output"], got["gate"]) == ("sigmoid", "tanh", "sigmoid")
    assert got["steps"] == base["steps"] and got["lr"] == 0.01
    assert got["snapshots"] == cfg.train_snapshots


def test_an_unknown_remedy_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid: clip_value, chrono, layer_norm, floss"):
        remedies.remedy_cell(config.preset("tiny"), "relu/relu", "dropout", 12, 0.1)
