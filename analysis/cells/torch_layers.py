"""Reading one layer of a PyTorch recurrent state dict (no torch import: tensors are duck-typed).

PyTorch's nn.RNN / nn.GRU / nn.LSTM store, per layer k, ``weight_ih_lk`` (nH, I),
``weight_hh_lk`` (nH, H) and optional ``bias_ih_lk``, ``bias_hh_lk`` (nH,), with n = 1, 3
(gates r, z, n) or 4 (gates i, f, g, o).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_numpy", "torch_weights"]


def to_numpy(t: Any) -> np.ndarray:
    """A numpy array from a torch tensor (detached, on CPU) or anything array-like.

    Args: t: a tensor or array-like, any shape. Returns: np.ndarray, same shape and dtype.
    """
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def torch_weights(
    state_dict: Mapping[str, Any], cell: Any, n_gates: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(weight_ih (nH, I), weight_hh (nH, H), bias_ih (nH,), bias_hh (nH,)) of layer ``_l0``.

    Missing biases (``bias=False``) are zeros. Shapes are checked against ``cell.input_size``
    and ``cell.hidden_size``; a mismatch is a ValueError naming both shapes.

    Args: state_dict: one layer's entries (suffix _l0); cell: the target cell; n_gates n.
    Returns: the four arrays, in PyTorch's layout.
    """
    keys = {k.rsplit(".", 1)[-1]: k for k in state_dict}
    try:
        w_ih = to_numpy(state_dict[keys["weight_ih_l0"]])
        w_hh = to_numpy(state_dict[keys["weight_hh_l0"]])
    except KeyError as err:
        raise ValueError(f"params_from_torch: missing {err.args[0]} in the state dict") from None
    rows, h_n = n_gates * cell.hidden_size, cell.hidden_size
    if w_ih.shape != (rows, cell.input_size) or w_hh.shape != (rows, h_n):
        raise ValueError(
            f"params_from_torch: {cell.name} with input_size={cell.input_size}, "
            f"hidden_size={h_n} needs weight_ih ({rows}, {cell.input_size}) and weight_hh "
            f"({rows}, {h_n}), got {w_ih.shape} and {w_hh.shape}"
        )
    zero = np.zeros(rows, w_ih.dtype)
    b_ih = to_numpy(state_dict[keys["bias_ih_l0"]]) if "bias_ih_l0" in keys else zero
    b_hh = to_numpy(state_dict[keys["bias_hh_l0"]]) if "bias_hh_l0" in keys else zero
    return w_ih, w_hh, b_ih, b_hh
