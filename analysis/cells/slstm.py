"""xLSTM's sLSTM: an exponential input gate, a stabiliser state m and a normaliser n.

Carry {"h", "c", "n", "m"}; pre-activations in gate order i, f, z, o (as the xLSTM code)::

    (i~, f~, z~, o~) = x_t W + h_{t-1} U + b
    log f_t = log sigmoid(f~)   (forget="sigmoid")   or   f~   (forget="exp")
    m_t  = max(i~, log f_t + m_{t-1})            (m_t = i~ where n_{t-1} = 0: an empty memory)
    i'_t = exp(i~ - m_t)          f'_t = exp(log f_t + m_{t-1} - m_t)      (both in (0, 1])
    c_t  = f'_t c_{t-1} + i'_t candidate(z~)
    n_t  = f'_t n_{t-1} + i'_t
    h_t  = gate(o~) * c_t / n_t

The stabiliser rescales c and n by the same factor exp(-m_t), so c_t / n_t is the unstabilised
ratio (sum_s prod f * exp(i~_s) z_s) / (sum_s prod f * exp(i~_s)) without exp overflowing.
n_t >= 1 after the first step (either i'_t = 1 or f'_t = 1), so the division is safe.
m is a gauge: m_t + d with c_t, n_t scaled by e^-d is the same memory, so the total derivative
dL/dm_t (perturbed where step t produces it) is exactly 0; its measured norms are rounding.

References:
    Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory", section 2.2 (one head: a dense
    recurrent matrix U instead of the paper's block-diagonal heads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import inits
from analysis.cells.base import BuiltinCell, Carry, add_perturb, register

Array = jax.Array

__all__ = ["SLSTMCell"]


@register
@dataclass(frozen=True)
class SLSTMCell(BuiltinCell):
    """sLSTM (module docstring); params {"w_ih" (I, 4H), "w_hh" (H, 4H), "b" (4H,)}, order i f z o.

    Slots: ``gate`` (output gate o, sigmoid), ``candidate`` (z, tanh). Options: ``forget``
    sigmoid | exp; ``forget_bias`` added to b_f by `init`; ``initializer`` orthogonal (W
    Glorot, U blocks orthogonal, b = 0) | uniform (U(+-1/sqrt(H)) everywhere, PyTorch-like).
    """

    name: ClassVar[str] = "slstm"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate")
    state_names: ClassVar[tuple[str, ...]] = ("h", "c", "n", "m")
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "forget": ("sigmoid", "exp"),
        "initializer": ("orthogonal", "uniform"),
    }
    gate: str = "sigmoid"
    candidate: str = "tanh"
    forget: str = "sigmoid"
    forget_bias: float = 1.0
    initializer: str = "orthogonal"

    def init(self, key: Any) -> dict[str, Array]:
        """Params in ``dtype``: w_ih (I, 4H), w_hh (H, 4H), b (4H,) with forget_bias in b_f."""
        i_n, h_n = self.input_size, self.hidden_size
        dt = inits.sample_dtype(self.dtype)
        k_w, k_u, k_b = jax.random.split(jnp.asarray(key), 3)
        if self.initializer == "uniform":
            k = 1.0 / math.sqrt(h_n)
            w_ih = inits.uniform(k_w, (i_n, 4 * h_n), k, dt)
            w_hh = inits.uniform(k_u, (h_n, 4 * h_n), k, dt)
            b = inits.uniform(k_b, (4 * h_n,), k, dt)
        else:
            w_ih = inits.glorot(k_w, (i_n, 4 * h_n), dt)
            w_hh = inits.orthogonal_blocks(k_u, h_n, 4, dt)
            b = jnp.zeros((4 * h_n,), dt)
        b = b.at[h_n : 2 * h_n].add(self.forget_bias)
        params = {"w_ih": w_ih, "w_hh": w_hh, "b": b}
        return jax.tree_util.tree_map(lambda a: a.astype(self.jnp_dtype), params)

    def _gates(self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None) -> tuple:
        z = x_t.astype(self.jnp_dtype) @ params["w_ih"] + carry["h"] @ params["w_hh"] + params["b"]
        zi, zf, zz, zo = jnp.split(z, 4, axis=-1)
        log_f = jax.nn.log_sigmoid(zf) if self.forget == "sigmoid" else zf
        m_prev = carry["m"]
        empty = carry["n"] == 0
        m = add_perturb(jnp.where(empty, zi, jnp.maximum(zi, log_f + m_prev)), perturb, "m")
        i_s = jnp.exp(zi - m)
        # An empty memory (n = c = 0) forgets nothing that exists; the double where keeps a
        # large log f + m_prev - m from overflowing into inf * 0 = nan there (and in its grad).
        log_fs = jnp.where(empty, jnp.zeros_like(m), log_f + m_prev - m)
        f_s = jnp.where(empty, jnp.zeros_like(m), jnp.exp(log_fs))
        return i_s, f_s, zz, self.fn("gate")(zo), m

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """One sLSTM step (module docstring): x_t (B, I) -> ({"h", "c", "n", "m"}, h_t (B, H))."""
        i_s, f_s, zz, o, m = self._gates(params, carry, x_t, perturb)
        c = add_perturb(f_s * carry["c"] + i_s * self.fn("candidate")(zz), perturb, "c")
        n = add_perturb(f_s * carry["n"] + i_s, perturb, "n")
        h = add_perturb(o * (c / n), perturb, "h")
        return {"h": h, "c": c, "n": n, "m": m}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """Stabilised {"input": i'_t, "forget": f'_t} in (0, 1] and {"output": o_t}, each (B, H)."""
        i_s, f_s, _, o, _ = self._gates(params, carry, x_t, None)
        return {"input": i_s, "forget": f_s, "output": o}
