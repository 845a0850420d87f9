"""One sweep worker process: ``python -m analysis.experiments.pool_worker FD_IN FD_OUT``.

Started by `analysis.experiments.pool` with two pipe descriptors. Messages both ways are
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
from typing import Any, BinaryIO

__all__ = ["read_message", "serve", "write_message"]

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


def serve(fd_in: int, fd_out: int) -> None:
    """Answer tasks until the parent closes the input pipe.

    Args:
        fd_in: the descriptor tasks arrive on; fd_out: where answers go.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: every thread's stack on stderr
    with os.fdopen(fd_in, "rb") as inp, os.fdopen(fd_out, "wb") as out:
        settings = read_message(inp)
        os.environ["ACTGRAD_PROGRESS"] = "0"  # the parent shows one bar over cells
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
    serve(int(sys.argv[1]), int(sys.argv[2]))
