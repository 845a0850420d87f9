"""Vanilla recurrent cells: the Elman RNN (with IRNN's identity init) and IndRNN.

``rnn`` (Elman 1990), carry {"h"}::

    h_t = candidate(x_t W + h_{t-1} U + b)            W (I, H), U (H, H), b (H,)

``initializer``: "orthogonal" (U = scale * a random orthogonal matrix, W Glorot, b = 0), "identity"
(U = scale * I, W Glorot, b = 0: with candidate="relu" this is the IRNN of Le, Jaitly & Hinton
2015, "A Simple Way to Initialize Recurrent Networks of Rectified Linear Units"), or
"uniform" (PyTorch nn.RNN: every entry U(+-1/sqrt(H)), b = b_ih + b_hh).

``indrnn`` (Li et al. 2018, "Independently Recurrent Neural Network"), carry {"h"}::

    h_t = candidate(x_t W + u * h_{t-1} + b)          u (H,): one recurrent weight per unit

``u`` ~ U(0, scale) at init (the paper keeps |u| <= 2^(1/T) for long memories).
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

__all__ = ["IndRNNCell", "RNNCell"]


@register
@dataclass(frozen=True)
class RNNCell(BuiltinCell):
    """Elman RNN h_t = candidate(x_t W + h_{t-1} U + b); params {"w" (I, H), "u" (H, H), "b" (H,)}.

    Options: ``initializer`` orthogonal | identity | uniform; ``scale`` multiplies U at init.
    References: Elman 1990; Le, Jaitly & Hinton 2015 (IRNN).
    """

    name: ClassVar[str] = "rnn"
    slots: ClassVar[tuple[str, ...]] = ("candidate",)
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "initializer": ("orthogonal", "identity", "uniform")
    }
    candidate: str = "tanh"
    initializer: str = "orthogonal"
    scale: float = 1.0

    def init(self, key: Any) -> dict[str, Array]:
        """Params {"w" (I, H), "u" (H, H), "b" (H,)} in ``dtype``; see the module docstring."""
        return _rnn_init(self, key)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = candidate(x_t W + h_{t-1} U + b); x_t (B, I), h (B, H) -> ({"h": h_t}, h_t)."""
        dt = self.jnp_dtype
        z = x_t.astype(dt) @ params["w"] + carry["h"] @ params["u"] + params["b"]
        h = add_perturb(self.fn("candidate")(z), perturb, "h")
        return {"h": h}, h

    def params_from_torch_layer(self, state_dict: Mapping[str, Any]) -> dict[str, Array]:
        """{"w", "u", "b"} from nn.RNN layer weights: W = weight_ih.T, U = weight_hh.T, b summed."""
        w_ih, w_hh, b_ih, b_hh = torch_weights(state_dict, self, 1)
        dt = self.jnp_dtype
        return {
            "w": jnp.asarray(w_ih.T, dt),
            "u": jnp.asarray(w_hh.T, dt),
            "b": jnp.asarray(b_ih + b_hh, dt),
        }


def _rnn_init(cell: RNNCell, key: Any) -> dict[str, Array]:
    i_n, h_n = cell.input_size, cell.hidden_size
    dt = inits.sample_dtype(cell.dtype)
    k_w, k_u, k_b1, k_b2 = jax.random.split(jnp.asarray(key), 4)
    how = cell.initializer
    if how == "uniform":
        k = 1.0 / math.sqrt(h_n)
        w = inits.uniform(k_w, (i_n, h_n), k, dt)
        u = inits.uniform(k_u, (h_n, h_n), k, dt) * cell.scale
        b = inits.uniform(k_b1, (h_n,), k, dt) + inits.uniform(k_b2, (h_n,), k, dt)
    else:
        w = inits.glorot(k_w, (i_n, h_n), dt)
        if how == "identity":
            u = cell.scale * jnp.eye(h_n, dtype=dt)
        else:
            u = inits.orthogonal_blocks(k_u, h_n, 1, dt, cell.scale)
        b = jnp.zeros((h_n,), dt)
    out = cell.jnp_dtype
    return {"w": w.astype(out), "u": u.astype(out), "b": b.astype(out)}


@register
@dataclass(frozen=True)
class IndRNNCell(BuiltinCell):
    """IndRNN h_t = candidate(x_t W + u * h_{t-1} + b); params {"w" (I, H), "u" (H,), "b" (H,)}.

    Options: ``scale``: u ~ U(0, scale) at init. Reference: Li et al. 2018 (CVPR).
    """

    name: ClassVar[str] = "indrnn"
    slots: ClassVar[tuple[str, ...]] = ("candidate",)
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    candidate: str = "relu"
    scale: float = 1.0

    def init(self, key: Any) -> dict[str, Array]:
        """Params {"w" (I, H) Glorot, "u" (H,) ~ U(0, scale), "b" (H,) = 0} in ``dtype``."""
        dt = inits.sample_dtype(self.dtype)
        k_w, k_u = jax.random.split(jnp.asarray(key))
        w = inits.glorot(k_w, (self.input_size, self.hidden_size), dt)
        u = jax.random.uniform(k_u, (self.hidden_size,), dt, 0.0, self.scale)
        b = jnp.zeros((self.hidden_size,), dt)
        return jax.tree_util.tree_map(lambda a: a.astype(self.jnp_dtype), {"w": w, "u": u, "b": b})

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """h_t = candidate(x_t W + u * h_{t-1} + b); x_t (B, I), h (B, H) -> ({"h": h_t}, h_t)."""
        z = x_t.astype(self.jnp_dtype) @ params["w"] + params["u"] * carry["h"] + params["b"]
        h = add_perturb(self.fn("candidate")(z), perturb, "h")
        return {"h": h}, h
