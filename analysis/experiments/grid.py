"""The sweep grid: ``--compare`` parsing, the cartesian product of cells, stackable groups.

A sweep is the product of the ``--compare`` fields (``parse_compare`` then ``expand_grid``),
first field outermost. Cells that differ only in numeric fields (a forget-gate bias, a
learning rate) can be one XLA program: ``group_cells`` finds such groups, ``stack_cells``
flattens a group to one (cell x seed) axis of keys plus the numeric fields as per-row
arrays for ``runtime.map_batch``, and ``unstack_cells`` cuts the result back into cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analysis.experiments.store import canonical, cell_key
from analysis.util.errors import UsageError

__all__ = ["expand_grid", "group_cells", "parse_compare", "stack_cells", "unstack_cells"]


def _convert(spec: str, name: str, raw: list[str], conv: Callable[[str], Any]) -> tuple:
    converted = []
    for v in raw:
        try:
            converted.append(conv(v))
        except (ValueError, TypeError, OverflowError) as err:
            detail = f": {err}" if str(err) else ""
            raise UsageError(f"--compare: bad value {v!r} for {name!r}{detail}") from None
    keys = [canonical(c) for c in converted]
    if len(set(keys)) != len(keys):
        raise UsageError(f"--compare {spec!r}: a value of {name!r} is repeated")
    return tuple(converted)


def parse_compare(
    specs: Sequence[str], fields: Mapping[str, Callable[[str], Any]]
) -> dict[str, tuple]:
    """``["candidate=tanh,relu", "forget_bias=0,1"]`` -> ``{"candidate": ("tanh", "relu"), ...}``.

    Args:
        specs: ``FIELD=V1,V2,...`` strings, one per ``--compare``.
        fields: field name -> converter of one value (raises ValueError on a bad value).
    Returns:
        Field -> tuple of converted values, in the order given.
    Raises:
        UsageError: (one line) an unknown field (the valid ones are listed), a missing
            ``=``, an empty value, the same field twice, the same value twice, a bad value.
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
        out[name] = _convert(spec, name, raw, fields[name])
    return out


def expand_grid(base: Mapping[str, Any], compare: Mapping[str, Sequence]) -> list[dict]:
    """Every cell of the product of ``compare``, first field outermost; ``base`` + overrides.

    ``expand_grid({"a": 0, "b": 0}, {"a": (1, 2), "b": (3, 4)})`` ->
    ``[{a:1,b:3}, {a:1,b:4}, {a:2,b:3}, {a:2,b:4}]``.

    Args:
        base: every field of a cell with its default value.
        compare: field -> values (``parse_compare``'s result); empty -> ``[dict(base)]``.
    Returns:
        The cells, ``prod(len(values))`` dicts.
    """
    names = list(compare)
    return [
        {**base, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(tuple(compare[n]) for n in names))
    ]


def group_cells(cells: Sequence[Mapping], fields: Sequence[str]) -> list[list[int]]:
    """Indices of cells that differ only in ``fields`` (stackable together), grid order.

    Args:
        cells: the grid's cells.
        fields: the numeric fields a stacked program takes as per-row inputs.
    Returns:
        One list of cell indices per group, in order of first appearance.
    """
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(cells):
        groups.setdefault(cell_key({k: v for k, v in c.items() if k not in fields}), []).append(i)
    return list(groups.values())


def stack_cells(
    cells: Sequence[Mapping], seeds: Sequence[int], fields: Sequence[str]
) -> tuple[Any, dict[str, Any]]:
    """Flatten cells x seeds into rows for ``map_batch``: (keys (C*S,), {field: (C*S,)}).

    Row ``c * S + s`` is cell ``c`` with seed ``seeds[s]``.

    Args:
        cells: C cells that agree on every field outside ``fields`` (those would be
            different programs).
        seeds: the S seeds of every cell.
        fields: numeric fields that vary between the cells.
    Returns:
        ``(keys, batched)``: typed PRNG keys of shape (C*S,) and field -> float array (C*S,).
    Raises:
        ValueError: no cells, cells that differ elsewhere, or a non-numeric field.
    """
    import jax.numpy as jnp

    from analysis.runtime import seed_keys

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
    """Reshape every leaf of a ``map_batch`` result from (C*S, ...) to (C, S, ...).

    Args:
        out: a pytree whose leaves have leading axis C*S.
        n_cells: C.
    Returns:
        The same pytree with leaves of shape (C, S, ...).
    """
    import jax

    return jax.tree.map(lambda x: x.reshape(n_cells, x.shape[0] // n_cells, *x.shape[1:]), out)
