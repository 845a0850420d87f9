"""Sweeps: a `--compare` grid of cells x seeds, resumable results, all devices.

A sweep is the cartesian product of the `--compare` fields (``parse_compare`` then
``expand_grid``), each cell run for the same seeds. ``run`` walks the cells with a
progress bar, skips cells already in ``OUT/results.jsonl`` and appends one whole JSON line
per finished cell (``ResultsStore``)::

    {"config": {...every field...}, "seeds": [...], "result": {...}, "versions": {...},
     "device": "..."}

Resume. A line is written with one ``write`` call, then fsynced, so a crash (SIGKILL,
power loss) leaves at most the line of the cell in flight torn. ``load`` drops a torn last
line with a warning and the next ``append`` truncates it away first, so the file stays
valid JSONL; a damaged line elsewhere is an error (it is not something a crash makes). A
cell is "finished" when a line with the same ``cell_key`` (its config as canonical JSON)
is stored; a rerun asking other seeds for a stored cell is refused before any work.

Devices. The seeds of one cell are batched with ``vmap`` and their axis is sharded over a
1-D ``Mesh`` of all ``jax.devices()`` named ``"seeds"`` (``map_seeds``), so the same command
uses every GPU present, and every device of every host after ``initialize_distributed``.
Cells are run one after another, not stacked: cells that differ in a kernel or a size are
different XLA programs, which no batching axis can hold. Cells that differ only in numeric
fields (a forget-gate bias, a learning rate) can be one program: ``stack_cells`` flattens
such a group to one (cell x seed) axis of keys plus the numeric fields as per-row arrays,
``map_batch`` shards that axis exactly as ``map_seeds`` shards seeds, and
``unstack_cells`` cuts the result back into cells. A command uses it when its few seeds per
cell would leave devices idle; the store still holds one line per cell.

Multi-host. ``initialize_distributed`` calls ``jax.distributed.initialize`` when these
environment variables are set (all three, or none):

- ``JAX_COORDINATOR_ADDRESS``: ``host:port`` of process 0, reachable from every host;
- ``JAX_NUM_PROCESSES``: the number of processes (one per host, usually);
- ``JAX_PROCESS_ID``: this process's index, 0 .. JAX_NUM_PROCESSES - 1.

Every process runs the same command; process 0 alone reads and writes ``OUT`` and
broadcasts which cells are finished, so ``OUT`` need not be on a shared filesystem.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from analysis._util import io
from analysis._util.errors import UsageError
from analysis._util.progress import progress

RESULTS_FILE = "results.jsonl"
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
MESH_AXIS = "seeds"


class ResultsFileError(UsageError):
    """``results.jsonl`` is damaged other than by a torn last line (one line, exit 2)."""


# --------------------------------------------------------------------------- the grid


def parse_compare(
    specs: Sequence[str], fields: Mapping[str, Callable[[str], Any]]
) -> dict[str, tuple]:
    """``["candidate=tanh,relu", "forget_bias=0,1"]`` -> ``{"candidate": ("tanh", "relu"), ...}``.

    Each value is converted with ``fields[name]`` (a converter raising ValueError on a bad
    value). Raises UsageError (one line) on an unknown field (the valid ones are listed), a
    missing ``=``, an empty value, the same field twice, the same value twice, a bad value.
    """
    valid = ", ".join(sorted(fields))
    out: dict[str, tuple] = {}
    for spec in specs:
        name, sep, values = (s.strip() for s in str(spec).partition("="))
        if not sep:
            raise UsageError(f"--compare {spec!r}: expected FIELD=V1,V2,... (fields: {valid})")
        if name not in fields:
            raise UsageError(f"--compare: unknown field {name!r}; valid fields: {valid}")
        if name in out:
            raise UsageError(f"--compare: field {name!r} given twice; list its values once")
        raw = [v.strip() for v in values.split(",")]
        if not values or any(not v for v in raw):
            raise UsageError(f"--compare {spec!r}: empty value for {name!r}")
        converted = []
        for v in raw:
            try:
                converted.append(fields[name](v))
            except (ValueError, TypeError) as err:
                detail = f": {err}" if str(err) else ""
                raise UsageError(f"--compare: bad value {v!r} for {name!r}{detail}") from None
        keys = [_canonical(c) for c in converted]
        if len(set(keys)) != len(keys):
            raise UsageError(f"--compare {spec!r}: a value of {name!r} is repeated")
        out[name] = tuple(converted)
    return out


def expand_grid(base: Mapping[str, Any], compare: Mapping[str, Sequence]) -> list[dict]:
    """Every cell of the product of ``compare``, first field outermost; ``base`` + overrides.

    ``expand_grid({"a": 0, "b": 0}, {"a": (1, 2), "b": (3, 4)})`` ->
    ``[{a:1,b:3}, {a:1,b:4}, {a:2,b:3}, {a:2,b:4}]``. No compare fields -> ``[dict(base)]``.
    """
    names = list(compare)
    return [
        {**base, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(tuple(compare[n]) for n in names))
    ]


def _canonical(obj: Any) -> str:
    # Through io.to_json first so arrays, tuples and non-finite floats normalise exactly
    # as they are stored; then sorted keys so field order does not matter.
    return json.dumps(json.loads(io.to_json(obj, indent=None)), sort_keys=True)


def cell_key(config: Mapping) -> str:
    """The canonical JSON of ``config`` (sorted keys): how a finished cell is recognised."""
    return _canonical(dict(config))


# --------------------------------------------------------------------------- the store


class ResultsStore:
    """``OUT/results.jsonl``: one whole JSON line per finished cell, resumable.

    Nothing is created until the first ``append``.
    """

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / RESULTS_FILE
        self._records: dict[str, dict] | None = None
        self._valid_bytes: int | None = None  # set when a torn tail must be cut off
        self._meta: dict[str, Any] | None = None

    def load(self) -> dict[str, dict]:
        """Stored records by ``cell_key``; a torn last line is dropped with a warning."""
        records: dict[str, dict] = {}
        self._valid_bytes = None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._records = records
            return dict(records)
        # Every whole line ends in "\n"; bytes after the last "\n" are a torn write.
        *complete, tail = data.split(b"\n")
        tail_torn = bool(tail)
        offset = 0
        for i, raw in enumerate(complete):
            record = _parse_record(raw)
            if record is None and raw.strip():
                if i == len(complete) - 1 and not tail_torn:
                    # A terminated but unreadable final line: some filesystems extend the
                    # file before the data lands, so a crash can leave this too.
                    tail_torn = True
                    break
                raise ResultsFileError(
                    f"{self.path} line {i + 1} is not a results record; fix or remove "
                    f"that line (only the last line can be torn by a crash)"
                )
            if record is not None:
                key = cell_key(record["config"])
                if key in records:
                    warnings.warn(
                        f"{self.path} line {i + 1} repeats a stored cell; keeping the first",
                        stacklevel=2,
                    )
                else:
                    records[key] = record
            offset += len(raw) + 1
        if tail_torn:
            torn = data[offset:]
            warnings.warn(
                f"{self.path}: dropping a torn last line ({len(torn)} bytes) left by an "
                f"interrupted run; that cell will be run again",
                stacklevel=2,
            )
            print(
                f"warning: {self.path}: dropped a torn last line ({len(torn)} bytes)",
                file=sys.stderr,
            )
            self._valid_bytes = offset
        self._records = records
        return dict(records)

    def _loaded(self) -> dict[str, dict]:
        if self._records is None:
            self.load()
        assert self._records is not None
        return self._records

    def done(self, config: Mapping) -> bool:
        """Whether a line for this cell is stored."""
        return cell_key(config) in self._loaded()

    def get(self, config: Mapping) -> dict | None:
        """The stored record of this cell, or None."""
        return self._loaded().get(cell_key(config))

    def record(self, config: Mapping, seeds: Sequence[int], result: Mapping) -> dict:
        """The record ``append`` would write, as JSON types, without writing it."""
        if self._meta is None:
            meta = io.run_metadata()
            self._meta = {"versions": meta["versions"], "device": meta["device"]}
        rec = {
            "config": dict(config),
            "seeds": [int(s) for s in seeds],
            "result": result,
            **self._meta,
        }
        return json.loads(io.to_json(rec, indent=None))

    def append(self, config: Mapping, seeds: Sequence[int], result: Mapping) -> dict:
        """Append the cell's record as one whole line (flush + fsync); return it."""
        records = self._loaded()
        rec = self.record(config, seeds, result)
        key = cell_key(rec["config"])
        if key in records:
            raise ValueError(
                f"{self.path}: cell {key} is already stored; lines are never rewritten"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._valid_bytes is not None:
            os.truncate(self.path, self._valid_bytes)
            self._valid_bytes = None
        io.append_jsonl(self.path, rec)
        records[key] = rec
        return rec


def _parse_record(raw: bytes) -> dict | None:
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("config"), dict):
        return None
    return rec


