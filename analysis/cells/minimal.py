"""minGRU and minLSTM: gates from x_t alone, so the recurrence is linear in h. Carry {"h"}.

minGRU::

    z_t = gate(x_t W_z + b_z)        h~_t = candidate(x_t W_h + b_h)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t          dh_t / dh_{t-1} = diag(1 - z_t) exactly

minLSTM (``normalize=True``, the paper's length-independent scaling)::

    f_t = gate(x_t W_f + b_f)    i_t = gate(x_t W_i + b_i)    h~_t = candidate(x_t W_h + b_h)
    f'_t = f_t / (f_t + i_t)     i'_t = i_t / (f_t + i_t)       (f'_t = f_t, i'_t = i_t if not)
    h_t = f'_t * h_{t-1} + i'_t * h~_t              dh_t / dh_{t-1} = diag(f'_t)

The candidate defaults to identity, as in the paper's sequential form (its log-space form uses
a positive g(x) instead). The recurrence could be a parallel scan; `apply` keeps one lax.scan
so that every cell is measured the same way.

References:
    Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import inits
from analysis.cells.base import BuiltinCell, Carry, add_perturb, register

Array = jax.Array

__all__ = ["MinGRUCell", "MinLSTMCell"]


def _linear_init(cell: BuiltinCell, key: Any, n: int, bias_slice: int, bias: float) -> dict:
    """{"w" (I, nH) Glorot, "b" (nH,) zero but block `bias_slice` = bias}, in cell.dtype."""
    dt = inits.sample_dtype(cell.dtype)
    h_n = cell.hidden_size
    w = inits.glorot(jnp.asarray(key), (cell.input_size, n * h_n), dt)
    b = jnp.zeros((n * h_n,), dt).at[bias_slice * h_n : (bias_slice + 1) * h_n].set(bias)
    return {"w": w.astype(cell.jnp_dtype), "b": b.astype(cell.jnp_dtype)}


@register
@dataclass(frozen=True)
class MinGRUCell(BuiltinCell):
    """minGRU (module docstring); params {"w" (I, 2H), "b" (2H,)}, columns z then h~.

    Options: ``gate_bias`` sets b_z at init (negative: z small, the state is kept longer).
    """

    name: ClassVar[str] = "mingru"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate")
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    gate: str = "sigmoid"
    candidate: str = "identity"
    gate_bias: float = 0.0

    def init(self, key: Any) -> dict[str, Array]:
        """Params in ``dtype``: w (I, 2H) Glorot, b (2H,) with b_z = gate_bias, b_h = 0."""
        return _linear_init(self, key, 2, 0, self.gate_bias)

    def _parts(self, params: Any, x_t: Array) -> tuple[Array, Array]:
        zx = x_t.astype(self.jnp_dtype) @ params["w"] + params["b"]
        zz, zh = jnp.split(zx, 2, axis=-1)
        return self.fn("gate")(zz), self.fn("candidate")(zh)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = (1 - z_t) * h_{t-1} + z_t * h~_t; x_t (B, I) -> ({"h"}, h_t (B, H))."""
        z, cand = self._parts(params, x_t)
        h = add_perturb((1 - z) * carry["h"] + z * cand, perturb, "h")
        return {"h": h}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"update": z_t} (B, H)."""
        return {"update": self._parts(params, x_t)[0]}


@register
@dataclass(frozen=True)
class MinLSTMCell(BuiltinCell):
    """minLSTM (module docstring); params {"w" (I, 3H), "b" (3H,)}, columns f, i, h~.

    Options: ``normalize`` (f' = f / (f + i), i' = i / (f + i)); ``forget_bias`` sets b_f.
    """

    name: ClassVar[str] = "minlstm"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate")
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    gate: str = "sigmoid"
    candidate: str = "identity"
    forget_bias: float = 1.0
    normalize: bool = True

    def init(self, key: Any) -> dict[str, Array]:
        """Params in ``dtype``: w (I, 3H) Glorot, b (3H,) with b_f = forget_bias, others 0."""
        return _linear_init(self, key, 3, 0, self.forget_bias)

    def _parts(self, params: Any, x_t: Array) -> tuple[Array, Array, Array]:
        zx = x_t.astype(self.jnp_dtype) @ params["w"] + params["b"]
        zf, zi, zh = jnp.split(zx, 3, axis=-1)
        gate = self.fn("gate")
        f, i = gate(zf), gate(zi)
        if self.normalize:
            # A gate kernel that can reach 0 (relu, hard_sigmoid) can make f + i = 0: that
            # unit then keeps nothing and adds nothing (f' = i' = 0) instead of 0/0.
            s = f + i
            safe = jnp.where(s == 0, jnp.ones_like(s), s)
            f, i = f / safe, i / safe
        return f, i, self.fn("candidate")(zh)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = f'_t * h_{t-1} + i'_t * h~_t; x_t (B, I) -> ({"h"}, h_t (B, H))."""
        f, i, cand = self._parts(params, x_t)
        h = add_perturb(f * carry["h"] + i * cand, perturb, "h")
        return {"h": h}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"forget": f'_t, "input": i'_t}, each (B, H) (normalised if ``normalize``)."""
        f, i, _ = self._parts(params, x_t)
        return {"forget": f, "input": i}
