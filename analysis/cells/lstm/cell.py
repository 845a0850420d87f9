"""The LSTM of `analysis.cells.lstm` behind the cell interface, carry {"h", "c"}::

    z = x_t W_ih + h_{t-1} W_hh + b          i, f, g, o = split(z, 4)
    c_t = gate(f) * c_{t-1} + gate(i) * candidate(g)
    h_t = gate(o) * output(c_t)

Every field of `lstm.LSTMConfig` is a field here (its ``init`` is called ``initializer``,
since ``init`` is the method); `apply` is `lstm.apply`, so ``fused=True`` keeps the fused
fast path (hand-written backward). `step` is `lstm.step` with the perturbation of c_t added
before h_t is computed from it, as `analysis.flow.gradients` defines dL/dc_t.

References: Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000 (forget gate).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from analysis.cells import lstm
from analysis.cells.base import BuiltinCell, Carry, register

Array = jax.Array

__all__ = ["LSTMCell"]


@register
@dataclass(frozen=True)
class LSTMCell(BuiltinCell):
    """The project's LSTM as a cell; params `lstm.LSTMParams` (w_ih (I, 4H), w_hh (H, 4H), b).

    Options as `lstm.LSTMConfig`: ``forget_bias``, ``initializer`` (orthogonal | uniform |
    chrono, with ``t_max``), ``unroll``, ``remat``, ``fused``.
    """

    name: ClassVar[str] = "lstm"
    slots: ClassVar[tuple[str, ...]] = ("gate", "candidate", "output")
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"initializer": lstm.INITS}
    # Defaults are LSTMConfig's own, so that the two cannot drift apart.
    gate: str = lstm.LSTMConfig.gate
    candidate: str = lstm.LSTMConfig.candidate
    output: str = lstm.LSTMConfig.output
    forget_bias: float = lstm.LSTMConfig.forget_bias
    initializer: str = lstm.LSTMConfig.init
    unroll: int = lstm.LSTMConfig.unroll
    remat: bool = lstm.LSTMConfig.remat
    t_max: int | None = lstm.LSTMConfig.t_max
    fused: bool = lstm.LSTMConfig.fused

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            _ = self.lstm_config
        except (TypeError, ValueError) as err:
            raise ValueError(f"cells.get('lstm'): {err}") from None

    @functools.cached_property
    def lstm_config(self) -> lstm.LSTMConfig:
        """The equivalent `lstm.LSTMConfig`."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["init"] = fields.pop("initializer")
        return lstm.LSTMConfig(**fields)

    def init(self, key: Any) -> lstm.LSTMParams:
        """`lstm.init`: w_ih (I, 4H), w_hh (H, 4H), b (4H,) in ``dtype``, gate order i f g o."""
        return lstm.init(key, self.lstm_config)

    def step(
        self, params: Any, carry: Carry, x_t: Array, perturb: Carry | None = None
    ) -> tuple[Carry, Array]:
        """`lstm.step` on z_x = x_t W_ih + b: x_t (B, I) -> ({"h", "c"}, h_t (B, H))."""
        cfg = self.lstm_config
        z_x = x_t.astype(self.jnp_dtype) @ params.w_ih + params.b
        dc = None if perturb is None else perturb["c"].astype(z_x.dtype)
        dh = None if perturb is None else perturb["h"].astype(z_x.dtype)
        (h, c), y = lstm.step(params, cfg, (carry["h"], carry["c"]), z_x, dc=dc, dh=dh)
        return {"h": h, "c": c}, y

    def gates(self, params: Any, carry: Carry, x_t: Array) -> dict[str, Array]:
        """{"input": i_t, "forget": f_t, "output": o_t}, each (B, H) (gate-activated)."""
        z_x = x_t.astype(self.jnp_dtype) @ params.w_ih + params.b
        i, f, _, o = lstm.gate_values(params, self.lstm_config, carry["h"], z_x)
        return {"input": i, "forget": f, "output": o}

    def apply(self, params: Any, xs: Any, carry0: Carry | None = None) -> tuple[Array, Carry]:
        """`lstm.apply` (the fused path when ``fused``): xs (B, T, I) -> (hs, {"h", "c"})."""
        xs = self._check_xs(xs)
        h0 = None if carry0 is None else carry0["h"]
        c0 = None if carry0 is None else carry0["c"]
        hs, (h, c) = lstm.apply(params, xs, self.lstm_config, h0, c0)
        return hs, {"h": h, "c": c}

    def params_from_torch_layer(self, state_dict: Mapping[str, Any]) -> lstm.LSTMParams:
        """`lstm.params_from_torch` of one nn.LSTM layer, checked and cast to ``dtype``."""
        p = lstm.params_from_torch(state_dict)
        want = ((self.input_size, 4 * self.hidden_size), (self.hidden_size, 4 * self.hidden_size))
        if (p.w_ih.shape, p.w_hh.shape) != want:
            raise ValueError(
                f"params_from_torch: lstm with input_size={self.input_size}, hidden_size="
                f"{self.hidden_size} needs w_ih {want[0]} and w_hh {want[1]}, got "
                f"{p.w_ih.shape} and {p.w_hh.shape}"
            )
        return lstm.LSTMParams(*(jnp.asarray(a, self.jnp_dtype) for a in p))
