"""The layer-normalised LSTM (Ba, Kiros & Hinton 2016), carry {"h", "c"}, gate order i, f, g, o::

    LN(v; s, b) = s * (v - mean(v)) / sqrt(var(v) + 1e-5) + b      over the last axis
    z   = LN(x_t W_ih; s_x, b_x) + LN(h_{t-1} W_hh; s_h, b_h) + b   i, f, g, o = split(z, 4)
    c_t = gate(f) * c_{t-1} + gate(i) * candidate(g)
    h_t = gate(o) * output(LN(c_t; s_c, b_c))

The input and recurrent pre-activations are normalised separately, each over all 4H of its
gates at once, and the cell state only where the output reads it (c_t itself is carried
unnormalised). Placement, epsilon 1e-5 inside the square root, and the gains 1 and biases 0 at
init were read from the authors' code, github.com/ryankiros/layer-norm, layers.py (commit
d415153fd6eb, ``lnlstm_layer`` and ``ln``); the paper's equations (20)-(22) say the same.
The candidate and output slots are pluggable, as the LSTM's.

References: Ba, Kiros & Hinton 2016, "Layer normalization", arXiv:1607.06450, section 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import inits
from analysis.cells.base import BuiltinCell, Carry, add_perturb, register

Array = jax.Array

__all__ = ["LN_EPS", "LNLSTMCell", "layer_norm"]

LN_EPS = 1e-5


def layer_norm(v: Array, scale: Array, bias: Array) -> Array:
    """scale * (v - mean(v)) / sqrt(var(v) + LN_EPS) + bias over the last axis, dtype kept.

    Args: v (..., N); scale, bias (N,). Returns: (..., N).
    """
    mean = jnp.mean(v, axis=-1, keepdims=True)
    centred = v - mean
    var = jnp.mean(jnp.square(centred), axis=-1, keepdims=True)
    return scale * centred * jax.lax.rsqrt(var + jnp.asarray(LN_EPS, v.dtype)) + bias


@register
@dataclass(frozen=True)
class LNLSTMCell(BuiltinCell):
    """Layer-normalised LSTM (module docstring).

    Params {"w_ih" (I, 4H), "w_hh" (H, 4H), "b" (4H,), "s_x", "b_x", "s_h", "b_h" (4H,),
    "s_c", "b_c" (H,)}. Options: ``forget_bias`` added to b's f slice by `init`.
    Reference: Ba, Kiros & Hinton 2016.
    """

    name: ClassVar[str] = "lnlstm"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate", "output")
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")
    gate: str = "sigmoid"
    candidate: str = "tanh"
    output: str = "tanh"
    forget_bias: float = 1.0

    def init(self, key: Any) -> dict[str, Array]:
        """W_ih Glorot, W_hh orthogonal blocks, b = 0 (forget_bias in b_f), gains 1, LN biases 0."""
        i_n, h_n = self.input_size, self.hidden_size
        dt = inits.sample_dtype(self.dtype)
        k_w, k_u = jax.random.split(jnp.asarray(key))
        ones4, zeros4 = jnp.ones((4 * h_n,), dt), jnp.zeros((4 * h_n,), dt)
        params = {
            "w_ih": inits.glorot(k_w, (i_n, 4 * h_n), dt),
            "w_hh": inits.orthogonal_blocks(k_u, h_n, 4, dt),
            "b": zeros4.at[h_n : 2 * h_n].add(self.forget_bias),
            "s_x": ones4,
            "b_x": zeros4,
            "s_h": ones4,
            "b_h": zeros4,
            "s_c": jnp.ones((h_n,), dt),
            "b_c": jnp.zeros((h_n,), dt),
        }
        return jax.tree_util.tree_map(lambda a: a.astype(self.jnp_dtype), params)

    def _gates(self, params: Any, carry: Carry, x_t: Array) -> tuple[Array, ...]:
        p = params
        zx = layer_norm(x_t.astype(self.jnp_dtype) @ p["w_ih"], p["s_x"], p["b_x"])
        zh = layer_norm(carry["h"] @ p["w_hh"], p["s_h"], p["b_h"])
        zi, zf, zg, zo = jnp.split(zx + zh + p["b"], 4, axis=-1)
        gate = self.fn("gate")
        return gate(zi), gate(zf), zg, gate(zo)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """One step (module docstring): x_t (B, I) -> ({"h", "c"}, h_t (B, H)); a perturbation
        of c_t is added before h_t is computed from it, as the LSTM's."""
        i, f, zg, o = self._gates(params, carry, x_t)
        c = add_perturb(f * carry["c"] + i * self.fn("candidate")(zg), perturb, "c")
        c_norm = layer_norm(c, params["s_c"], params["b_c"])
        h = add_perturb(o * self.fn("output")(c_norm), perturb, "h")
        return {"h": h, "c": c}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"input": i_t, "forget": f_t, "output": o_t}, each (B, H) (gate-activated)."""
        i, f, _, o = self._gates(params, carry, x_t)
        return {"input": i, "forget": f, "output": o}
