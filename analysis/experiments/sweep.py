"""Sweeps: a ``--compare`` grid of cells x seeds, resumable results, all devices, all hosts.

``run`` walks the cells of a grid (``grid.parse_compare`` then ``grid.expand_grid``) with a
progress bar, skips cells already in ``OUT/results.jsonl`` and appends one whole JSON line
per finished cell (``store.ResultsStore``; the line format, resume and schema rules are
there). The seeds of a cell run together, sharded over every device (``sharding``); in a
multi-process run (``hosts``) every process runs the same command, process 0 alone reads and
writes ``OUT``, and a lost peer ends each survivor with one line.

This module is also the facade: the names other code uses as ``sweep.X`` are re-exported
from the modules of one idea each (``grid``, ``store``, ``sharding``, ``hosts``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from analysis.experiments.grid import (
    expand_grid,
    group_cells,
    parse_compare,
    stack_cells,
    unstack_cells,
)
from analysis.experiments.store import (
    RESULTS_FILE,
    RESULTS_SCHEMA,
    ResultsFileError,
    ResultsStore,
    SchemaMismatchError,
    cell_key,
)
from analysis.runtime import hosts, pool
from analysis.runtime.hosts import (
    ENV_COORDINATOR,
    ENV_NUM_PROCESSES,
    ENV_PROCESS_ID,
    EXIT_PEER_LOST,
    initialize_distributed,
)
from analysis.runtime.sharding import (
    MESH_AXIS,
    map_batch,
    map_seeds,
    mesh,
    seed_keys,
)
from analysis.util import io
from analysis.util.constants import DEFAULT_COMPILE_WORKERS
from analysis.util.errors import UsageError
from analysis.util.progress import progress

__all__ = [
    "DEFAULT_COMPILE_WORKERS",
    "ENV_COORDINATOR",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "EXIT_PEER_LOST",
    "MESH_AXIS",
    "RESULTS_FILE",
    "RESULTS_SCHEMA",
    "ResultsFileError",
    "ResultsStore",
    "SchemaMismatchError",
    "cell_key",
    "expand_grid",
    "group_cells",
    "initialize_distributed",
    "map_batch",
    "map_seeds",
    "mesh",
    "parse_compare",
    "run",
    "seed_keys",
    "stack_cells",
    "unstack_cells",
    "write_summary",
]
RunCell = Callable[[Mapping, Sequence[int]], Mapping]
# finish(config, key, result) -> the cells it makes due (key -> config), or None
Finish = Callable[[Mapping, str, Mapping], "Mapping[str, Mapping] | None"]
Follow = Callable[[Mapping], Sequence[Mapping]]


def _stored_records(
    store: ResultsStore, keys: list[str], seeds: list[int], desc: str, everything: bool = False
) -> dict[str, dict]:
    """The stored records of these cells (every stored record if `everything`: a sweep with
    follow-ups may want any of them), on every process (process 0's); seeds checked."""
    stored = store.load() if hosts.process_index() == 0 else {}
    wanted = set(keys)
    if not everything:
        stored = {k: v for k, v in stored.items() if k in wanted}
    if hosts.process_count() > 1:
        # Every process must skip the same cells (they compute each cell together).
        with hosts.peer_guard():
            stored = hosts.broadcast_json(stored)
    for key, rec in stored.items():
        if [int(s) for s in rec["seeds"]] != seeds:
            raise UsageError(
                f"{store.path} holds cell {key} with seeds {rec['seeds']}, not {seeds}; "
                f"use another --out or the same seeds"
            )
    if stored and hosts.process_index() == 0:
        have = len(wanted & set(stored))
        more = f" (and {len(stored) - have} others)" if everything else ""
        print(
            f"{desc}: resuming {store.path}: {have} of {len(wanted)} cells stored{more}, "
            f"running {len(wanted) - have}",
            file=sys.stderr,
        )
    return stored


def _run_threaded(
    todo: dict[str, Mapping],
    seeds: list[int],
    run_cell: RunCell,
    workers: int,
    finish: Finish,
    bar: Any,
) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_cell, c, seeds): (k, c) for k, c in todo.items()}
        running = set(futures)
        try:
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key, config = futures[fut]
                    for k, c in (finish(config, key, fut.result()) or {}).items():
                        new = pool.submit(run_cell, c, seeds)
                        futures[new] = (k, c)
                        running.add(new)
                    bar.update(1)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _execute(todo, seeds, run_cell, workers, processes, finish, bar) -> None:
    """The cells in worker processes, threads, or one after another (`run`'s rules)."""
    if processes is None:
        processes = pool.default_processes()
    if pool.usable(run_cell, processes, len(todo)):
        pool.run_cells(todo, seeds, run_cell, processes, finish, lambda: bar.update(1))
    elif workers <= 1 or hosts.process_count() > 1 or len(todo) <= 1:
        queue = dict(todo)
        with hosts.peer_guard():
            while queue:
                key = next(iter(queue))
                config = queue.pop(key)
                queue.update(finish(config, key, run_cell(config, seeds)) or {})
                bar.update(1)
    else:
        _run_threaded(todo, seeds, run_cell, workers, finish, bar)