# --------------------------------------------------------------------------- running


def _jax_if_loaded() -> Any:
    # Plain sweeps (and the store's tests) never need jax; a multi-process run has it loaded.
    return sys.modules.get("jax")


def _process_index() -> int:
    jax = _jax_if_loaded()
    return 0 if jax is None else jax.process_index()


def _process_count() -> int:
    jax = _jax_if_loaded()
    return 1 if jax is None else jax.process_count()


def run(
    cells: Sequence[Mapping],
    seeds: Sequence[int],
    run_cell: Callable[[Mapping, Sequence[int]], Mapping],
    out_dir: str | os.PathLike,
    desc: str = "cells",
    workers: int = 1,
) -> list[dict]:
    """Run every cell not yet stored, appending each record; return all records in grid order.

    ``run_cell(config, seeds) -> result`` (a JSON-able mapping). A cell already stored is not
    recomputed; one stored with other seeds is refused (UsageError) before any work. In a
    multi-process run every process computes each cell (they share its devices) and only
    process 0 reads and writes ``out_dir``.

    ``workers > 1`` runs that many cells at once in threads. XLA compiles with the GIL
    released, so on a machine where compiling dominates (short sequences, many variants) two
    workers on two cores nearly halve the wall time. Records are appended as cells finish
    (file order may differ from grid order; the returned list is in grid order). Multi-process
    runs always use one worker, since every process must issue the same programs in order.
    """
    seeds = [int(s) for s in seeds]
    store = ResultsStore(out_dir)
    writer = _process_index() == 0
    keys = [cell_key(c) for c in cells]
    stored = store.load() if writer else {}
    wanted = set(keys)
    stored = {k: v for k, v in stored.items() if k in wanted}
    if _process_count() > 1:
        # Every process must skip the same cells (they compute each cell together).
        stored = _broadcast_json(stored)
    for key in dict.fromkeys(keys):
        rec = stored.get(key)
        if rec is not None and [int(s) for s in rec["seeds"]] != seeds:
            raise UsageError(
                f"{store.path} holds cell {key} with seeds {rec['seeds']}, not {seeds}; "
                f"use another --out or the same seeds"
            )
    records: dict[str, dict] = dict(stored)
    n_unique = len(wanted)
    n_done = len(records)
    todo = {k: c for c, k in zip(cells, keys, strict=True) if k not in records}

    def finish(config: Mapping, key: str, result: Mapping) -> None:
        # Only this (the calling) thread appends, so lines are never interleaved.
        if writer:
            records[key] = store.append(config, seeds, result)
        else:
            records[key] = store.record(config, seeds, result)

    with progress(total=n_unique, initial=n_done, desc=desc, unit="cell") as bar:
        if workers <= 1 or _process_count() > 1 or len(todo) <= 1:
            for key, config in todo.items():
                finish(config, key, run_cell(config, seeds))
                bar.update(1)
        else:
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
    return [records[k] for k in keys]


