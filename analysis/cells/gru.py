"""The GRU in PyTorch's convention (r applied after the recurrent matmul), carry {"h"}::

    r_t = gate(x_t W_r + b_ir + h_{t-1} U_r + b_hr)
    z_t = gate(x_t W_z + b_iz + h_{t-1} U_z + b_hz)
    n_t = candidate(x_t W_n + b_in + r_t * (h_{t-1} U_n + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

There is no output activation: with gates in [0, 1], h_t is a convex combination of n_t and
h_{t-1}, so |h_t| <= max(|h_{t-1}|, |n_t|) stays bounded by the candidate's range. With all
weights zero, dh_t/dh_{t-1} = diag(z_t) = sigma(b_z): gradients shrink by exactly that per step.

References:
    Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder"; the
    r-after-matmul form is cuDNN's and PyTorch's nn.GRU (Chung et al. 2014 compare variants).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import inits
from analysis.cells.base import BuiltinCell, Carry, add_perturb, register
from analysis.cells.torch_layers import torch_weights

Array = jax.Array

__all__ = ["GRUCell"]


@register
@dataclass(frozen=True)
class GRUCell(BuiltinCell):
    """GRU (PyTorch convention); params {"w_ih" (I, 3H), "w_hh" (H, 3H), "b_ih", "b_hh" (3H,)}.

    Columns in gate order r, z, n, as PyTorch. Options: ``initializer`` orthogonal (W Glorot,
    each (H, H) block of U orthogonal, biases 0) | uniform (PyTorch: U(+-1/sqrt(H)));
    ``update_bias`` added to b_iz by `init` (z near 1 keeps the state: a GRU's forget bias).
    """

    name: ClassVar[str] = "gru"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate")
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"initializer": ("orthogonal", "uniform")}
    gate: str = "sigmoid"
    candidate: str = "tanh"
    initializer: str = "orthogonal"
    update_bias: float = 0.0

    def init(self, key: Any) -> dict[str, Array]:
        """Params in ``dtype``: w_ih (I, 3H), w_hh (H, 3H), b_ih (3H,) (+ update_bias), b_hh."""
        i_n, h_n = self.input_size, self.hidden_size
        dt = inits.sample_dtype(self.dtype)
        k_w, k_u, k_b1, k_b2 = jax.random.split(jnp.asarray(key), 4)
        if self.initializer == "uniform":
            k = 1.0 / math.sqrt(h_n)
            w_ih = inits.uniform(k_w, (i_n, 3 * h_n), k, dt)
            w_hh = inits.uniform(k_u, (h_n, 3 * h_n), k, dt)
            b_ih = inits.uniform(k_b1, (3 * h_n,), k, dt)
            b_hh = inits.uniform(k_b2, (3 * h_n,), k, dt)
        else:
            w_ih = inits.glorot(k_w, (i_n, 3 * h_n), dt)
            w_hh = inits.orthogonal_blocks(k_u, h_n, 3, dt)
            b_ih = b_hh = jnp.zeros((3 * h_n,), dt)
        b_ih = b_ih.at[h_n : 2 * h_n].add(self.update_bias)
        params = {"w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}
        return jax.tree_util.tree_map(lambda a: a.astype(self.jnp_dtype), params)

    def _pre(self, params: Any, h: Array, x_t: Array) -> tuple[Array, ...]:
        gx = x_t.astype(self.jnp_dtype) @ params["w_ih"] + params["b_ih"]
        gh = h @ params["w_hh"] + params["b_hh"]
        xr, xz, xn = jnp.split(gx, 3, axis=-1)
        hr, hz, hn = jnp.split(gh, 3, axis=-1)
        gate = self.fn("gate")
        return gate(xr + hr), gate(xz + hz), xn, hn

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = (1 - z) * n + z * h_{t-1} (module docstring); x_t (B, I) -> ({"h"}, h_t (B, H))."""
        h = carry["h"]
        r, z, xn, hn = self._pre(params, h, x_t)
        n = self.fn("candidate")(xn + r * hn)
        h = add_perturb((1 - z) * n + z * h, perturb, "h")
        return {"h": h}, h

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"reset": r_t, "update": z_t}, each (B, H)."""
        r, z, _, _ = self._pre(params, carry["h"], x_t)
        return {"reset": r, "update": z}

    def params_from_torch_layer(self, state_dict: Mapping[str, Any]) -> dict[str, Array]:
        """Params from nn.GRU layer weights: transposed weights, both biases kept (b_hn matters)."""
        w_ih, w_hh, b_ih, b_hh = torch_weights(state_dict, self, 3)
        dt = self.jnp_dtype
        return {
            "w_ih": jnp.asarray(w_ih.T, dt),
            "w_hh": jnp.asarray(w_hh.T, dt),
            "b_ih": jnp.asarray(b_ih, dt),
            "b_hh": jnp.asarray(b_hh, dt),
        }
