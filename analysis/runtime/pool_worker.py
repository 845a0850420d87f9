"""One sweep worker process: ``python -m analysis.runtime.pool_worker FD_IN FD_OUT [CPUS]``.

Started by `analysis.runtime.pool` with two pipe descriptors and, where it pins workers,
the comma-separated CPUs this worker may run on (`core_shares`; set before JAX starts, so
XLA:CPU sizes its thread pool to that share). Messages both ways are
pickles framed by an 8-byte big-endian length: first the parent's settings (a dict of JAX
config values), then tasks ``(task_id, payload)`` where payload is the pickle of
``(run_cell, config, seeds)`` (unpickled here, so an import error is an answer, not a dead
worker); each is answered by
``(task_id, True, result)`` or ``(task_id, False, exception)``. End of input ends the worker.

A plain interpreter running this module, not ``multiprocessing``'s spawn, so the parent's
main script is never imported again here (a user's script without an
``if __name__ == "__main__"`` guard would otherwise run itself once per worker). SIGINT is
ignored: on Ctrl-C the parent stops the workers itself, without a traceback from each.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import struct
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO

from analysis.runtime import configure_xla

__all__ = ["core_shares", "read_message", "serve", "write_message"]

_HEADER = struct.Struct(">Q")


def write_message(stream: BinaryIO, obj: Any) -> None:
    """Write one framed pickle and flush.

    Args:
        stream: a binary stream (a pipe).
        obj: any picklable object.
    """
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """Read one framed pickle.

    Args:
        stream: a binary stream (a pipe).

    Returns:
        the object; EOFError when the other end closed before a whole message.
    """
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("pool pipe closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("pool pipe closed mid-message")
    return pickle.loads(data)


def core_shares(workers: int, cores: Sequence[int] | None) -> list[tuple[int, ...] | None]:
    """Split `cores` into one disjoint, contiguous share per worker, or None each (no pinning).

    Two unpinned workers on 2 cores run each XLA:CPU intra-op pool across both cores, and
    their threads contend: 24.4-26.2 ms per training step each (T = 100, 8 seeds, B = 16),
    against 18.4-22.8 ms each with one core per worker (two rounds, both workers measured at
    once); the default report's training cells 772-826 against 913-928 cell-seconds, the
    report 627-670 against 719-720 s cold (BENCHMARKS.md, seventh session). The price: XLA
    compiles on several threads, and a training cell alone on one core compiled in 21.7-24.0 s
    against 15.3-15.6 s on two; where both workers are busy (the report) its compile time did
    not grow (261-287 against 282-298 cell-seconds). Not pinned when there are more workers than cores, or no
    affinity mask to read (macOS).

    Args:
        workers: the number of worker processes (>= 1).
        cores: the CPUs this process may run on (``os.sched_getaffinity(0)``), or None.

    Returns:
        per worker, a tuple of CPU ids (shares differ in size by at most one), or None.
    """
    if not cores or workers > len(cores):
        return [None] * workers
    ordered = sorted(cores)
    n = len(ordered)
    return [tuple(ordered[k * n // workers : (k + 1) * n // workers]) for k in range(workers)]


def _answer(task: tuple) -> tuple:
    task_id, payload = task
    try:
        run_cell, config, seeds = pickle.loads(payload)
        return (task_id, True, run_cell(config, seeds))
    except Exception as err:  # sent to the parent, which raises it
        try:
            pickle.dumps(err)
        except Exception:
            err = RuntimeError(f"{type(err).__name__}: {err}")
        return (task_id, False, err)


def serve(fd_in: int, fd_out: int, cpus: Sequence[int] = ()) -> None:
    """Answer tasks until the parent closes the input pipe.

    Args:
        fd_in: the descriptor tasks arrive on; fd_out: where answers go.
        cpus: run on these CPUs only (before JAX creates its backend); () = any.
    """
    if cpus:
        os.sched_setaffinity(0, cpus)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: every thread's stack on stderr
    with os.fdopen(fd_in, "rb") as inp, os.fdopen(fd_out, "wb") as out:
        settings = read_message(inp)
        os.environ["ACTGRAD_PROGRESS"] = "0"  # the parent shows one bar over cells
        configure_xla()  # before JAX starts here; the parent's own flags are kept
        import jax

        for name, value in settings.items():
            if value is not None:
                jax.config.update(name, value)
        while True:
            try:
                task = read_message(inp)
            except EOFError:
                return
            write_message(out, _answer(task))


if __name__ == "__main__":
    shares = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else []
    serve(int(sys.argv[1]), int(sys.argv[2]), [int(c) for c in shares])
