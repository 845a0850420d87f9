"""Sweep cells in worker processes: one XLA:CPU runtime per core.

A training or decay cell at the report's shapes is compute-bound on one core: 8 seeds
vmapped take 8.6x one seed's time (T = 100, B = 16, H = 32: 2.0 ms per step for one seed,
17.3 ms for eight), so batching more rows into one program buys nothing, while two
processes on this 2-core machine each kept 18.4 ms per step (against 17.2 ms alone): 1.9x
the throughput. Each worker runs on its own share of the cores (`pool_worker.core_shares`):
two unpinned XLA:CPU thread pools contend (the report's training cells took 1.12-1.18x
the cell-seconds). Threads cannot do the same: two XLA:CPU programs executing at once in one
process can starve each other's intra-op pool and hang (`sharding.map_batch` executes one
program at a time for that reason). So `run_cells` sends whole cells to worker processes
(`pool_worker`: plain interpreters on two pipes, so a user's main script is never
re-imported), each with its own runtime, and the caller (`sweep.run`) appends their records to
the store as they finish, in one thread, as before.

Used only where it can pay and is safe: the CPU backend, a single-process run (a
multi-process run computes every cell together on all hosts), at least two cells to run, and
a ``run_cell`` that pickles by reference from an importable module (a module-level
function or a ``functools.partial`` of one; not one defined in ``__main__``). The
number of processes is ``$ACTGRAD_PROCESSES`` if set (1 turns the pool off), else
``min(2, os.cpu_count())``. Workers inherit the environment and get the parent's JAX
settings (x64, the persistent compilation cache), so a program compiled by one process is
loaded from disk by the other, and their progress bars are silenced (the parent shows one
bar over cells).
"""

from __future__ import annotations

import atexit
import functools
import os
import pickle
import selectors
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analysis.runtime.pool_worker import core_shares, read_message, write_message

__all__ = ["ENV_PROCESSES", "default_processes", "map_cells", "run_cells", "shutdown", "usable"]

ENV_PROCESSES = "ACTGRAD_PROCESSES"
# JAX settings a worker must share with its parent for its numbers to be the same.
_JAX_SETTINGS = (
    "jax_enable_x64",
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
    "jax_platforms",
)


def default_processes() -> int:
    """How many worker processes a sweep uses by default.

    Returns:
        ``$ACTGRAD_PROCESSES`` (an integer >= 1) if set, else min(2, os.cpu_count()).
        ValueError (one line) if the variable is not a positive integer.
    """
    text = os.environ.get(ENV_PROCESSES)
    if text is None or not text.strip():
        return max(1, min(2, os.cpu_count() or 1))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV_PROCESSES} must be a positive integer, got {text!r}")
    return value


