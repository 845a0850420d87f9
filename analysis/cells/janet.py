"""JANET: an LSTM with only a forget gate (and the input gate tied to it), carry {"h"}::

    s_t = x_t W_f + h_{t-1} U_f + b_f
    c~_t = candidate(x_t W_c + h_{t-1} U_c + b_c)
    h_t = gate(s_t) * h_{t-1} + (1 - gate(s_t - beta)) * c~_t

The cell state is the output (h_t = c_t); ``beta`` shifts the input gate so that a little more
information is kept than a tied gate 1 - f would keep. ``initializer="chrono"`` draws
b_f ~ ln U[1, t_max - 1] (Tallec & Ollivier 2018), as the paper does.

References:
    van der Westhuizen & Lasenby 2018, "The unreasonable effectiveness of the forget gate".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import inits
from analysis.cells.base import BuiltinCell, Carry, add_perturb, register

Array = jax.Array

__all__ = ["JANETCell"]


@register
@dataclass(frozen=True)
class JANETCell(BuiltinCell):
    """JANET (module docstring); params {"w_ih" (I, 2H), "w_hh" (H, 2H), "b" (2H,)}, columns f, c.

    Options: ``beta`` (default 1); ``initializer`` orthogonal (b = 0, plus ``forget_bias``) |
    chrono (b_f ~ ln U[1, t_max - 1], needs ``t_max`` >= 2); ``t_max``.
    """

    name: ClassVar[str] = "janet"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate")
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"initializer": ("orthogonal", "chrono")}
    gate: str = "sigmoid"
    candidate: str = "tanh"
    beta: float = 1.0
    forget_bias: float = 1.0
    initializer: str = "orthogonal"
    t_max: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.t_max < 2:
            raise ValueError(f"cells.get('janet'): t_max must be >= 2, got {self.t_max}")

    def init(self, key: Any) -> dict[str, Array]:
        """Params in ``dtype``: w_ih (I, 2H) Glorot, w_hh (H, 2H) orthogonal blocks, b (2H,)."""
        i_n, h_n = self.input_size, self.hidden_size
        dt = inits.sample_dtype(self.dtype)
        k_w, k_u, k_b = jax.random.split(jnp.asarray(key), 3)
        b = jnp.zeros((2 * h_n,), dt)
        if self.initializer == "chrono":
            u = jax.random.uniform(k_b, (h_n,), dt, 1.0, float(self.t_max - 1))
            b = b.at[:h_n].set(jnp.log(u))
        b = b.at[:h_n].add(self.forget_bias if self.initializer == "orthogonal" else 0.0)
        params = {
            "w_ih": inits.glorot(k_w, (i_n, 2 * h_n), dt),
            "w_hh": inits.orthogonal_blocks(k_u, h_n, 2, dt),
            "b": b,
        }
        return jax.tree_util.tree_map(lambda a: a.astype(self.jnp_dtype), params)

    def _parts(self, params: Any, h: Array, x_t: Array) -> tuple[Array, Array]:
        z = x_t.astype(self.jnp_dtype) @ params["w_ih"] + h @ params["w_hh"] + params["b"]
        s, zc = jnp.split(z, 2, axis=-1)
        return s, self.fn("candidate")(zc)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = gate(s) h_{t-1} + (1 - gate(s - beta)) c~_t; x_t (B, I) -> ({"h"}, h_t (B, H))."""
        h = carry["h"]
        s, cand = self._parts(params, h, x_t)
        gate = self.fn("gate")
        h = add_perturb(gate(s) * h + (1 - gate(s - self.beta)) * cand, perturb, "h")
        return {"h": h}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"forget": gate(s_t), "input": 1 - gate(s_t - beta)}, each (B, H)."""
        s, _ = self._parts(params, carry["h"], x_t)
        gate = self.fn("gate")
        return {"forget": gate(s), "input": 1 - gate(s - self.beta)}
