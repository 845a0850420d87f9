"""The recurrent-cell interface every built-in cell and adapter implements, and its registry.

A cell is a frozen, hashable config (usable as a jit-static argument) with::

    params = cell.init(key)                          # a pytree of arrays in cell.dtype
    carry  = cell.initial_carry(batch)               # {"h": (B, H), ...}: named states
    carry, y_t = cell.step(params, carry, x_t)       # x_t (B, I) -> y_t (B, H)
    ys, carry_T = cell.apply(params, xs)             # xs (B, T, I): one lax.scan over `step`

``step`` also takes ``perturb``, a dict of arrays shaped like the carry, each added to its state
where the step produces it, before the step reads that state again (an LSTM's c_t before h_t
is computed from it). With zero perturbations the gradient with respect to them is the total
derivative dL/d state_t (`analysis.flow.state_norms`).

Activation slots (``cell.slots``) are fields holding kernel names, resolved by `kernels.get`.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

import kernels
from analysis.cells.lstm import DTYPES

Array = jax.Array
Carry = dict[str, Array]

__all__ = [
    "REGISTRY",
    "BuiltinCell",
    "Cell",
    "add_perturb",
    "kernel_fn",
    "perturb_after",
    "register",
]

REGISTRY: dict[str, type[BuiltinCell]] = {}


@functools.cache
def kernel_fn(name: str) -> Callable[[Array], Array]:
    """The elementwise function f of kernel `name` (``kernels.get(name).fn``), cached.

    Args: name: a kernel name (anything `kernels.get` accepts).
    Returns: f, elementwise: any shape in, the same shape and dtype out.
    """
    return kernels.get(name).fn


def register(cls: type[BuiltinCell]) -> type[BuiltinCell]:
    """Class decorator: make `cls` available as ``cells.get(cls.name, ...)``.

    Args: cls: a `BuiltinCell` subclass with a unique ``name``. Returns: cls, unchanged.
    """
    REGISTRY[cls.name] = cls
    return cls


def perturb_after(carry: Carry, y: Any, perturb: Carry | None) -> tuple[Carry, Any]:
    """Add ``perturb[k]`` to each new state ``carry[k]`` after a black-box step.

    Where the step's output y (or a leaf of it) is the very array of a state (``y is h``, as
    Flax cells return it), the output is the perturbed state too, so that a loss on y sees it.
    Args: carry: {name: (B, ...)}; y: the step's output pytree; perturb: like carry, or None.
    Returns: (perturbed carry, y with aliased leaves replaced).
    """
    if perturb is None:
        return carry, y
    new = {k: v + perturb[k].astype(v.dtype) for k, v in carry.items()}
    alias = {id(v): new[k] for k, v in carry.items()}
    return new, jax.tree_util.tree_map(lambda leaf: alias.get(id(leaf), leaf), y)


def add_perturb(value: Array, perturb: Carry | None, name: str) -> Array:
    """value + perturb[name] (cast to value's dtype), or value when perturb is None.

    Args: value (B, ...); perturb: {name: (B, ...)} or None. Returns: an array like value.
    """
    return value if perturb is None else value + perturb[name].astype(value.dtype)


class Cell(abc.ABC):
    """The interface (see the module docstring). Subclasses are frozen dataclasses."""

    name: ClassVar[str] = "cell"
    slots: ClassVar[tuple[str, ...]] = ()
    state_names: tuple[str, ...] = ()
    input_size: int
    hidden_size: int
    dtype: str

    @property
    def jnp_dtype(self) -> jnp.dtype:
        """The compute dtype, ``jnp.dtype(self.dtype)``."""
        return jnp.dtype(self.dtype)

    @property
    def state_size(self) -> int:
        """D, the number of state values per sequence (all named states together)."""
        shapes = jax.eval_shape(lambda: self.initial_carry(1))
        return sum(math.prod(s.shape) for s in jax.tree_util.tree_leaves(shapes))

    @abc.abstractmethod
    def init(self, key: Any) -> Any:
        """Initial parameters (a pytree of arrays in ``self.dtype``) from a PRNG key."""

    def initial_carry(self, batch: int) -> Carry:
        """Zero states: {name: (batch, hidden_size)} for every name in ``state_names``."""
        shape = (batch, self.hidden_size)
        return {k: jnp.zeros(shape, self.jnp_dtype) for k in self.state_names}

    @abc.abstractmethod
    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """One step: (carry_{t-1}, x_t (B, I)) -> (carry_t, y_t (B, H)); see the module doc."""

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """The gate values in [0, 1] the step computes from (carry, x_t): {name: (B, H)}."""
        return {}

    def apply(self, params: Any, xs: Any, carry0: Carry | None = None) -> tuple[Array, Carry]:
        """Run the cell over xs (B, T, I): returns (ys (B, T, H), carry_T), one ``lax.scan``.

        ``carry0`` defaults to `initial_carry` (zeros).
        """
        xs = self._check_xs(xs)
        return _scan_apply(self, params, xs, carry0)

    def _check_xs(self, xs: Any) -> Array:
        xs = jnp.asarray(xs, self.jnp_dtype)
        if xs.ndim != 3 or xs.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.name}.apply: xs must have shape (B, T, {self.input_size}), "
                f"got {tuple(xs.shape)}"
            )
        return xs

    def config(self) -> dict[str, Any]:
        """Every field of the cell, plus ``"cell": name``, JSON-ready (for results records)."""
        out: dict[str, Any] = {"cell": self.name}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.compare:
                out[f.name] = _jsonable(getattr(self, f.name))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Same as `config`."""
        return self.config()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Cell):
        return value.config()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)