def _broadcast_json(obj: Any) -> Any:
    """Process 0's ``obj`` on every process (as JSON bytes: length first, then the bytes)."""
    import numpy as np
    from jax.experimental import multihost_utils

    data = np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8)
    size = multihost_utils.broadcast_one_to_all(np.asarray([data.size], dtype=np.int32))
    buf = data if _process_index() == 0 else np.zeros(int(np.asarray(size)[0]), np.uint8)
    out = multihost_utils.broadcast_one_to_all(buf)
    return json.loads(np.asarray(out, dtype=np.uint8).tobytes().decode("utf-8"))


def write_summary(out_dir: str | os.PathLike, name: str, obj: Any) -> Path:
    """Write ``OUT/NAME.json`` atomically (temporary file, then rename); process 0 only."""
    path = Path(out_dir) / (name if name.endswith(".json") else f"{name}.json")
    if _process_index() == 0:
        io.atomic_write_json(path, obj)
    return path


# --------------------------------------------------------------------------- devices


def initialize_distributed() -> bool:
    """``jax.distributed.initialize`` from JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES /
    JAX_PROCESS_ID when they are set; True if it did. Partial settings are a UsageError."""
    names = (ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID)
    present = [n for n in names if os.environ.get(n)]
    if not present:
        return False
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
    import jax

    if _distributed_started():
        return True
    jax.distributed.initialize(
        coordinator_address=os.environ[ENV_COORDINATOR], num_processes=num, process_id=pid
    )
    return True