def run(
    cells: Sequence[Mapping],
    seeds: Sequence[int],
    run_cell: RunCell,
    out_dir: str | os.PathLike,
    desc: str = "cells",
    workers: int = DEFAULT_COMPILE_WORKERS,
    processes: int | None = None,
    follow: Follow | None = None,
) -> list[dict]:
    """Run every cell not yet stored, appending each record; return all records, grid order.

    A cell already stored is not recomputed; one stored with other seeds is refused
    (UsageError) before any work. In a multi-process run every process computes each cell
    (they share its devices) and only process 0 reads and writes ``out_dir``.

    ``processes > 1`` (default: `pool.default_processes`, 2 on 2 or more cores) runs cells
    in worker processes (`pool`: a cell is compute-bound on one core) where that is safe and
    possible (CPU, one host, two or more cells, a picklable ``run_cell``); otherwise
    ``workers > 1`` threads (XLA compiles with the GIL released). Records are appended as
    cells finish; a multi-process run uses one worker (every process issues the same
    programs in order). ``follow(record)`` (pure) names the cells a record makes worth
    running (e.g. the next length once a seed solved); they are queued as soon as it exists,
    stored or just run, and their records follow the grid's, breadth first.

    Args:
        cells: the grid's cells (configs), each a mapping of JSON-able fields.
        seeds: the seeds every cell runs with.
        run_cell: ``run_cell(config, seeds) -> result``, a JSON-able mapping.
        out_dir: where ``results.jsonl`` lives.
        desc: the progress bar's label.
        workers: cells run at once (``DEFAULT_COMPILE_WORKERS`` by default).
        processes: worker processes (None: `pool.default_processes`; 1: none).
        follow: ``follow(record) -> cells`` run after that record's cell, or None.
    Returns:
        One record per cell (``store.ResultsStore.record``'s form), grid order, then the
        follow-ups.
    """
    seeds = [int(s) for s in seeds]
    store = ResultsStore(out_dir)
    writer = hosts.process_index() == 0
    keys = [cell_key(c) for c in cells]
    stored = _stored_records(store, keys, seeds, desc, everything=follow is not None)
    ledger = _Ledger(stored, follow, cells, keys)

    def finish(config: Mapping, key: str, result: Mapping) -> dict[str, Mapping]:
        # Only this (the calling) thread appends, so lines are never interleaved.
        if writer:
            more = ledger.take(key, store.append(config, seeds, result))
        else:
            more = ledger.take(key, store.record(config, seeds, result))
        bar.total += len(more)
        bar.refresh()
        return more

    n_stored, todo = len(ledger.records), dict(ledger.queued)
    with progress(total=n_stored + len(todo), initial=n_stored, desc=desc, unit="cell") as bar:
        _execute(todo, seeds, run_cell, workers, processes, finish, bar)
    return [ledger.records[k] for k in ledger.order(keys)]


class _Ledger:
    """A sweep's records by key, the follow-ups each record named, and every cell queued."""

    def __init__(
        self,
        stored: Mapping[str, dict],
        follow: Follow | None,
        cells: Sequence[Mapping],
        keys: Sequence[str],
    ) -> None:
        """Queue the grid's cells not stored; take the stored ones (and their follow-ups)."""
        self.stored, self.follow = stored, follow
        self.records: dict[str, dict] = {}
        self.children: dict[str, list[str]] = {}
        self.queued = {k: c for c, k in zip(cells, keys, strict=True) if k not in stored}
        for k in dict.fromkeys(keys):
            if k in stored:
                self.take(k, stored[k])

    def take(self, key: str, record: dict) -> dict[str, Mapping]:
        """Keep `record`; return its follow-ups to run (neither stored nor queued yet), the
        stored ones taken in turn."""
        self.records[key] = record
        new: dict[str, Mapping] = {}
        for config in self.follow(record) if self.follow is not None else ():
            k = cell_key(config)
            self.children.setdefault(key, []).append(k)
            if k in self.records or k in self.queued or k in new:
                continue
            if k in self.stored:
                new.update(self.take(k, self.stored[k]))
            else:
                new[k] = config
        self.queued.update(new)
        return new

    def order(self, keys: Sequence[str]) -> list[str]:
        """The grid's keys, then the follow-ups breadth first (each once, as first named)."""
        order, seen = list(keys), set(keys)
        i = 0
        while i < len(order):
            for k in self.children.get(order[i], ()):
                if k not in seen:
                    seen.add(k)
                    order.append(k)
            i += 1
        return order


def write_summary(out_dir: str | os.PathLike, name: str, obj: Any) -> Path:
    """Write ``OUT/NAME.json`` atomically (temporary file, then rename); process 0 only.

    Args:
        out_dir: the output folder.
        name: the file's stem (``.json`` is added if missing).
        obj: the summary, JSON-able; ``"schema"`` and ``"actgrad"`` are added.
    Returns:
        The path (also on processes that write nothing).
    """
    path = Path(out_dir) / (name if name.endswith(".json") else f"{name}.json")
    if hosts.process_index() == 0:
        io.atomic_write_json(path, obj)
    return path
