"""analysis.runtime.lock: one run per --out, a dead run's lock taken over, disk full as one line."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import app
from analysis.runtime import lock
from analysis.util.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
# A child that takes the lock of OUT for COMMAND, says "held", then waits to be killed.
HOLDER = (
    "import sys, time; sys.path.insert(0, {root!r}); from analysis.runtime import lock; "
    "lock.acquire({command!r}, {out!r}); print('held', flush=True); time.sleep(120)"
)


def _holder(out: Path, command: str = "decay") -> subprocess.Popen:
    code = HOLDER.format(root=str(ROOT), command=command, out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def _ns(command: str, out: Path | None) -> argparse.Namespace:
    return argparse.Namespace(command=command, out=None if out is None else str(out))


def test_second_run_on_the_same_out_exits_2_naming_the_holders_pid(tmp_path, capsys):
    out = tmp_path / "out"
    proc = _holder(out)
    try:
        before = (out / lock.LOCK_NAME).read_text()
        rc = app.main(["decay", "--length", "4", "--hidden", "2", "--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 2
        assert err.count("\n") == 1 and f"pid {proc.pid} " in err and "in use" in err
        assert json.loads(before)["pid"] == proc.pid
        assert (out / lock.LOCK_NAME).read_text() == before  # the holder's lock is untouched
        assert sorted(p.name for p in out.iterdir()) == [lock.LOCK_NAME]  # nothing written
    finally:
        _kill(proc)


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    fd, _ = lock.acquire("train", tmp_path)
    try:
        with pytest.raises(lock.OutputLockedError, match=f"pid {os.getpid()} "):
            lock.acquire("train", tmp_path)
    finally:
        os.close(fd)


def test_a_killed_runs_lock_is_taken_over_with_one_line_naming_it(tmp_path, capsys):
    out = tmp_path / "out"
    proc = _holder(out)
    _kill(proc)  # SIGKILL: no cleanup ran, the lock file with the dead pid is still there
    assert json.loads((out / lock.LOCK_NAME).read_text())["pid"] == proc.pid
    ran = []
    with lock.output_lock(_ns("decay", out)):
        ran.append(json.loads((out / lock.LOCK_NAME).read_text())["pid"])
    err = capsys.readouterr().err
    assert ran == [os.getpid()]
    assert err.count("\n") == 1 and "stale lock" in err and f"pid {proc.pid} " in err
    assert "dead" in err
    assert not (out / lock.LOCK_NAME).exists()  # released: the file is gone


def test_the_lock_is_released_on_error_and_a_refused_run_leaves_no_folder(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(UsageError), lock.output_lock(_ns("train", out)):
        assert (out / lock.LOCK_NAME).exists()
        raise UsageError("bad flag")
    assert not (tmp_path / "new").exists()  # folders it made for the lock and left empty
    with lock.output_lock(_ns("train", out)):  # the next run gets it at once
        (out / "train.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["train.json"]


def test_file_outputs_lock_a_sibling_and_commands_without_out_lock_nothing(tmp_path):
    target = tmp_path / "bench.md"
    assert lock.lock_path("bench", target) == tmp_path / "bench.md.lock"
    with lock.output_lock(_ns("bench", target)):
        assert (tmp_path / "bench.md.lock").exists()
        with pytest.raises(lock.OutputLockedError, match=r"bench\.md\.lock is in use"):
            lock.acquire("bench", target)
    with lock.output_lock(_ns("bench", None)):
        pass
    assert list(tmp_path.iterdir()) == []


def test_only_process_0_of_a_multi_process_run_takes_the_lock(tmp_path, monkeypatch):
    fd, _ = lock.acquire("decay", tmp_path)
    try:
        monkeypatch.setenv("JAX_PROCESS_ID", "1")
        with lock.output_lock(_ns("decay", tmp_path)):  # would be refused as process 0
            pass
        monkeypatch.setenv("JAX_PROCESS_ID", "0")
        with pytest.raises(lock.OutputLockedError), lock.output_lock(_ns("decay", tmp_path)):
            pass
    finally:
        os.close(fd)


def test_racing_runs_get_the_lock_exactly_once(tmp_path):
    # Four processes wait for "go", then each tries once. The winner holds the lock until
    # "done", so every loser really raced a live holder.
    go, done, out = tmp_path / "go", tmp_path / "done", tmp_path / "out"
    code = (
        f"import os, sys, time; sys.path.insert(0, {str(ROOT)!r}); from analysis.runtime import lock\n"
        "print('ready', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"try:\n    lock.acquire('decay', {str(out)!r}); print('won', flush=True)\n"
        f"    while not os.path.exists({str(done)!r}): time.sleep(0.01)\n"
        "except lock.OutputLockedError as e:\n    print('lost', e, flush=True)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    try:
        assert [p.stdout.readline().strip() for p in procs] == ["ready"] * 4
        go.touch()
        said = [p.stdout.readline() for p in procs]
        assert sum(s.startswith("won") for s in said) == 1, said
        assert sum(s.startswith("lost") and " is in use by " in s for s in said) == 3, said
    finally:
        done.touch()
        for p in procs:
            p.communicate(timeout=60)


def test_unwritable_out_is_one_usage_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot be written"):
        lock.acquire("decay", blocker / "out")


def test_disk_full_in_the_body_becomes_one_line_and_other_os_errors_do_not(tmp_path):
    with pytest.raises(lock.OutputWriteError, match=r"cannot write .*r\.jsonl: No space left"):
        with lock.output_lock(_ns("decay", tmp_path)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "r.jsonl"))
    with pytest.raises(PermissionError), lock.output_lock(_ns("decay", tmp_path)):
        raise PermissionError(errno.EACCES, "denied")
