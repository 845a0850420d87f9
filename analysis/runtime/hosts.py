"""Multi-process runs: ``jax.distributed`` from environment variables, and losing a peer.

``initialize_distributed`` calls ``jax.distributed.initialize`` when these environment
variables are set (all three, or none):

- ``JAX_COORDINATOR_ADDRESS``: ``host:port`` of process 0, reachable from every host;
- ``JAX_NUM_PROCESSES``: the number of processes (one per host, usually);
- ``JAX_PROCESS_ID``: this process's index, 0 .. JAX_NUM_PROCESSES - 1.

Every process runs the same command; process 0 alone reads and writes ``OUT`` and
broadcasts which cells are finished (``broadcast_json``), so ``OUT`` need not be on a shared
filesystem. On CPU the processes' collectives go through gloo (JAX's default CPU
collectives; ``JAX_CPU_COLLECTIVES_IMPLEMENTATION`` chooses another).

A lost peer. When another process dies, the next collective here fails at once (its TCP
peer is gone) with a ``JaxRuntimeError``; ``peer_guard`` turns that into one stderr line and
exit code ``EXIT_PEER_LOST``. Between collectives (a long compile, the plots) a watchdog
thread notices instead: every process writes a heartbeat into the coordinator's key-value
store each ``HEARTBEAT_S`` and a peer silent for ``PEER_SILENCE_S`` is taken as dead (JAX's
own heartbeat timeout is 100 s and then aborts with a C++ stack trace). The thread can beat
while the main thread compiles or waits in a collective: both release the GIL. A process
that ends normally marks itself done first, so a slower peer never mistakes it for dead.
Both ways out use ``os._exit``: a normal exit would run JAX's shutdown, which waits on a
barrier the dead process never reaches. Nothing is lost by skipping it: every finished cell
is already fsynced.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from analysis.util.errors import UsageError

__all__ = [
    "ENV_COORDINATOR",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "EXIT_PEER_LOST",
    "HEARTBEAT_S",
    "PEER_SILENCE_S",
    "broadcast_json",
    "initialize_distributed",
    "peer_guard",
    "process_count",
    "process_index",
]

ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
EXIT_PEER_LOST = 3
HEARTBEAT_S = 1.0
# Silence after which a peer is taken as dead: far above any stall of a Python thread on a
# loaded machine, and well inside the 60 s a user waits before calling a run hung.
# ACTGRAD_PEER_SILENCE_S overrides it (tests use a few seconds).
PEER_SILENCE_S = 20.0
ENV_PEER_SILENCE = "ACTGRAD_PEER_SILENCE_S"
_BEATS = "actgrad/heartbeat/"
_DONE = "done"


def _jax_if_loaded() -> Any:
    # Plain sweeps (and the store's tests) never need jax; a multi-process run has it loaded.
    return sys.modules.get("jax")


def process_index() -> int:
    """This process's index in a multi-process run (0 when jax is not loaded)."""
    jax = _jax_if_loaded()
    return 0 if jax is None else jax.process_index()


def process_count() -> int:
    """The number of processes of this run (1 when jax is not loaded)."""
    jax = _jax_if_loaded()
    return 1 if jax is None else jax.process_count()


def _env_settings() -> tuple[str, int, int] | None:
    names = (ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID)
    present = [n for n in names if os.environ.get(n)]
    if not present:
        return None
    if len(present) != len(names):
        missing = ", ".join(n for n in names if n not in present)
        raise UsageError(f"multi-host run: {', '.join(present)} set but {missing} missing")
    try:
        num = int(os.environ[ENV_NUM_PROCESSES])
        pid = int(os.environ[ENV_PROCESS_ID])
    except ValueError:
        raise UsageError(f"{ENV_NUM_PROCESSES} and {ENV_PROCESS_ID} must be integers") from None
    if num < 1 or not 0 <= pid < num:
        raise UsageError(f"{ENV_PROCESS_ID}={pid} must lie in 0..{ENV_NUM_PROCESSES}-1={num - 1}")
    return os.environ[ENV_COORDINATOR], num, pid


