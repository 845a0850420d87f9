"""Fuzzed command lines, and a full disk during a sweep.

Every command gets random flag values (wrong types, out of range, NaN/inf, unicode, empty,
very long), in process through ``analysis.cli.app.main``. The outcome must be exit 0, 1 or
2 (2 with exactly one stderr line), never a traceback, and never a file left in ``--out``
by a refused run. Where a valid command line would start slow work (a sweep, a benchmark,
a verification) the work's entry point is replaced by one that raises ``WorkStarted``: what
is fuzzed is everything before the work, which is where user input is handled; the work
itself is tested by each command's own tests.

A full disk (ENOSPC from ``os.write``, simulated) in the middle of a real ``actgrad decay``
sweep: one line, a non-zero exit, ``results.jsonl`` still whole lines, and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import tempfile
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cli import app
from analysis.util import io as aio

# command -> (module, attribute) of the call that starts its slow work.
WORK = {
    "decay": ("analysis.experiments.sweep", "run"),
    "train": ("analysis.experiments.sweep", "run"),
    "report": ("analysis.report.build", "build"),
    "bench": ("analysis.bench.peers", "run_bench"),
    "verify": ("analysis.checks.verify", "verify_activation"),
    "check-formula": ("analysis.checks.formula", "check_formula"),
}
PATH_FLAGS = {"--out", "--json"}
FUZZ = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


class WorkStarted(Exception):
    """Raised instead of the slow work: the command line was accepted."""


def _flags(command: str) -> list[tuple[str, bool]]:
    """(option, takes a value) for every option of ``command`` but --help."""
    parser, _ = app.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    out = []
    for action in sub._actions:
        if action.option_strings and "--help" not in action.option_strings:
            out.append((action.option_strings[-1], action.nargs != 0))
    return out


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
VALUES = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e309",
            "0",
            "-1",
            "1",
            "2",
            "",
            " ",
            "true",
            "none",
            "1.5",
            "0x10",
            "1_0",
            "tanh",
            "relu",
            "sigmoid",
            "float64",
            "adding",
            "S1",
            "fused",
            "z",
            "exp(z)",
            "k=0.5",
            "candidate=tanh,relu",
            "forget_bias=nan,1",
            "hidden=0",
            "lr=inf",
            "=",
            ",",
            "candidate=",
            "ü",
            "🙂",
            "-",
            "--",
            "-1e-400",
        ]
    ),
    _text,
    st.sampled_from(["9" * 5000, "é" * 3000, "a," * 2000, "candidate=" + "tanh," * 500]),
)


def _path_value(draw: st.DrawFn, root: str) -> str:
    name = draw(st.one_of(st.just("out"), _text, st.just("x" * 300)))
    # Stay inside this example's folder: no absolute paths, no "..".
    name = name.replace("/", "_").replace("..", "_").replace("\\", "_") or "out"
    return os.path.join(root, name)


@st.composite
def command_lines(draw: st.DrawFn, command: str, root: str) -> list[str]:
    flags = _flags(command)
    argv = [command]
    if command == "verify":
        argv += draw(
            st.lists(st.one_of(st.sampled_from(["tanh", "relu", "nope"]), _text), max_size=2)
        )
    if command == "check-formula":
        argv += ["--f", draw(VALUES), "--df", draw(VALUES)]
    for flag, takes_value in draw(st.lists(st.sampled_from(flags), max_size=6)):
        if not takes_value:
            argv.append(flag)
        elif flag in PATH_FLAGS:
            argv += [flag, _path_value(draw, root)]
        else:
            argv += [f"{flag}={draw(VALUES)}"]  # "=": a value that starts with "-" stays one
    if command in ("decay", "train", "report") and "--out" not in argv:
        argv += ["--out", os.path.join(root, "out")]
    return argv


def _stub_work(command: str) -> contextlib.ExitStack:
    import importlib

    stack = contextlib.ExitStack()
    if command in WORK:
        module, attr = WORK[command]
        mod = importlib.import_module(module)
        real = getattr(mod, attr)

        def started(*args, **kwargs):
            raise WorkStarted(command)

        setattr(mod, attr, started)
        stack.callback(setattr, mod, attr, real)
    return stack


def _run(argv: list[str]) -> tuple[int | str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = dict(os.environ)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc: int | str = app.main(argv)
            except SystemExit as exit_:  # argparse's one-line error
                rc = exit_.code if isinstance(exit_.code, int) else 2
            except WorkStarted:
                rc = "work"
    finally:
        os.environ.clear()
        os.environ.update(env)  # report --device sets JAX_PLATFORMS
    return rc, out.getvalue(), err.getvalue()


def _files(root: str) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def _check(command: str, argv: list[str]) -> None:
    rc, out, err = _run(argv)
    shown = f"{argv!r:.400}"
    assert "Traceback" not in out + err, f"{shown}\n{err[-2000:]}"
    assert rc in (0, 1, 2, "work"), f"{shown}: exit {rc}\n{err[-2000:]}"
    if rc == 2:
        assert err.count("\n") == 1 and err.strip(), f"{shown}: {err[-2000:]!r}"


def _fuzz(command: str):
    @FUZZ
    @given(data=st.data())
    def test(data: st.DataObject) -> None:
        with tempfile.TemporaryDirectory() as root, _stub_work(command):
            argv = data.draw(command_lines(command, root))
            _check(command, argv)
            files = _files(root)
            if command == "list":  # list's real work ran: its --json is whole JSON
                for f in files:
                    json.loads(f.read_text())
            else:
                assert files == [], f"{argv!r:.400} left {files}"

    return test


test_fuzz_list = _fuzz("list")
test_fuzz_verify = _fuzz("verify")
test_fuzz_check_formula = _fuzz("check-formula")
test_fuzz_decay = _fuzz("decay")
test_fuzz_train = _fuzz("train")
test_fuzz_report = _fuzz("report")
test_fuzz_bench = _fuzz("bench")


# --------------------------------------------------------------------------- a full disk

TINY = ["decay", "--hidden", "2", "--length", "4", "--batch", "1", "--seeds", "1",
        "--lyapunov-k", "0", "--compare", "forget_bias=0,1,2"]  # fmt: skip


class _FullDisk(types.ModuleType):
    """``os`` whose ``write`` fills the disk: the n-th call onwards writes part of the line
    once, then raises ENOSPC (as a real nearly full disk does)."""

    def __init__(self, ok_writes: int) -> None:
        super().__init__("os")
        self.ok = ok_writes
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        self.calls += 1
        if self.calls <= self.ok:
            return os.write(fd, data)
        if self.calls == self.ok + 1:
            return os.write(fd, data[: len(data) // 2])  # a short write, then the error
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_append_jsonl_cuts_a_short_write_back_off_on_enospc(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    aio.append_jsonl(path, {"a": 1})
    before = path.read_bytes()
    monkeypatch.setattr(aio, "os", _FullDisk(ok_writes=0))
    with pytest.raises(OSError) as info:
        aio.append_jsonl(path, {"b": "x" * 100})
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert path.read_bytes() == before


def test_full_disk_mid_sweep_is_one_line_and_the_store_stays_valid_and_resumable(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    full = _FullDisk(ok_writes=1)  # the first cell's line lands, the second's does not
    monkeypatch.setattr(aio, "os", full)
    rc = app.main([*TINY, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and full.calls >= 2
    assert err.count("\n") == 1 and "No space left on device" in err and "results.jsonl" in err
    assert "Traceback" not in err
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) == 1 and lines[0].endswith("\n")
    first = json.loads(lines[0])
    assert sorted(p.name for p in out.iterdir()) == ["results.jsonl"]  # no summary, no lock

    monkeypatch.setattr(aio, "os", os)
    assert app.main([*TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 of 3 cells stored, running 2" in err
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert records[0] == first  # kept, not recomputed
    assert sorted(r["config"]["cell"]["forget_bias"] for r in records) == [0.0, 1.0, 2.0]
