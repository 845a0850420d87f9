"""Stacked cells: layer l reads layer l-1's output, as PyTorch's ``num_layers`` does::

    carry_t^(0), y_t^(0) = cell_0.step(carry_{t-1}^(0), x_t)
    carry_t^(l), y_t^(l) = cell_l.step(carry_{t-1}^(l), y_t^(l-1))         y_t = y_t^(L-1)

States are named ``<state>_l<l>`` ("h_l0", "c_l0", "h_l1", ...); params are a tuple, one
entry per layer. `apply` runs each layer's own `apply` in turn (so an LSTM layer keeps its
fused path); that equals the per-step interleaving above because layer l never reads a later
step of layer l-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from analysis.cells.base import Carry, Cell

Array = jax.Array

__all__ = ["Stack"]


@dataclass(frozen=True)
class Stack(Cell):
    """L cells run one above the other; ``layers`` a tuple of cells, layer l+1's input size
    equal to layer l's hidden size."""

    name: ClassVar[str] = "stack"
    layers: tuple[Cell, ...] = ()

    def __post_init__(self) -> None:
        if not self.layers or not all(isinstance(c, Cell) for c in self.layers):
            raise ValueError("cells.Stack: layers must be a non-empty tuple of cells")
        for lo, hi in zip(self.layers, self.layers[1:], strict=False):
            if hi.input_size != lo.hidden_size:
                raise ValueError(
                    f"cells.Stack: a layer of hidden_size {lo.hidden_size} feeds one of "
                    f"input_size {hi.input_size}"
                )

    @property
    def input_size(self) -> int:  # type: ignore[override]
        """The first layer's input size I."""
        return self.layers[0].input_size

    @property
    def hidden_size(self) -> int:  # type: ignore[override]
        """The last layer's hidden size H (the size of y_t)."""
        return self.layers[-1].hidden_size

    @property
    def dtype(self) -> str:  # type: ignore[override]
        """The first layer's dtype."""
        return self.layers[0].dtype

    @property
    def slots(self) -> tuple[str, ...]:  # type: ignore[override]
        """The first layer's slots (every layer built by `cells.get` has the same)."""
        return self.layers[0].slots

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """``<state>_l<l>`` for every layer l and each of its states."""
        return tuple(f"{k}_l{i}" for i, c in enumerate(self.layers) for k in c.state_names)

    def _split(self, carry: Carry | None, i: int) -> Carry | None:
        if carry is None:
            return None
        return {k: carry[f"{k}_l{i}"] for k in self.layers[i].state_names}

    @staticmethod
    def _join(parts: list[Carry]) -> Carry:
        return {f"{k}_l{i}": v for i, part in enumerate(parts) for k, v in part.items()}

    def init(self, key: Any) -> tuple[Any, ...]:
        """A tuple of per-layer params, layer l from its own split of ``key``."""
        keys = jax.random.split(key, len(self.layers))
        return tuple(c.init(k) for c, k in zip(self.layers, keys, strict=True))

    def initial_carry(self, batch: int) -> Carry:
        """Every layer's zero states, renamed ``<state>_l<l>``, each (batch, H_l)."""
        return self._join([c.initial_carry(batch) for c in self.layers])

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """y_t^(l) = cell_l.step(carry^(l), y_t^(l-1)) for l = 0..L-1; x_t (B, I) -> (carry, y_t)."""
        parts, y = [], x_t
        for i, cell in enumerate(self.layers):
            new, y = cell.step(params[i], self._split(carry, i), y, self._split(perturb, i))
            parts.append(new)
        return self._join(parts), y

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """Every layer's gates, named ``<gate>_l<l>``, each (B, H_l)."""
        out, y = {}, x_t
        for i, cell in enumerate(self.layers):
            sub = self._split(carry, i)
            out.update({f"{k}_l{i}": v for k, v in cell.gates(params[i], sub, y).items()})
            _, y = cell.step(params[i], sub, y)
        return out

    def apply(self, params: Any, xs: Any, carry0: Carry | None = None) -> tuple[Array, Carry]:
        """Each layer's `apply` in turn: xs (B, T, I) -> (ys (B, T, H_last), carry_T)."""
        parts, ys = [], xs
        for i, cell in enumerate(self.layers):
            ys, last = cell.apply(params[i], ys, self._split(carry0, i))
            parts.append(last)
        return ys, self._join(parts)

    def config(self) -> dict[str, Any]:
        """{"cell": first layer's name, "num_layers": L, "layers": [each layer's config]}."""
        return {
            "cell": self.layers[0].name,
            "num_layers": len(self.layers),
            "layers": [c.config() for c in self.layers],
        }
