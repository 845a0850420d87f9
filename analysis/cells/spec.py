"""`CellSpec`: a recurrent cell by name and its slots and options, without sizes or dtype.

A run (a training run, a decay cell) sets the input size, hidden size and dtype itself; the
spec is everything else that names the cell: its name and every slot and option of
`cells.describe`, sorted, with the cell's defaults completed, so that equal cells are equal
(and equally hashed) specs. It is frozen, hashable (a jit-static argument inside a config)
and JSON-able::

    spec = CellSpec.of("lstm", candidate="relu")    # the LSTM with its other defaults
    spec["candidate"]; spec.get("t_max")            # "relu", None
    spec.to_dict()   # {"name": "lstm", "candidate": "relu", "forget_bias": 1.0, ...}
    CellSpec.from_dict(spec.to_dict()) == spec
    spec.build(input_size=1, hidden_size=64, dtype="float32")   # cells.get(...)

Keys are checked here (an unknown one is a ValueError naming the valid ones); values are
checked where the cell is built (`build`, `cells.get`), since some depend on the run (the
LSTM's chrono initializer takes ``t_max`` from the task when the spec leaves it None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from analysis.cells import lstm
from analysis.cells.base import Cell
from analysis.cells.registry import check_options, describe, get, names

__all__ = [
    "RUN_SET",
    "CellSpec",
    "flat_config",
    "lstm_config",
    "option_names",
    "spec_from_fields",
]

# Set by the run that holds a spec, never one of its options.
RUN_SET = ("input_size", "hidden_size", "dtype")
_SCALARS = (str, int, float, bool, type(None))


def _defaults(name: str) -> dict[str, Any]:
    described = describe(name)
    found = {**described["slots"], **described["options"]}
    return {k: v for k, v in found.items() if k not in RUN_SET}


def option_names() -> set[str]:
    """Every slot and option name of any built-in cell (sizes and dtype left out)."""
    return {k for name in names() for k in _defaults(name)}


def _pairs(owner: str, options: Any) -> dict[str, Any]:
    if isinstance(options, Mapping):
        return dict(options)
    try:
        out = {str(k): v for k, v in options}
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: options must be (name, value) pairs, got {options!r}") from None
    if len(out) != len(options):
        raise ValueError(f"{owner}: an option is given twice in {options!r}")
    return out


def _scalar(value: Any) -> Any:
    # numpy scalars (np.float64(1.0), np.int64(3)) as the Python values JSON keeps
    return value.item() if isinstance(value, np.generic) else value


def _typed(default: Any, value: Any) -> Any:
    # 1 and 1.0 are the same forget bias: the default's float type makes them one JSON value.
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return float(value) if isinstance(default, float) and is_int else value


@dataclass(frozen=True)
class CellSpec:
    """A cell's name and every slot and option (sorted (name, value) pairs, defaults completed).

    ``name`` is a `cells.names()` name; ``options`` may be given partly, as pairs or a
    mapping: construction completes them with the cell's defaults (`cells.describe`) and
    sorts them. Sizes and dtype (`RUN_SET`) belong to the run, never to the spec.

    Raises:
        ValueError (one line): an unknown cell, or an unknown option (listing the valid ones),
            or a value that is not a JSON scalar.
    """

    name: str = "lstm"
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in names():
            raise ValueError(
                f"CellSpec: unknown cell {self.name!r}; valid cells: {', '.join(names())}"
            )
        owner = f"CellSpec({self.name!r})"
        given = {k: _scalar(v) for k, v in _pairs(owner, self.options).items()}
        for key in (*RUN_SET, "num_layers"):
            if key in given:
                raise ValueError(f"{owner}: {key} is not a cell option here (the run sets it)")
        check_options(self.name, given, owner, layers=False, run_set=RUN_SET)
        defaults = _defaults(self.name)
        for key, value in given.items():
            if not isinstance(value, _SCALARS):
                raise ValueError(f"{owner}: {key} must be a JSON scalar, got {value!r}")
        full = {k: _typed(d, given.get(k, d)) for k, d in defaults.items()}
        object.__setattr__(self, "options", tuple(sorted(full.items())))

    @classmethod
    def of(cls, name: str = "lstm", **options: Any) -> CellSpec:
        """``CellSpec.of("gru", candidate="relu")``: the spec from keyword options."""
        return cls(name, tuple(options.items()))

    def __getitem__(self, key: str) -> Any:
        return dict(self.options)[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of slot or option `key`, `default` if the cell has none."""
        return dict(self.options).get(key, default)

    def replace(self, **changes: Any) -> CellSpec:
        """The spec with some options changed (ValueError for one the cell does not have)."""
        return replace(self, options=tuple({**dict(self.options), **changes}.items()))

    def to_dict(self) -> dict[str, Any]:
        """``{"name": name, option: value, ...}``, JSON-able (a stored config's ``"cell"``)."""
        return {"name": self.name, **dict(self.options)}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> CellSpec:
        """The spec of `to_dict`'s mapping (``name`` defaults to "lstm")."""
        fields = dict(record)
        return cls(fields.pop("name", "lstm"), tuple(fields.items()))

    def build(self, input_size: int, hidden_size: int, dtype: str, **more: Any) -> Cell:
        """The cell itself: ``cells.get(name, input_size, hidden_size, dtype=..., **options)``.

        Args:
            input_size: I; hidden_size: H; dtype: the run's; more: options overriding the
                spec's (e.g. the LSTM's ``t_max`` from a task).

        Returns:
            the frozen cell (ValueError, one line, for a bad value).
        """
        options = {**dict(self.options), **more}
        return get(
            self.name, input_size=input_size, hidden_size=hidden_size, dtype=dtype, **options
        )


