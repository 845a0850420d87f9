"""Devices: the seeds (or cell x seed rows) of a sweep cell, vmapped and sharded.

The seeds of one cell are batched with ``vmap`` and their axis is sharded over a 1-D
``Mesh`` of all ``jax.devices()`` named ``"seeds"`` (``map_seeds``), so the same command
uses every GPU present, and every device of every host after
``hosts.initialize_distributed``. ``map_batch`` shards any leading row axis the same way
(``grid.stack_cells`` builds such rows from several cells). Cells are run one after another,
not stacked, when they differ in a kernel or a size: those are different XLA programs, which
no batching axis can hold.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["MESH_AXIS", "map_batch", "map_seeds", "mesh", "seed_keys"]

MESH_AXIS = "seeds"


def seed_keys(seeds: Sequence[int]) -> Any:
    """One typed PRNG key per seed, ``jax.random.key(s)``, stacked.

    Args:
        seeds: S integer seeds.
    Returns:
        Typed keys, shape (S,).
    """
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
    """``vmap(fn)(keys, *args)`` with the seed axis sharded over all devices.

    Static configuration goes into ``fn`` (a closure or ``functools.partial``); compiled
    programs are cached on ``fn`` (a partial by its function and arguments), so call it with
    the same function object to avoid recompiling.

    Args:
        fn: ``fn(key, *args)`` maps one key and the shared ``args`` to a pytree.
        keys: typed PRNG keys, shape (S,).
        args: pytrees of arrays shared by every seed.
    Returns:
        A pytree with leading axis S, readable whole on every process.
    """
    return map_batch(fn, keys, None, *args)


_EXECUTE_LOCK = threading.Lock()
_EXECUTABLES: dict[Any, Any] = {}
_EXECUTABLES_LOCK = threading.Lock()
_COMPILING: dict[Any, threading.Lock] = {}  # one lock per program key, held while compiling


def map_batch(fn: Callable[..., Any], keys: Any, batched: Any, *args: Any) -> Any:
    """``vmap`` of ``fn(key, row, *args)`` over rows of ``keys`` and ``batched``.

    Args:
        fn: ``fn(key, row, *args)``, or ``fn(key, *args)`` when ``batched`` is None.
        keys: N keys (typed or raw), the row axis, sharded over all devices.
        batched: a pytree whose leaves have leading axis N, or None.
        args: pytrees shared by every row.
    Returns:
        A pytree with leading axis N.
    """
    import jax

    n = keys.shape[0]
    jitted, inputs = _prepare(fn, keys, batched, args)
    executable = _executable(jitted, inputs)
    # Compiling may overlap across threads (`run(workers=N)`), executing may not: two XLA:CPU
    # programs running at once can starve each other of the intra-op thread pool and hang.
    with _EXECUTE_LOCK:
        out = jax.block_until_ready(executable(*inputs))
    return _head(out, n) if inputs[0].shape[0] != n else out


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
        pending = _COMPILING.setdefault(key, threading.Lock())
    if exe is not None:
        return exe
    # Threads compile different programs in parallel; a thread that wants a program another
    # is compiling (cells that differ only in a traced field) waits for it, not compiles twice.
    with pending:
        with _EXECUTABLES_LOCK:
            exe = _EXECUTABLES.get(key)
        if exe is None:
            exe = jitted.lower(*inputs).compile()
            with _EXECUTABLES_LOCK:
                _EXECUTABLES[key] = exe
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
        return jax.lax.with_sharding_constraint(out, row)

    return jax.jit(mapped, out_shardings=everywhere)
