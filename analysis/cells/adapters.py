"""Bring your own cell: Flax linen and Equinox recurrent cells behind the cell interface.

The adapted cell's params are the user's own weights (`init` returns them; the key is not
used), its carry is the framework's carry with named states, and `step` calls the framework
itself, so the analysis sees exactly the user's model. State names: Flax's LSTM cells carry
(c, h) -> {"c", "h"}; Equinox's LSTMCell (h, c) -> {"h", "c"}; a single array -> {"h"};
an Equinox 2-tuple -> {"h", "c"};
another tuple -> {"s0", "s1", ...} (or ``states=``); a dict carry keeps its keys.

A perturbation (`analysis.flow.state_norms`) is added to each state after the framework's
step (a black box): dL/d state_t counts the paths through later steps and through y_t where
y_t is that state (Flax returns y_t = h_t), not paths inside the step itself (for an LSTM the
c_t -> h_t path of the same step; the built-in ``lstm`` counts that one too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells.base import Carry, Cell, perturb_after

Array = jax.Array

__all__ = ["EquinoxCell", "FlaxCell", "from_equinox", "from_flax"]


def _names_for(native: Any, states: tuple[str, ...] | None, lstm_names: tuple[str, ...]) -> tuple:
    if isinstance(native, Mapping):
        return tuple(native)
    n = len(native) if isinstance(native, tuple | list) else 1
    if states is not None:
        if len(states) != n:
            raise ValueError(f"states: the carry has {n} state(s), got names {states}")
        return tuple(states)
    if not isinstance(native, tuple | list):
        return ("h",)
    return lstm_names if n == 2 and lstm_names else tuple(f"s{i}" for i in range(n))


def _to_native(kind: str, names: tuple[str, ...], carry: Carry) -> Any:
    if kind == "dict":
        return {k: carry[k] for k in names}
    if kind == "tuple":
        return tuple(carry[k] for k in names)
    return carry[names[0]]


def _to_named(names: tuple[str, ...], native: Any) -> Carry:
    if isinstance(native, Mapping):
        return dict(native)
    leaves = native if isinstance(native, tuple | list) else (native,)
    return dict(zip(names, leaves, strict=True))


def _kind(native: Any) -> str:
    return (
        "dict"
        if isinstance(native, Mapping)
        else "tuple"
        if isinstance(native, tuple | list)
        else "array"
    )


def _dtype_of(tree: Any) -> str:
    leaves = [
        x
        for x in jax.tree_util.tree_leaves(tree)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)
    ]
    return "float64" if any(jnp.asarray(x).dtype == jnp.float64 for x in leaves) else "float32"


@dataclass(frozen=True)
class FlaxCell(Cell):
    """A flax.linen ``RNNCellBase`` as a cell: step = ``module.apply(params, carry, x_t)``."""

    name: ClassVar[str] = "flax"
    module: Any = None
    input_size: int = 1
    hidden_size: int = 1
    state_names: tuple[str, ...] = ()
    carry_kind: str = "array"
    dtype: str = "float32"
    variables: Any = field(default=None, compare=False, repr=False)

    def init(self, key: Any = None) -> Any:
        """The variables given to `from_flax` (the key is not used)."""
        return self.variables

    def initial_carry(self, batch: int) -> Carry:
        """``module.initialize_carry`` for inputs (batch, I), named and in ``dtype``."""
        native = self.module.initialize_carry(jax.random.key(0), (batch, self.input_size))
        named = _to_named(self.state_names, native)
        return {k: jnp.asarray(v, self.jnp_dtype) for k, v in named.items()}

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """(carry_t, y_t) = module.apply(params, carry_{t-1}, x_t (B, I)), perturbed after."""
        native = _to_native(self.carry_kind, self.state_names, carry)
        new, y = self.module.apply(params, native, jnp.asarray(x_t, self.jnp_dtype))
        return perturb_after(_to_named(self.state_names, new), y, perturb)


def _flax_input_size(module: Any, variables: Any) -> int:
    """The input size I for which module.apply runs: tried over the 2-D kernels' row counts."""
    sizes = sorted({x.shape[0] for x in jax.tree_util.tree_leaves(variables) if jnp.ndim(x) == 2})
    for size in sizes:
        try:
            carry = module.initialize_carry(jax.random.key(0), (1, size))
            jax.eval_shape(module.apply, variables, carry, jnp.zeros((1, size)))
            return int(size)
        except Exception:  # any failure means: not this size
            continue
    raise ValueError("from_flax: could not infer input_size from the variables; pass input_size=")


