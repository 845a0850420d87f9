"""`actgrad train --cell ...`: any cell trains, records its cell and options; bad cells exit 2."""

import json

import pytest

from analysis import cli
from analysis.cli.commands import train_fields
from analysis.experiments import train

TINY = ["--task", "adding", "--length", "5", "--steps", "2", "--batch", "3", "--hidden", "3"]
TINY += ["--eval-every", "1", "--test-batch", "8", "--snapshots", "2"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--cell", "gru", "--output", "relu"], "its slots: gate, candidate"),
        (["--cell", "nope"], "valid cells: gru, indrnn, janet, lnlstm, lstm, mingru, minlstm, rnn"),
        (["--cell", "gru", "--option", "scale=0.5"], "gru has no slot or option 'scale'"),
        (["--cell", "gru", "--option", "lr=1"], "--option lr: a training field"),
        (["--cell", "gru", "--option", "scale"], "--option expects NAME=VALUE"),
        (["--compare", "cell=lstm,gru", "--output", "relu"], "gru has no slot or option 'output'"),
        (["--compare", "cell=lstm,nope"], "bad value 'nope' for 'cell': valid cells:"),
        (["--cell", "rnn", "--init", "zeros"], "valid: orthogonal, identity, uniform"),
        (["--cell", "rnn", "--compare", "scale=1,-"], "scale must be a finite real, got '-'"),
    ],
)
def test_bad_cell_input_exits_2_with_one_line_before_work(argv, match, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["train", *TINY, "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and match in err, err
    assert not out.exists()


def test_gru_compare_candidate_trains_and_records_the_cell_and_its_options(tmp_path, capsys):
    out = tmp_path / "gru"
    argv = ["train", *TINY, "--snapshots", "0", "--cell", "gru", "--compare", "candidate=tanh,relu"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "gru: candidate=tanh" in printed and "gru: candidate=relu" in printed
    lines = (out / "results.jsonl").read_text().splitlines()
    stored = {
        json.loads(ln)["config"]["cell"]["candidate"]: json.loads(ln)["config"] for ln in lines
    }
    summary = json.loads((out / "train.json").read_text())
    assert sorted(stored) == ["relu", "tanh"] and len(summary["variants"]) == 2
    for variant in summary["variants"]:
        candidate = variant["config"]["cell"]["candidate"]
        config = stored[candidate]  # the store finishes variants in any order
        spec = config["cell"]
        expected = {"name": "gru", "gate": "sigmoid", "update_bias": 0.0}
        assert expected.items() <= spec.items() and spec["initializer"] == "orthogonal"
        assert "output" not in spec and "forget_bias" not in spec  # no LSTM defaults forced
        assert variant["config"] == config and variant["label"] == f"gru: candidate={candidate}"
        assert len(variant["per_seed"][0]["loss"]) == 2


def test_the_issue_example_is_a_valid_rnn_run(tmp_path, monkeypatch):
    # `actgrad train --cell rnn --init identity --candidate relu`: validated and recorded as the
    # IRNN; the training itself is the same code path as the GRU run above.
    seen = []
    monkeypatch.setattr(
        "analysis.cli.commands.train_cmd._work", lambda cells, *rest: seen.append(cells) or 0
    )
    argv = ["train", *TINY, "--cell", "rnn", "--init", "identity", "--candidate", "relu"]
    assert cli.main([*argv, "--out", str(tmp_path / "rnn")]) == 0
    ((record,),) = seen
    cfg = train.TrainConfig.from_dict(record)
    assert cfg.cell == "rnn" and train_fields.label(record, []) == "rnn: candidate=relu"
    assert dict(cfg.spec.options) == {"candidate": "relu", "initializer": "identity", "scale": 1.0}