def _distributed_started() -> bool:
    from jax._src import distributed

    return distributed.global_state.client is not None


def seed_keys(seeds: Sequence[int]) -> Any:
    """One typed PRNG key per seed, ``jax.random.key(s)``, stacked: shape (S,)."""
    import jax
    import jax.numpy as jnp

    if len(seeds) == 0:
        raise ValueError("seed_keys: expected at least one seed, got none")
    return jnp.stack([jax.random.key(int(s)) for s in seeds])


def mesh() -> Any:
    """A 1-D mesh over every device of every process, axis ``"seeds"``."""
    import jax
    import numpy as np

    return jax.sharding.Mesh(np.asarray(jax.devices()), (MESH_AXIS,))


def map_seeds(fn: Callable[..., Any], keys: Any, *args: Any) -> Any:
    """``vmap(fn)(keys, *args)`` with the seed axis sharded over all devices; shape (S, ...).

    ``fn(key, *args)`` maps one key (and the shared ``args``, pytrees of arrays) to a pytree.
    Static configuration goes into ``fn`` (a closure or ``functools.partial``); compiled
    programs are cached on ``fn`` (a partial by its function and arguments), so call it with
    the same function object to avoid recompiling.
    """
    return map_batch(fn, keys, None, *args)


def map_batch(fn: Callable[..., Any], keys: Any, batched: Any, *args: Any) -> Any:
    """``vmap`` of ``fn(key, row, *args)`` over rows of ``keys`` and ``batched`` (both with the
    same leading axis N, sharded over all devices); ``args`` are shared. ``batched=None``
    calls ``fn(key, *args)``. Returns a pytree with leading axis N."""
    import jax

    n = keys.shape[0]
    jitted, inputs = _prepare(fn, keys, batched, args)
    executable = _executable(jitted, inputs)
    # Compiling may overlap across threads (`run(workers=N)`), executing may not: two XLA:CPU
    # programs running at once can starve each other of the intra-op thread pool and hang.
    with _EXECUTE_LOCK:
        out = jax.block_until_ready(executable(*inputs))
    return _head(out, n) if inputs[0].shape[0] != n else out


_EXECUTE_LOCK = threading.Lock()
_EXECUTABLES: dict[Any, Any] = {}
_EXECUTABLES_LOCK = threading.Lock()


def _executable(jitted: Callable[..., Any], inputs: list) -> Callable[..., Any]:
    """``jitted`` compiled ahead of time for these inputs' shapes, dtypes and shardings."""
    import jax

    leaves, treedef = jax.tree.flatten(inputs)
    key = (
        jitted,
        treedef,
        tuple((x.shape, str(x.dtype), getattr(x, "sharding", None)) for x in leaves),
    )
    with _EXECUTABLES_LOCK:
        exe = _EXECUTABLES.get(key)
    if exe is None:
        exe = jitted.lower(*inputs).compile()  # outside the lock: threads compile in parallel
        with _EXECUTABLES_LOCK:
            exe = _EXECUTABLES.setdefault(key, exe)
    return exe


def _head(tree: Any, n: int) -> Any:
    """Every leaf's first ``n`` rows (drops the padding rows ``map_batch`` added)."""
    import jax

    return jax.tree.map(lambda x: x[:n], tree)