def lstm_config(spec: CellSpec, input_size: int, hidden_size: int, dtype: str, **more: Any) -> Any:
    """The `lstm.LSTMConfig` of an LSTM spec (its ``initializer`` is LSTMConfig's ``init``).

    Args:
        spec: a spec named "lstm"; input_size, hidden_size, dtype: the run's; more: options
            overriding the spec's (``t_max``).

    Returns:
        the LSTMConfig (ValueError/TypeError from it, naming a bad field).
    """
    if spec.name != "lstm":
        raise ValueError(f"lstm_config: the cell is {spec.name!r}, not lstm")
    fields = {**dict(spec.options), **more}
    fields["init"] = fields.pop("initializer")
    sizes = {"input_size": input_size, "hidden_size": hidden_size}
    return lstm.LSTMConfig(**sizes, dtype=dtype, **fields)


def flat_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config as one flat mapping: its run fields, ``"cell"``: the cell's name, and
    the cell's slots and options (for labels and tables).

    Args:
        config: a stored config (``{..., "cell": CellSpec.to_dict()}``); a flat one (``"cell"``
            a name or absent: the LSTM) is returned as it is.

    Returns:
        {field: value}.
    """
    cell = config.get("cell", "lstm")
    if not isinstance(cell, Mapping):
        return {**config, "cell": cell}
    run = {k: v for k, v in config.items() if k != "cell"}
    spec = dict(cell)
    return {**run, **{k: v for k, v in spec.items() if k != "name"}, "cell": spec["name"]}


def spec_from_fields(
    record: Mapping[str, Any], owner: str, run_fields: tuple[str, ...] = ()
) -> CellSpec:
    """The cell spec of a record's fields that are not the run's (CLI flags, flat records).

    ``"cell"`` is the cell's name (default "lstm") or a nested `CellSpec.to_dict`; every other
    key is a slot or an option of it, overriding the nested spec's: ``init`` means
    ``initializer`` (the LSTM's flat name), ``options`` holds more as (name, value) pairs.

    Args:
        record: the fields (the run's already taken out); owner: the error messages' prefix;
            run_fields: the owner's own fields, listed when a key is nobody's.

    Returns:
        the CellSpec (ValueError, one line: a key that no cell has is an unknown field, listing
        the run's fields; a key of another cell names the cell's slots and options).
    """
    fields = dict(record)
    cell = fields.pop("cell", "lstm")
    nested = dict(cell) if isinstance(cell, Mapping) else {"name": cell}
    name = nested.pop("name", "lstm")
    options = {**nested, **_pairs(owner, fields.pop("options", ()))}
    if "init" in fields:
        fields["initializer"] = fields.pop("init")
    unknown = sorted(set(fields) - option_names() - set(RUN_SET))
    if unknown:
        valid = ", ".join((*run_fields, "cell", "init", *sorted(option_names())))
        raise ValueError(f"{owner}: unknown field(s) {unknown}; valid: {valid}")
    return CellSpec(name, tuple({**options, **fields}.items()))
