"""A one-layer LSTM with pluggable activations: the public cell (`from analysis import lstm`).

Gate order i, f, g, o (as PyTorch and Keras); carry ``(h, c)``; xs batch-major (B, T, I)::

    z   = x_t W_ih + h_{t-1} W_hh + b              i, f, g, o = split(z, 4)   (each (B, H))
    c_t = gate(f) * c_{t-1} + gate(i) * candidate(g)
    h_t = gate(o) * output(c_t)

``gate``, ``candidate`` and ``output`` are kernel names (``kernels.get``); the candidate and
output slots are separate, so "ReLU in the candidate only" and "ReLU in the output only" are
different configurations, and ``identity`` gives Greff et al.'s NIAF / NOAF variants.
``forget_bias`` is an initialisation (added to ``b[H:2H]`` by `init`); `apply` adds nothing.

This package's modules: `config` (LSTMConfig, LSTMParams, init), `scan` (the step and the plain
`lax.scan` with an observer, the reference), `fused` (the fused core: forward with residuals,
backward scan, one weight-gradient matmul), `vjp` (its custom_vjp), `jvp` (its custom_jvp, what
`apply` runs by default, so forward and reverse mode both work), `norms` (one-pass per-step
gradient log-norms from the fused backward) and `cell` (the LSTM behind the cell interface).

References:
    Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000 (forget gate);
    Jozefowicz, Zaremba & Sutskever 2015 (forget bias 1); Tallec & Ollivier 2018 (chrono);
    Greff et al. 2017, "LSTM: A Search Space Odyssey" (NIAF / NOAF variants).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from analysis.cells.lstm import jvp
from analysis.cells.lstm.config import DTYPES, INITS, LSTMConfig, LSTMParams, init
from analysis.cells.lstm.fused import STORE_BYTES, default_chunk
from analysis.cells.lstm.scan import (
    Carry,
    Gates,
    cell_update,
    check_finite,
    gate_values,
    initial_carry,
    input_projection,
    prepare_inputs,
    scan_steps,
    step,
)

__all__ = [
    "DTYPES",
    "INITS",
    "STORE_BYTES",
    "Carry",
    "Gates",
    "LSTMConfig",
    "LSTMParams",
    "apply",
    "cell_update",
    "check_finite",
    "default_chunk",
    "gate_values",
    "init",
    "initial_carry",
    "input_projection",
    "params_from_torch",
    "prepare_inputs",
    "scan_steps",
    "step",
]

Array = jax.Array


@functools.partial(jax.jit, static_argnames=("cfg",))
def _apply(params, xs, cfg, h0, c0):
    if cfg.fused:
        return jvp.apply_auto(params, xs, cfg, h0, c0)
    hs, carry, _ = scan_steps(params, xs, cfg, h0=h0, c0=c0)
    return hs, carry


def apply(
    params: LSTMParams,
    xs: ArrayLike,
    cfg: LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> tuple[Array, Carry]:
    """Run the LSTM over a batch (equations in the module docstring), jitted.

    With ``cfg.fused`` (the default) the fused cell runs: its hand-written backward under
    reverse mode (grad, vjp), the plain scan's tangents under forward mode (jvp, jacfwd);
    ``fused=False`` is the plain `scan_steps`, differentiated by JAX. Same values and
    derivatives either way. Concrete xs with a NaN or inf raise ValueError naming the index.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; h0, c0: broadcastable to (B, H),
        default zeros. Computes in ``cfg.dtype``.
    Returns:
      (hs (B, T, H), (h_T (B, H), c_T (B, H))).
    """
    xs = prepare_inputs(xs, cfg, "lstm.apply")
    return _apply(params, xs, cfg, h0, c0)


def _to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):  # a torch tensor: no torch import needed here
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def params_from_torch(state_dict: Mapping[str, Any]) -> LSTMParams:
    """LSTMParams from a one-layer, unidirectional PyTorch ``nn.LSTM`` state dict.

    PyTorch stores weight_ih_l0 (4H, I), weight_hh_l0 (4H, H), bias_ih_l0 and bias_hh_l0 (4H,)
    in the same gate order i, f, g, o; we transpose the weights and sum the two biases (a model
    without biases gets b = 0). Tensors or numpy arrays are accepted; the dtype is kept.
    """
    keys = {k.rsplit(".", 1)[-1]: k for k in state_dict}
    extra = sorted(k for k in keys if not k.endswith("_l0") or "reverse" in k)
    if extra:
        raise ValueError(
            "lstm.params_from_torch: only a one-layer unidirectional nn.LSTM is supported; "
            f"unexpected entries {extra}"
        )
    try:
        w_ih = _to_numpy(state_dict[keys["weight_ih_l0"]])
        w_hh = _to_numpy(state_dict[keys["weight_hh_l0"]])
    except KeyError as err:
        raise ValueError(
            f"lstm.params_from_torch: missing {err.args[0]} in the state dict"
        ) from None
    b = np.zeros(w_ih.shape[0], w_ih.dtype)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        if name in keys:
            b = b + _to_numpy(state_dict[keys[name]])
    if w_hh.shape[0] != 4 * w_hh.shape[1] or w_ih.shape[0] != w_hh.shape[0]:
        raise ValueError(
            "lstm.params_from_torch: expected weight_ih_l0 (4H, I) and weight_hh_l0 (4H, H), "
            f"got {w_ih.shape} and {w_hh.shape} (proj_size is not supported)"
        )
    return LSTMParams(jnp.asarray(w_ih.T), jnp.asarray(w_hh.T), jnp.asarray(b))