def from_flax(
    module: Any,
    variables: Any,
    *,
    input_size: int | None = None,
    states: tuple[str, ...] | None = None,
) -> FlaxCell:
    """A cell from any flax.linen ``nn.RNNCellBase`` (LSTMCell, OptimizedLSTMCell, GRUCell,
    SimpleCell, MGUCell, or a subclass) and its variables (``module.init(...)``).

    Args: module: the cell module; variables: its variables dict; input_size I (inferred
        when None); states: names for a tuple carry. Returns: a `FlaxCell` (xs (B, T, I)).
    """
    try:
        import flax.linen as nn
    except ImportError as err:
        raise ValueError(f"from_flax: flax is not importable ({err})") from None
    if not isinstance(module, nn.RNNCellBase):
        raise ValueError(
            "from_flax: expected a flax.linen RNNCellBase (LSTMCell, OptimizedLSTMCell, GRUCell, "
            f"SimpleCell, MGUCell or a subclass), got {type(module).__name__}"
        )
    if not isinstance(variables, Mapping):
        raise ValueError(f"from_flax: variables must be a dict, got {type(variables).__name__}")
    size = _flax_input_size(module, variables) if input_size is None else input_size
    native = module.initialize_carry(jax.random.key(0), (1, size))
    lstm_names = ("c", "h") if isinstance(module, nn.LSTMCell | nn.OptimizedLSTMCell) else ()
    names = _names_for(native, states, lstm_names)
    hidden = max(int(x.shape[-1]) for x in jax.tree_util.tree_leaves(native))
    return FlaxCell(module, size, hidden, names, _kind(native), _dtype_of(variables), variables)


@dataclass(frozen=True)
class EquinoxCell(Cell):
    """An Equinox cell ``cell(x (I,), hidden) -> hidden`` as a batched cell (vmapped); y_t = h."""

    name: ClassVar[str] = "equinox"
    static: Any = None
    input_size: int = 1
    hidden_size: int = 1
    state_names: tuple[str, ...] = ()
    carry_kind: str = "array"
    dtype: str = "float32"
    weights: Any = field(default=None, compare=False, repr=False)

    def init(self, key: Any = None) -> Any:
        """The module's array leaves (``eqx.partition(cell, eqx.is_inexact_array)[0]``)."""
        return self.weights

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """carry_t = vmap(cell)(x_t (B, I), carry_{t-1}); y_t = carry_t["h"] (else the first)."""
        import equinox as eqx

        module = eqx.combine(params, self.static)
        native = _to_native(self.carry_kind, self.state_names, carry)
        new = jax.vmap(module)(jnp.asarray(x_t, self.jnp_dtype), native)
        named = _to_named(self.state_names, new)
        y = named["h"] if "h" in named else named[self.state_names[0]]
        return perturb_after(named, y, perturb)


def _eqx_structure(cell: Any, i_n: int, h_n: int, states: tuple[str, ...] | None) -> Any:
    """The per-sample hidden structure the module takes: (h, c) or an array (or ``states``)."""
    z = jnp.zeros((h_n,), _dtype_of(cell))
    tries = [tuple(z for _ in states)] if states and len(states) > 1 else [(z, z), z]
    if states and len(states) == 1:
        tries = [z]
    for hidden in tries:
        try:
            out = jax.eval_shape(cell, jnp.zeros((i_n,), z.dtype), hidden)
        except Exception:  # the module does not take this structure
            continue
        if jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(hidden):
            return hidden
    raise ValueError(
        f"from_equinox: {type(cell).__name__} does not map (x ({i_n},), hidden) to a hidden state "
        f"of the same structure, with hidden ({h_n},) or a tuple of them"
    )


def from_equinox(
    cell: Any,
    *,
    input_size: int | None = None,
    hidden_size: int | None = None,
    states: tuple[str, ...] | None = None,
) -> EquinoxCell:
    """A cell from eqx.nn.LSTMCell, eqx.nn.GRUCell or any module ``cell(x (I,), hidden) -> hidden``.

    Args: cell: the Equinox module; input_size, hidden_size: read from the module's attributes
        when None; states: names for a tuple hidden state. Returns: an `EquinoxCell`.
    """
    try:
        import equinox as eqx
    except ImportError as err:
        raise ValueError(f"from_equinox: equinox is not importable ({err})") from None
    if not isinstance(cell, eqx.Module) or not callable(cell):
        raise ValueError(
            "from_equinox: expected an Equinox module cell(x, hidden) -> hidden (eqx.nn.LSTMCell, "
            f"eqx.nn.GRUCell, ...), got {type(cell).__name__}"
        )
    i_n = input_size if input_size is not None else getattr(cell, "input_size", None)
    h_n = hidden_size if hidden_size is not None else getattr(cell, "hidden_size", None)
    if not isinstance(i_n, int) or not isinstance(h_n, int):
        raise ValueError(
            f"from_equinox: {type(cell).__name__} has no integer input_size/hidden_size (not a "
            "recurrent cell?); for a custom cell pass input_size= and hidden_size="
        )
    hidden = _eqx_structure(cell, i_n, h_n, states)
    lstm_names = ("h", "c") if isinstance(cell, eqx.nn.LSTMCell) or states is None else ()
    names = _names_for(hidden, states, lstm_names)
    weights, static = eqx.partition(cell, eqx.is_inexact_array)
    return EquinoxCell(static, i_n, h_n, names, _kind(hidden), _dtype_of(weights), weights)
