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
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from analysis._util import io
from analysis._util.constants import DEFAULT_COMPILE_WORKERS
from analysis._util.errors import UsageError
from analysis._util.progress import progress
from analysis.experiments import hosts, pool
from analysis.experiments.grid import (
    expand_grid,
    group_cells,
    parse_compare,
    stack_cells,
    unstack_cells,
)
from analysis.experiments.hosts import (
    ENV_COORDINATOR,
    ENV_NUM_PROCESSES,
    ENV_PROCESS_ID,
    EXIT_PEER_LOST,
    initialize_distributed,
)
from analysis.experiments.sharding import (
    MESH_AXIS,
    map_batch,
    map_seeds,
    mesh,
    seed_keys,
)
from analysis.experiments.store import (
    RESULTS_FILE,
    RESULTS_SCHEMA,
    ResultsFileError,
    ResultsStore,
    SchemaMismatchError,
    cell_key,
)

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


def _stored_records(
    store: ResultsStore, keys: list[str], seeds: list[int], desc: str
) -> dict[str, dict]:
    """The stored records of these cells (process 0's, on every process); seeds checked."""
    stored = store.load() if hosts.process_index() == 0 else {}
    wanted = set(keys)
    stored = {k: v for k, v in stored.items() if k in wanted}
    if hosts.process_count() > 1:
        # Every process must skip the same cells (they compute each cell together).
        with hosts.peer_guard():
            stored = hosts.broadcast_json(stored)
    for key in dict.fromkeys(keys):
        rec = stored.get(key)
        if rec is not None and [int(s) for s in rec["seeds"]] != seeds:
            raise UsageError(
                f"{store.path} holds cell {key} with seeds {rec['seeds']}, not {seeds}; "
                f"use another --out or the same seeds"
            )
    if stored and hosts.process_index() == 0:
        print(
            f"{desc}: resuming {store.path}: {len(stored)} of {len(wanted)} cells stored, "
            f"running {len(wanted) - len(stored)}",
            file=sys.stderr,
        )
    return stored


def _run_threaded(
    todo: dict[str, Mapping],
    seeds: list[int],
    run_cell: RunCell,
    workers: int,
    finish: Callable[[Mapping, str, Mapping], None],
    bar: Any,
) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_cell, c, seeds): k for k, c in todo.items()}
        try:
            for fut in as_completed(futures):
                key = futures[fut]
                finish(todo[key], key, fut.result())
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
        with hosts.peer_guard():
            for key, config in todo.items():
                finish(config, key, run_cell(config, seeds))
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
) -> list[dict]:
    """Run every cell not yet stored, appending each record; return all records in grid order.

    A cell already stored is not recomputed; one stored with other seeds is refused
    (UsageError) before any work. In a multi-process run every process computes each cell
    (they share its devices) and only process 0 reads and writes ``out_dir``.

    ``workers > 1`` runs that many cells at once in threads: XLA compiles with the GIL
    released, so where compiling dominates two workers on two cores nearly halve the wall
    time. Records are appended as cells finish (file order may differ from grid order).
    Multi-process runs use one worker: every process must issue the same programs in order.

    ``processes > 1`` (default: `pool.default_processes`, 2 on a machine with 2 or more
    cores) runs cells in that many spawned worker processes instead (`pool`: on one core a
    cell is compute-bound, so a second process nearly doubles the throughput) where that is
    safe and possible: CPU backend, a single-process run, two or more cells left, and a
    picklable ``run_cell``; otherwise the threads above.

    Args:
        cells: the grid's cells (configs), each a mapping of JSON-able fields.
        seeds: the seeds every cell runs with.
        run_cell: ``run_cell(config, seeds) -> result``, a JSON-able mapping.
        out_dir: where ``results.jsonl`` lives.
        desc: the progress bar's label.
        workers: cells run at once (``DEFAULT_COMPILE_WORKERS`` by default).
        processes: worker processes (None: `pool.default_processes`; 1: none).
    Returns:
        One record per cell (``store.ResultsStore.record``'s form), in grid order.
    """
    seeds = [int(s) for s in seeds]
    store = ResultsStore(out_dir)
    writer = hosts.process_index() == 0
    keys = [cell_key(c) for c in cells]
    records: dict[str, dict] = _stored_records(store, keys, seeds, desc)
    n_unique = len(set(keys))
    todo = {k: c for c, k in zip(cells, keys, strict=True) if k not in records}

    def finish(config: Mapping, key: str, result: Mapping) -> None:
        # Only this (the calling) thread appends, so lines are never interleaved.
        if writer:
            records[key] = store.append(config, seeds, result)
        else:
            records[key] = store.record(config, seeds, result)

    with progress(total=n_unique, initial=len(records), desc=desc, unit="cell") as bar:
        _execute(todo, seeds, run_cell, workers, processes, finish, bar)
    return [records[k] for k in keys]


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