@functools.partial(jax.jit, static_argnums=0)
def _scan_apply(cell: Cell, params: Any, xs: Array, carry0: Carry | None) -> tuple[Array, Carry]:
    carry = cell.initial_carry(xs.shape[0]) if carry0 is None else dict(carry0)

    def body(c: Carry, x_t: Array) -> tuple[Carry, Array]:
        return cell.step(params, c, x_t)

    carry, ys = jax.lax.scan(body, carry, jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(ys, 0, 1), carry


@dataclasses.dataclass(frozen=True)
class BuiltinCell(Cell):
    """Base of the built-in cells: sizes, dtype, and validation of every field.

    Each subclass declares ``name``, ``slots`` (fields holding kernel names), ``state_names``,
    ``CHOICES`` (fields with a fixed set of string values) and the paper in its docstring.
    Float fields must be finite reals, bool fields bools, int fields ints >= 1.
    """

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}
    input_size: int = 1
    hidden_size: int = 64
    dtype: str = "float32"

    def __post_init__(self) -> None:
        owner = f"cells.get({self.name!r})"
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for field, value in ((k, getattr(self, k)) for k in defaults):
            default = defaults[field]
            if field in self.slots:
                _check_slot(owner, field, value)
            elif field == "dtype" or field in self.CHOICES:
                valid = DTYPES if field == "dtype" else self.CHOICES[field]
                if value not in valid:
                    raise ValueError(
                        f"{owner}: unknown {field} {value!r}; valid: {', '.join(valid)}"
                    )
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{owner}: {field} must be true or false, got {value!r}")
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int | np.integer):
                    raise ValueError(f"{owner}: {field} must be an integer, got {value!r}")
                if value < 1:
                    raise ValueError(f"{owner}: {field} must be >= 1, got {value}")
            elif isinstance(default, float):
                ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
                if not ok or not math.isfinite(float(value)):
                    raise ValueError(f"{owner}: {field} must be a finite real, got {value!r}")

    def fn(self, slot: str) -> Callable[[Array], Array]:
        """The activation function in slot `slot` (elementwise, dtype kept)."""
        return kernel_fn(getattr(self, slot))

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The keyword options of this cell other than sizes and slots (dtype included)."""
        skip = {"input_size", "hidden_size", *cls.slots}
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)

    def params_from_torch_layer(self, state_dict: Mapping[str, Any]) -> Any:
        """Params of this cell from one layer (suffix ``_l0``) of a PyTorch state dict."""
        raise ValueError(
            f"params_from_torch: cell {self.name!r} has no PyTorch counterpart; "
            "supported: lstm, gru, rnn (one or more layers)"
        )


def _check_slot(owner: str, slot: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{owner}: {slot} must be a kernel name, got {value!r}")
    try:
        kernels.get(value)
    except ValueError as err:
        raise ValueError(f"{owner}: {slot}: {err}") from None
