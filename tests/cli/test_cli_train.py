"""`actgrad train` end to end: bad input exits 2 before work; divergence is a result; resume."""

import json
import math

import pytest

from analysis import cli

TINY = ["--task", "adding", "--length", "6", "--steps", "12", "--batch", "4", "--hidden", "3"]
TINY += ["--eval-every", "5", "--test-batch", "8", "--seeds", "2"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--task", "nope"], "valid tasks: adding, adding1997, copy"),
        (["--optimizer", "adamw"], "valid optimizers: adam, rmsprop, sgd"),
        (["--candidate", "tanhh"], "valid names:"),
        (["--gate", "nope"], "valid names:"),
        (["--init", "zeros"], "valid inits:"),
        (["--length", "0"], "length"),
        (["--steps", "0"], "steps must be a positive integer"),
        (["--batch", "-3"], "batch must be a positive integer"),
        (["--hidden", "0"], "hidden_size must be a positive integer"),
        (["--snapshots", "-1"], "snapshots must be an integer >= 0"),
        # 12 steps at --eval-every 5 stop to evaluate at 0, 5, 10 and 12 only
        (["--snapshots", "5"], "12 steps at --eval-every 5 have 4 such points; ask for at most 4"),
        (["--compare", "snapshots=2,9"], "have 4 such points"),
        (["--seeds", "0"], "--seeds must be a positive integer"),
        (["--lr", "0"], "lr must be a finite number > 0"),
        (["--lr", "-0.1"], "lr must be a finite number > 0"),
        (["--lr", "nan"], "lr must be a finite number > 0"),
        (["--clip", "-1"], "clip must be"),
        (["--compare", "colour=red,blue"], "unknown field 'colour'; valid fields:"),
        (["--compare", "lr=0.1,0"], "lr must be a finite number > 0"),
        (["--compare", "hidden=a"], "bad value 'a' for 'hidden_size'"),
        (["--compare", "hidden-size=2,0"], "hidden_size must be a positive integer"),
        (["--steps", "many"], "invalid int value"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_work(argv, match, tmp_path, capsys):
    out = tmp_path / "out"
    try:
        code = cli.main(["train", *TINY, "--out", str(out), *argv])
    except SystemExit as exc:  # argparse's own errors (a non-integer) exit from the parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and match in err, err
    assert not out.exists()


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = cli.main(["train", *TINY, "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot be written" in err


def test_divergence_is_a_result_and_rerun_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    argv = ["train", *TINY, "--snapshots", "3", "--compare", "lr=0.01,1e30", "--out", str(out)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "non-finite loss" in ln]
    assert len(lines) == 1 and "lr=1e+30" in lines[0] and "(seed 1)" in lines[0]
    for name in ("train.json", "train.png", "train.svg", "grad_norm.png", "grad_norm.svg"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "train.json").read_text())
    assert summary["versions"]["jax"] and summary["device"]
    calm, wild = summary["variants"]
    assert calm["config"]["lr"] == 0.01 and wild["config"]["lr"] == 1e30
    for run in calm["per_seed"]:
        assert run["diverged_at"] is None and len(run["loss"]) == 12
        assert run["test_steps"] == [0, 5, 10, 12]
        assert math.isfinite(run["final_test_loss"])
        assert [s["step"] for s in run["flow_snapshots"]] == [0, 5, 12]
    for run in wild["per_seed"]:
        d = run["diverged_at"]
        assert d is not None and d >= 1
        assert len(run["loss"]) == d + 1 == len(run["grad_norm"]) == len(run["update_norm"])
        assert all(math.isfinite(v) for v in run["loss"][:d])
        assert not math.isfinite(float(run["loss"][d]))
        assert all(s <= d for s in run["test_steps"]) and run["test_steps"][0] == 0
        assert run["solved_step"] is None
        # a frozen (diverged) seed keeps only the snapshots up to its last finite state
        assert all(s["step"] <= d for s in run["flow_snapshots"])

    store = (out / "results.jsonl").read_bytes()
    assert store.count(b"\n") == 2

    def no_training(*args, **kwargs):
        raise AssertionError("a stored cell was trained again")

    monkeypatch.setattr("analysis.experiments.train.train", no_training)
    assert cli.main(argv) == 0
    assert (out / "results.jsonl").read_bytes() == store
    again = json.loads((out / "train.json").read_text())
    assert again["variants"] == summary["variants"]


def test_the_snapshot_count_is_the_default_or_all_evaluation_steps():
    from analysis.cli.commands.train_cmd import DEFAULT_SNAPSHOTS, settle_snapshots
    from analysis.experiments.snapshots import schedule
    from analysis.experiments.train import TrainConfig

    # `actgrad train --task adding --length 40 --steps 200`: 5 evaluation steps, 5 snapshots
    cell = TrainConfig(length=40, steps=200).to_dict()
    assert settle_snapshots(cell, given=False)["snapshots"] == 5
    long = TrainConfig(length=40, steps=2000).to_dict()
    settled = settle_snapshots(long, given=False)
    assert settled["snapshots"] == DEFAULT_SNAPSHOTS
    assert len(schedule(TrainConfig.from_dict(settled))) == DEFAULT_SNAPSHOTS  # honoured
    asked = TrainConfig(length=40, steps=2000, snapshots=41).to_dict()
    assert len(schedule(TrainConfig.from_dict(settle_snapshots(asked, given=True)))) == 41