def _in_main(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__module__", None) == "__main__"


def usable(run_cell: Callable[..., Any], processes: int, n_cells: int) -> bool:
    """Whether `run_cells` may run these cells (module docstring's conditions).

    Args:
        run_cell: the sweep's ``run_cell(config, seeds) -> result``.
        processes: the requested number of worker processes.
        n_cells: cells left to run.

    Returns:
        True when processes > 1, n_cells > 1, the backend is CPU in a single-process run and
        ``run_cell`` pickles from an importable module.
    """
    if processes <= 1 or n_cells <= 1 or _in_main(run_cell):
        return False
    import jax

    if jax.process_count() > 1 or jax.default_backend() != "cpu":
        return False
    try:
        pickle.dumps(run_cell)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    return True


class _Worker:
    """One `pool_worker` process and its two pipes."""

    def __init__(self, settings: Mapping[str, Any], cpus: tuple[int, ...] | None) -> None:
        task_r, task_w = os.pipe()
        answer_r, answer_w = os.pipe()
        # The worker imports whatever this process can: the same sys.path.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        args = [str(task_r), str(answer_w), ",".join(map(str, cpus or ()))]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.runtime.pool_worker", *args],
            pass_fds=(task_r, answer_w),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        os.close(task_r)
        os.close(answer_w)
        self.tasks = os.fdopen(task_w, "wb")
        self.answers = os.fdopen(answer_r, "rb")
        write_message(self.tasks, dict(settings))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, kill: bool = False) -> None:
        for stream in (self.tasks, self.answers):
            try:
                stream.close()
            except OSError:
                pass
        if kill:
            self.proc.kill()
        try:
            self.proc.wait(timeout=None if kill else 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_POOL: dict[str, Any] = {"workers": [], "signature": None}


def _settings() -> dict[str, Any]:
    import jax

    return {name: getattr(jax.config, name) for name in _JAX_SETTINGS}


def _workers(processes: int) -> list[_Worker]:
    """The shared workers, reused across sweeps while the JAX settings and the plan of cores
    (one share per worker of the pool's full size) stay the same."""
    settings = _settings()
    size = max(processes, default_processes())
    signature = repr((sorted(settings.items()), size))
    if _POOL["signature"] != signature or not all(w.alive() for w in _POOL["workers"]):
        _shutdown()
    workers = _POOL["workers"]
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    shares = core_shares(size, cores)
    while len(workers) < processes:
        workers.append(_Worker(settings, shares[len(workers)]))
    _POOL["signature"] = signature
    return workers[:processes]


def _shutdown(kill: bool = False) -> None:
    workers, _POOL["workers"], _POOL["signature"] = _POOL["workers"], [], None
    for w in workers:
        w.close(kill=kill)


atexit.register(_shutdown)


def shutdown(kill: bool = False) -> None:
    """End the shared workers (the next sweep starts fresh ones).

    Args:
        kill: stop them at once, even mid-cell (an interrupt), instead of letting them finish.
    """
    _shutdown(kill=kill)


def run_cells(
    todo: Mapping[str, Mapping],
    seeds: Sequence[int],
    run_cell: Callable[[Mapping, Sequence[int]], Mapping],
    processes: int,
    finish: Callable[[Mapping, str, Mapping], Mapping[str, Mapping] | None],
    advance: Callable[[], None],
) -> None:
    """Run ``run_cell(config, seeds)`` for every cell in `processes` worker processes.

    Cells go out in order, one per idle worker; ``finish(config, key, result)`` is called in
    this thread as each one completes (so records are appended by one writer), then
    ``advance()``. The cells `finish` returns (key -> config) go to the front of the queue: a
    cell that depends on another's result starts as soon as a worker is free, not after a
    whole round, and a chain (T = 100, then 200, then 400) is not left for last (the
    report's training stage, scheduled by hand from its cells' times: 523 s with
    follow-ups first, 554 s last, 568 s in rounds). On an error (raised by a cell, or a
    worker that died) no further cell is started, the cells finished stay recorded, and the
    error is raised here; on an interrupt the workers are stopped at once.

    Args:
        todo: cell key -> config, in grid order.
        seeds: the seeds every cell runs with.
        run_cell: a picklable ``run_cell(config, seeds) -> JSON-able mapping``.
        processes: workers (> 1).
        finish: called with (config, key, result) per finished cell; returns more cells or
            None.
        advance: called after each finished cell (the progress bar).
    """
    queue = dict(todo)
    try:
        _schedule(_workers(min(processes, len(queue))), queue, run_cell, seeds, finish, advance)
    except BaseException:
        _shutdown(kill=True)  # a worker may still be busy with a cell nobody will read
        raise


def map_cells(
    todo: Mapping[str, Mapping], run_cell: Callable[[Mapping, Sequence[int]], Mapping]
) -> dict[str, Mapping]:
    """``run_cell(cell, [])`` for every cell: in the worker processes when `usable`, else here.

    Args:
        todo: key -> cell, in the order they are handed out (here: run in this order).
        run_cell: a picklable ``run_cell(cell, seeds) -> mapping``.

    Returns:
        key -> result, in `todo`'s order whatever order the workers finished in.
    """
    processes = default_processes()
    if not usable(run_cell, processes, len(todo)):
        return {key: run_cell(cell, []) for key, cell in todo.items()}
    done: dict[str, Mapping] = {}
    run_cells(todo, [], run_cell, processes, lambda c, k, r: done.__setitem__(k, r), lambda: None)
    return {key: done[key] for key in todo}


def _schedule(workers, queue, run_cell, seeds, finish, advance) -> None:
    """Hand out cells to idle workers and collect answers until every cell (those `finish`
    adds to `queue` included) is done."""
    keys = list(queue)
    pending = list(range(len(keys)))
    busy: dict[_Worker, int] = {}
    with selectors.DefaultSelector() as sel:
        while pending or busy:
            for w in workers:
                if pending and w not in busy:
                    i = pending.pop(0)
                    payload = pickle.dumps((run_cell, dict(queue[keys[i]]), list(seeds)))
                    write_message(w.tasks, (i, payload))
                    busy[w] = i
                    sel.register(w.answers, selectors.EVENT_READ, w)
            for event, _ in sel.select():
                w = event.data
                sel.unregister(w.answers)
                del busy[w]
                try:
                    i, ok, value = read_message(w.answers)
                except EOFError:
                    raise RuntimeError(
                        f"a sweep worker process died (exit code {w.proc.wait()}: killed for "
                        f"memory, or crashed); cells finished before it are stored, rerun to "
                        f"resume"
                    ) from None
                if not ok:
                    raise value
                more = finish(queue[keys[i]], keys[i], value) or {}
                queue.update(more)
                keys += list(more)
                pending[:0] = range(len(keys) - len(more), len(keys))
                advance()