def _prepare(
    fn: Callable[..., Any], keys: Any, batched: Any, args: tuple
) -> tuple[Callable[..., Any], list]:
    """The cached jitted program and its inputs, placed: rows padded and sharded, args shared."""
    import jax
    import jax.numpy as jnp

    n = keys.shape[0]
    if n == 0:
        raise ValueError("map_batch: expected at least one key, got none")
    pad = -n % jax.device_count()
    typed = jnp.issubdtype(keys.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data(keys) if typed else keys
    impl = str(jax.random.key_impl(keys)) if typed else None
    rows = [data, batched]
    if pad:
        # Repeating the last row keeps padding values valid inputs; they are sliced off.
        rows = jax.tree.map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, 0)]), rows)
    m = mesh()
    row_sharding = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec(MESH_AXIS))
    shared = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec())
    rows = jax.tree.map(lambda x: _put(x, row_sharding), rows)
    args = jax.tree.map(lambda x: _put(x, shared), args)
    compiled = _compiled(_FnKey(fn), impl, batched is not None, m)
    return compiled, [*rows, *args]


def _put(x: Any, sharding: Any) -> Any:
    import jax

    if jax.process_count() == 1:
        return jax.device_put(x, sharding)
    import numpy as np

    # Every process holds the whole host array; each device takes its slice of it.
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


class _FnKey:
    """Hash a partial by (function, args, keywords) so equal partials share a program."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self._id: Any = fn
        if isinstance(fn, functools.partial):
            try:
                ident = (fn.func, fn.args, tuple(sorted(fn.keywords.items())))
                hash(ident)
                self._id = ident
            except TypeError:
                pass

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _FnKey) and self._id == other._id


@functools.lru_cache(maxsize=128)
def _compiled(fkey: _FnKey, impl: str | None, has_batched: bool, m: Any) -> Callable[..., Any]:
    import jax

    fn = fkey.fn
    row = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec(MESH_AXIS))
    everywhere = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec())

    def one(data: Any, batched: Any, *args: Any) -> Any:
        key = jax.random.wrap_key_data(data, impl=impl) if impl is not None else data
        return fn(key, batched, *args) if has_batched else fn(key, *args)

    def mapped(data: Any, batched: Any, *args: Any) -> Any:
        in_axes = (0, 0 if has_batched else None) + (None,) * len(args)
        out = jax.vmap(one, in_axes=in_axes)(data, batched, *args)
        # Computed sharded by rows; gathered so every process can read the whole result.
        out = jax.lax.with_sharding_constraint(out, row)
        return out

    return jax.jit(mapped, out_shardings=everywhere)


# --------------------------------------------------------------------------- stacking


def stack_cells(
    cells: Sequence[Mapping], seeds: Sequence[int], fields: Sequence[str]
) -> tuple[Any, dict[str, Any]]:
    """Flatten cells x seeds into rows for ``map_batch``: (keys (C*S,), {field: (C*S,)}).

    Row ``c * S + s`` is cell ``c`` with seed ``seeds[s]``. The cells must agree on every
    field outside ``fields`` (those would be different programs) and ``fields`` must be
    numeric. ``unstack_cells`` reshapes the result back to (C, S, ...).
    """
    import jax.numpy as jnp

    if not cells:
        raise ValueError("stack_cells: expected at least one cell")
    fixed = {k: v for k, v in cells[0].items() if k not in fields}
    for c in cells[1:]:
        other = {k: v for k, v in c.items() if k not in fields}
        if cell_key(other) != cell_key(fixed):
            raise ValueError(
                f"stack_cells: cells differ outside {list(fields)}: {fixed} vs {other}"
            )
    keys = seed_keys(seeds)
    s = len(seeds)
    rows = jnp.concatenate([keys] * len(cells))
    batched = {}
    for f in fields:
        vals = [c[f] for c in cells]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            raise ValueError(f"stack_cells: field {f!r} is not numeric: {vals}")
        batched[f] = jnp.repeat(jnp.asarray(vals, dtype=float), s)
    return rows, batched


def unstack_cells(out: Any, n_cells: int) -> Any:
    """Reshape every leaf of a ``map_batch`` result from (C*S, ...) to (C, S, ...)."""
    import jax

    return jax.tree.map(lambda x: x.reshape(n_cells, x.shape[0] // n_cells, *x.shape[1:]), out)


def group_cells(cells: Sequence[Mapping], fields: Sequence[str]) -> list[list[int]]:
    """Indices of cells that differ only in ``fields`` (stackable together), grid order."""
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(cells):
        groups.setdefault(cell_key({k: v for k, v in c.items() if k not in fields}), []).append(i)
    return list(groups.values())