def initialize_distributed() -> bool:
    """``jax.distributed.initialize`` from the environment variables, when they are set.

    Returns:
        True if this is a multi-process run (initialised now or before), False otherwise.
    Raises:
        UsageError: only some of the variables are set, or they are not valid integers.
    """
    settings = _env_settings()
    if settings is None:
        return False
    import jax
    from jax._src import distributed

    if distributed.global_state.client is not None:
        return True
    address, num, pid = settings
    jax.distributed.initialize(coordinator_address=address, num_processes=num, process_id=pid)
    _start_watchdog(distributed.global_state.client, pid, num)
    return True


def _lost(detail: str, me: int, n: int) -> None:
    """One line on stderr, then exit ``EXIT_PEER_LOST`` at once (see the module docstring).

    ``me`` and ``n`` come from the caller: asking jax here could start its backend, which in
    a multi-process run waits for every process, the dead one too.
    """
    print(
        f"actgrad: process {me} of {n}: {detail}; finished cells "
        f"are stored, rerun the same command on every process to resume",
        file=sys.stderr,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_PEER_LOST)


def _silence_s() -> float:
    try:
        value = float(os.environ.get(ENV_PEER_SILENCE, PEER_SILENCE_S))
    except ValueError:
        return PEER_SILENCE_S
    return value if 0 < value < float("inf") else PEER_SILENCE_S


def _watch(client: Any, me: int, n: int, stop: threading.Event) -> None:
    silence = _silence_s()
    last = {p: time.monotonic() for p in range(n) if p != me}
    seen: dict[int, str] = {}
    beat = 0
    while not stop.is_set():
        beat += 1
        try:
            client.key_value_set(f"{_BEATS}{me}", str(beat), allow_overwrite=True)
            beats = {k.rsplit("/", 1)[-1]: v for k, v in client.key_value_dir_get(_BEATS)}
        except Exception as err:  # the coordinator (process 0) is gone
            if not stop.is_set():
                detail = " ".join(str(err).split())[:160]
                _lost(f"the coordinator cannot be reached ({detail})", me, n)
            return
        now = time.monotonic()
        for p in list(last):
            value = beats.get(str(p))
            if value == _DONE:
                del last[p]
            elif value is not None and value != seen.get(p):
                seen[p], last[p] = value, now
            elif now - last[p] > silence:
                _lost(
                    f"process {p} has sent no heartbeat for {silence:g} s and is taken as stopped",
                    me,
                    n,
                )
        stop.wait(HEARTBEAT_S)


def _start_watchdog(client: Any, me: int, n: int) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=_watch, args=(client, me, n, stop), daemon=True)

    def finish() -> None:
        # Registered after jax.distributed.initialize, so it runs before JAX's shutdown.
        stop.set()
        thread.join(timeout=5 * HEARTBEAT_S)
        with contextlib.suppress(Exception):
            client.key_value_set(f"{_BEATS}{me}", _DONE, allow_overwrite=True)

    thread.start()
    atexit.register(finish)


def broadcast_json(obj: Any) -> Any:
    """Process 0's ``obj`` on every process (as JSON bytes: length first, then the bytes).

    Args:
        obj: a JSON-able value (only process 0's is used).
    Returns:
        Process 0's value, decoded, on every process.
    """
    import numpy as np
    from jax.experimental import multihost_utils

    data = np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8)
    size = multihost_utils.broadcast_one_to_all(np.asarray([data.size], dtype=np.int32))
    buf = data if process_index() == 0 else np.zeros(int(np.asarray(size)[0]), np.uint8)
    out = multihost_utils.broadcast_one_to_all(buf)
    return json.loads(np.asarray(out, dtype=np.uint8).tobytes().decode("utf-8"))


def _is_runtime_failure(err: BaseException) -> bool:
    jax = _jax_if_loaded()
    return jax is not None and isinstance(err, jax.errors.JaxRuntimeError)


@contextlib.contextmanager
def peer_guard() -> Iterator[None]:
    """In a multi-process run, a failed XLA program ends this process with one line.

    A ``JaxRuntimeError`` raised in the body (a collective whose peer died, or a program
    that failed on this process, which the peers then see as a lost peer) prints one line
    and exits with ``EXIT_PEER_LOST`` at once; see the module docstring for why it is
    ``os._exit``. In a one-process run the error propagates unchanged.
    """
    try:
        yield
    except Exception as err:
        if process_count() <= 1 or not _is_runtime_failure(err):
            raise
        detail = " ".join(str(err).split())[:240]
        _lost(
            f"a multi-process step failed, another process has probably stopped ({detail})",
            process_index(),
            process_count(),
        )
