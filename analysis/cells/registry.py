"""`names` and `get`: the built-in cells by name, with one-line errors that list valid choices."""

from __future__ import annotations

import dataclasses
from typing import Any

# Importing the cell modules registers them.
from analysis.cells import gru, janet, lnlstm, minimal, simple, slstm  # noqa: F401
from analysis.cells.base import REGISTRY, BuiltinCell, Cell
from analysis.cells.lstm import cell as lstm_cell  # noqa: F401
from analysis.cells.stack import Stack

__all__ = ["check_options", "describe", "get", "names"]


def names() -> tuple[str, ...]:
    """The built-in cell names, sorted.

    Returns: a tuple of names, each accepted by `get`.
    """
    return tuple(sorted(REGISTRY))


def describe(name: str) -> dict[str, Any]:
    """What cell `name` takes: its slots, options and state names, with their defaults.

    Args: name: a built-in cell. Returns: {"slots": {slot: default kernel},
        "options": {option: default}, "states": (state names of its carry)}.
    """
    cls = _cls(name)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    return {
        "slots": {s: defaults[s] for s in cls.slots},
        "options": {k: defaults[k] for k in cls.option_names()},
        "states": cls.state_names,
    }


def _cls(name: Any) -> type[BuiltinCell]:
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"cells.get: unknown cell {name!r}; valid cells: {', '.join(names())}")
    return REGISTRY[name]


def check_options(
    name: str, keys: Any, owner: str | None = None, layers: bool = True, run_set: Any = ()
) -> None:
    """ValueError (one line) if a key is not a size, slot or option of cell `name`.

    The message names the cells that do have it and lists the cell's slots and options.

    Args: name: a built-in cell; keys: the names given; owner: the message's prefix (default
        ``cells.get(name)``); layers: whether ``num_layers`` is listed as an option;
        run_set: options that the caller sets itself, left out of the list (and refused).
    """
    cls = _cls(name)
    valid = {"input_size", "hidden_size", *cls.slots, *cls.option_names()} - set(run_set)
    owner = owner or f"cells.get({name!r})"
    for key in keys:
        if key in valid:
            continue
        owners = sorted(n for n, c in REGISTRY.items() if key in {f.name for f in _fields(c)})
        slots = ", ".join(cls.slots) or "none"
        own = [k for k in cls.option_names() if k not in run_set]
        options = ", ".join(own) + (", num_layers" if layers else "")
        where = f" ({key!r} belongs to {', '.join(owners)})" if owners else ""
        raise ValueError(
            f"{owner}: {name} has no slot or option {key!r}{where}; "
            f"its slots: {slots}; its options: {options}"
        )


def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def get(
    name: str, input_size: int = 1, hidden_size: int = 64, *, num_layers: int = 1, **kwargs: Any
) -> Cell:
    """The built-in cell `name` with its slots and options set; a `Stack` if num_layers > 1.

    ``cells.get("gru", input_size=1, hidden_size=32, candidate="relu", update_bias=1.0)``.
    Slots take any kernel name (`kernels.get`); options are the cell's own fields
    (`describe`). Layers above the first take ``hidden_size`` inputs. Unknown cells, slots
    or options, and bad values raise ValueError (one line, listing what is valid).

    Args: name: a built-in cell (`names`); input_size I; hidden_size H; num_layers L >= 1.
    Returns: the frozen, hashable cell (xs (B, T, I) -> ys (B, T, H)).
    """
    cls = _cls(name)
    check_options(name, kwargs)
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(
            f"cells.get({name!r}): num_layers must be an integer >= 1, got {num_layers!r}"
        )
    try:
        first = cls(input_size=input_size, hidden_size=hidden_size, **kwargs)
    except TypeError as err:  # a non-hashable or otherwise odd value reaching the dataclass
        raise ValueError(f"cells.get({name!r}): {err}") from None
    if num_layers == 1:
        return first
    rest = [dataclasses.replace(first, input_size=hidden_size) for _ in range(num_layers - 1)]
    return Stack(layers=(first, *rest))
