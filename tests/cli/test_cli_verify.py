"""`actgrad verify` and `actgrad list`: exit codes 0 / 1 / 2 and their messages."""

import json

import jax.numpy as jnp
import pytest

import kernels
from analysis.cli.app import main


def test_verify_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = main(["verify", "relu", "tanh", "--points", "500", "--json", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "tolerances:" in text and "2/2 kernels pass" in text
    assert "relu'(0) = 0" in text  # the kink line with its convention
    data = json.loads(out.read_text())
    assert data["passed"] is True
    assert [r["kernel"] for r in data["reports"]] == ["relu", "tanh"]
    assert data["config"]["points"] == 500


def test_verify_unknown_name_is_exit_2(capsys):
    rc = main(["verify", "relu", "nope"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "nope" in err and "valid: elu" in err


@pytest.mark.parametrize(
    "argv",
    [["verify", "--dtype", "float8"], ["verify", "--points", "0"], ["verify", "--points", "x"]],
)
def test_verify_bad_arguments_are_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        rc = main(argv)
        raise SystemExit(rc)
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_verify_broken_kernel_is_exit_1(capsys):
    good = kernels.get("tanh")

    @kernels.register("broken")
    def broken():
        return kernels.make_activation(
            "broken",
            jnp.tanh,
            lambda x: 1 - jnp.tanh(x) ** 2 + 0.01,
            good.grad2,
            good.reference,
            properties=good.properties,
        )

    try:
        rc = main(["verify", "broken", "--points", "500"])
    finally:
        kernels.unregister("broken")
    captured = capsys.readouterr()
    assert rc == 1
    assert "FAIL" in captured.out and "broken" in captured.err


@pytest.mark.parametrize("cmd", ["list", "verify"])
def test_unwritable_json_is_exit_2(cmd, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main([cmd, "--json", str(blocker / "sub" / "out.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--json" in err


def test_list_shows_kinks_and_writes_json(tmp_path, capsys):
    out = tmp_path / "list.json"
    assert main(["list", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "leaky_relu" in text and "jax.nn 1" in text
    doc = json.loads(out.read_text())
    assert doc["schema"] >= 1 and doc["versions"]["jax"]
    rows = {r["name"]: r for r in doc["kernels"]}
    assert set(rows) == set(kernels.names())
    assert rows["leaky_relu"]["kinks"][0]["convention"] == 0.01


def test_verify_and_list_take_a_formula(tmp_path, capsys):
    name = "formula:z/(1+|z|)"
    out = tmp_path / "list.json"
    try:
        rc = main(["verify", name, "--points", "500", "--dtype", "float64"])
        text = capsys.readouterr().out
        assert rc == 0 and "1/1 kernels pass" in text and "f''(0): left 2 right -2" in text
        assert main(["list", name, "--json", str(out)]) == 0
        (row,) = json.loads(out.read_text())["kernels"]
        assert row["name"] == name and row["expression"] == "z/(1+|z|)"
        assert row["kinks"][0]["order"] == 2 and row["bounded"] is True
    finally:
        kernels.unregister(name)


@pytest.mark.parametrize("cmd", ["list", "verify"])
def test_refused_formula_is_exit_2(cmd, capsys):
    rc = main([cmd, "formula:z/(1+"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "formula:z/(1+" in err
    assert "ended where a value was expected" in err
