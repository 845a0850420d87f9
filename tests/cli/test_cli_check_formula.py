"""`actgrad check-formula`: exit 0 match, 1 mismatch with counterexamples, 2 bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli.app import main

SIGMOID = "1/(1+exp(-z))"


def run(capsys: pytest.CaptureFixture, *argv: str, points: int = 3_000) -> tuple[int, str, str]:
    """The command on ``points`` test points (the default 24,001 only where it matters)."""
    try:
        code = main(["check-formula", "--points", str(points), *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_match_exits_0_and_prints_the_error(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "--f", SIGMOID, "--df", "exp(-z)/(1+exp(-z))^2")
    assert code == 0 and err == ""
    assert out.startswith("match:") and "max abs err" in out


def test_seed_sigmoid_mismatch_exits_1_with_table(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "--f", SIGMOID, "--df", "sigmoid'(z) = -exp(-z) / 1 + exp(-z)^2")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("MISMATCH")
    assert "claimed df" in lines[1] and "true d/dz f" in lines[1]
    z, claimed, true = (float(v) for v in lines[2].split())
    assert z == -20.0 and claimed > 1e17 and true == pytest.approx(2.0611536e-9, rel=1e-7)


def test_kink_convention_and_params(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out_file = tmp_path / "leaky.json"
    code, out, _ = run(
        capsys,
        "--f", "leaky(z) = max(z, k dot z) where 0 < k < 1",
        "--df", "relu'(z) = 1 if z > 0; k otherwise",
        "--param", "k=0.01",
        "--json", str(out_file),
    )  # fmt: skip
    assert code == 0
    assert "kink at z = 0: left 0.01, right 1, df there 0.01 -> convention: left derivative" in out
    data = json.loads(out_file.read_text())
    assert data["result"]["matches"] is True and data["result"]["params"] == {"k": 0.01}
    assert data["result"]["kinks"][0]["verdict"] == "convention: left derivative"
    assert "versions" in data and "device" in data


def test_overflow_is_noted_and_not_a_mismatch(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(
        capsys,
        "--f", SIGMOID, "--df", "exp(-z)/(1+exp(-z))^2", "--domain", "-1000", "1000",
        points=24_001,
    )  # fmt: skip
    assert code == 0
    assert "overflow in float64 (not counted as wrong): df is nan for z in [-1000, -709.8]" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--f", "z.real", "--df", "1"], "--f: attribute access"),
        (["--f", "z", "--df", "foo(z)"], "--df: unknown function 'foo'"),
        (["--f", "z", "--df", ""], "--df: the formula is empty"),
        (["--f", "z", "--df", "1 if z > 1; 0 if z < 0"], "z in [0, 1] is not covered"),
        (["--f", "z", "--df", "1 - z = 1"], "more than one '='"),
        (["--f", "k*z", "--df", "k", "--param", "k"], "expected NAME=VALUE"),
        (["--f", "k*z", "--df", "k", "--param", "k=abc"], "is not a number"),
        (["--f", "k*z", "--df", "k", "--param", "k=nan"], "must be finite"),
        (["--f", "k*z", "--df", "k", "--param", "k=1", "--param", "k=2"], "given twice"),
        (["--f", "z", "--df", "1", "--domain", "1", "-1"], "LO < HI"),
        (["--f", "z", "--df", "1", "--domain", "0", "inf"], "finite"),
        (["--f", "z", "--df", "1", "--domain", "0", "x"], "invalid float value"),
        (["--f", "k*z", "--df", "k"], "unknown name 'k'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_unwritable_json_exits_2_before_work(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out, err = run(capsys, "--f", "z", "--df", "1", "--json", str(blocker / "r.json"))
    assert code == 2 and out == "" and "cannot be written" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--f", "z", "--df", "1", "--json", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_subprocess_injection_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "pwned_xyz"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "check-formula",
         "--f", f"__import__('os').system('touch {target}')", "--df", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not target.exists() and not Path("/tmp/pwned_xyz").exists()


def test_subprocess_mismatch_exits_1() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "check-formula",
         "--f", SIGMOID, "--df", "-exp(-z) / (1 + exp(-z))^2", "--points", "2000"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("MISMATCH")


def test_user_report_one_over_cosh_squared_matches(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "--f", "tanh(z)", "--df", "1/cosh(z)^2", points=24_001)
    assert code == 0 and err == "" and out.startswith("match:")
    assert "cross-check jax.grad (float64) vs exact" in out  # reported, not the verdict


@pytest.mark.parametrize(
    "argv",
    [
        ["--f", "1/z", "--df", "-1/z^2", "--domain", "0.5", "5"],
        ["--f", "-z", "--df", "-1"],
        ["--f", "-z^2", "--df", "-2z", "--d2f", "-2"],
    ],
)
def test_values_with_a_leading_minus_are_formulas(
    capsys: pytest.CaptureFixture, argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == "", err
    assert out.startswith("match:")


def test_second_derivative_and_safety_dtypes(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out_file = tmp_path / "r.json"
    code, out, _ = run(
        capsys,
        "--f", "tanh(z)", "--df", "1 - tanh(z)^2", "--d2f", "2 tanh(z) sech(z)^2",
        "--dtype", "float64", "--json", str(out_file),
    )  # fmt: skip
    assert code == 1
    assert "match: df = d/dz f" in out and "MISMATCH: d2f != d2/dz2 f" in out
    assert "safety (float64): `1 - tanh(z)^2` is correct" in out
    data = json.loads(out_file.read_text())["result"]
    assert set(data["safety"]) == {"float32", "float64"}
    f32 = next(r for r in data["safety"]["float32"] if r["formula"] == "df")
    assert f32["underflow"].startswith("|z| > ") and "is 0 for |z| >" in f32["sentence"]
    assert data["second"]["matches"] is False and data["df_matches"] is True


def test_subprocess_leading_minus() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "check-formula", "--f", "-z", "--df", "-1",
         "--points", "2000"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("match:")
