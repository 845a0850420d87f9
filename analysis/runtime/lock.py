"""One actgrad run per output folder: a lock file in ``--out``, and disk-full as one line.

``output_lock(args)`` wraps a command's ``run(args)`` (see ``analysis.cli.app``). For a
command whose ``--out`` is a folder it holds ``OUT/.actgrad.lock``; for one whose ``--out``
is a file (``bench``) it holds ``FILE.lock`` beside it. The exclusion itself is a
``fcntl.flock`` on that file: the kernel drops it when its holder dies, however it dies
(SIGKILL included), so a lock left by a killed run is never honoured. The file also holds
the holder's pid, host, command and start time, which a second run names when it refuses
(``OutputLockedError``: exit 2, one line), and which tells a run that takes over a dead
run's lock whose it was (one warning line).

In a multi-process run only process 0 (``JAX_PROCESS_ID`` unset or 0) writes ``--out``, so
only it takes the lock; the others would otherwise refuse their own run.

A write that fails because the disk is full (or the quota spent) becomes one line naming
the file and what to do (``OutputWriteError``) instead of a traceback: the stores append
whole lines and write files atomically, so what is on disk stays valid and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.util.errors import UsageError

__all__ = [
    "LOCK_NAME",
    "OutputLockedError",
    "OutputWriteError",
    "acquire",
    "lock_path",
    "output_lock",
]

LOCK_NAME = ".actgrad.lock"
# Commands whose --out is one file rather than a folder.
FILE_OUT_COMMANDS = frozenset({"bench"})
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutputLockedError(UsageError):
    """Another live actgrad run holds the lock of this ``--out`` (exit 2, one line)."""


class OutputWriteError(UsageError):
    """A result could not be written: the disk is full or the quota spent (one line)."""


def lock_path(command: str, out: str | os.PathLike) -> Path:
    """The lock file of ``out``: ``OUT/.actgrad.lock``, or ``FILE.lock`` for a file output.

    Args:
        command: the subcommand's name, e.g. ``"decay"``.
        out: the value of its ``--out``.
    Returns:
        The path of the lock file.
    """
    out = Path(out)
    if command in FILE_OUT_COMMANDS:
        return out.with_name(out.name + ".lock")
    return out / LOCK_NAME


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is someone else's
    return True


def _read_holder(fd: int) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "?")
    what = holder.get("command", "actgrad")
    host = holder.get("host", "?")
    since = holder.get("started", "?")
    return f"pid {pid} on {host}: actgrad {what}, started {since}"


def _open_locked(path: Path, command: str) -> int:
    """Open ``path`` and take its flock; OutputLockedError naming the holder if it is held."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLockedError(
                f"{path.parent if command not in FILE_OUT_COMMANDS else path} is in use by "
                f"another run ({_describe(holder)}); wait for it or use another --out"
            ) from None
        # The holder we waited on may have unlinked the file between our open and flock:
        # then we hold a lock on a file nobody else will ever open. Start again.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def acquire(command: str, out: str | os.PathLike) -> tuple[int, Path]:
    """Take the lock of ``out`` for ``command``; takes over a lock whose holder is dead.

    Args:
        command: the subcommand's name (recorded in the lock file).
        out: the ``--out`` value; a folder is created if needed.
    Returns:
        ``(fd, path)``: the open, flocked lock file (keep it open) and its path.
    Raises:
        OutputLockedError: a live run holds it (the message names its pid).
        UsageError: the lock file cannot be created (the message says why).
    """
    path = lock_path(command, out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_locked(path, command)
    except OutputLockedError:
        raise
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UsageError(f"--out {str(out)!r} cannot be written: {reason}") from None
    old = _read_holder(fd)
    pid = old.get("pid")
    if isinstance(pid, int) and pid != os.getpid():
        state = "dead" if not _pid_alive(pid) else "alive, but no longer holding it"
        print(
            f"actgrad {command}: taking over a stale lock {path} ({_describe(old)}; {state})",
            file=sys.stderr,
        )
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode("utf-8"), 0)
    return fd, path


def _release(fd: int, path: Path, made: list[Path]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # unlinked while still held, so no one locks a file being removed
    os.close(fd)
    for folder in made:  # folders this run created and left empty (a refused run)
        with contextlib.suppress(OSError):
            folder.rmdir()


def _missing_parents(path: Path) -> list[Path]:
    made = []
    for folder in (path, *path.parents):
        try:
            os.stat(folder)
        except FileNotFoundError:
            made.append(folder)
            continue
        except OSError:
            return []  # a name too long, a file as a folder: acquire says why, in one line
        break
    return made


def _is_writer() -> bool:
    return os.environ.get("JAX_PROCESS_ID", "").strip() in ("", "0")


@contextlib.contextmanager
def output_lock(args: Any) -> Iterator[None]:
    """Hold the lock of ``args.out`` (if the command has one) while the body runs.

    Also turns a disk-full ``OSError`` raised in the body into ``OutputWriteError``.

    Args:
        args: the parsed ``argparse.Namespace``; ``args.command`` names the subcommand and
            ``args.out`` (absent or None: nothing to lock) its output.
    """
    out = getattr(args, "out", None)
    held = None
    made: list[Path] = []
    if out is not None and _is_writer():
        made = _missing_parents(lock_path(args.command, out).parent)
        held = acquire(args.command, out)
    try:
        yield
    except OSError as err:
        if err.errno not in _DISK_FULL:
            raise
        where = f" {err.filename}" if err.filename else ""
        raise OutputWriteError(
            f"cannot write{where}: {os.strerror(err.errno)}; the results already written "
            f"are intact, free some space and rerun the same command to resume"
        ) from None
    finally:
        if held is not None:
            _release(*held, made)
