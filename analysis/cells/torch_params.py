"""`params_from_torch`: PyTorch nn.LSTM / nn.GRU / nn.RNN weights as a cell's params.

Layer k of a PyTorch module (keys ``*_lk``) becomes layer k of a `Stack` (or the cell itself
for one layer). Each layer maps as its cell says (`params_from_torch_layer`): weights are
transposed to (in, out) and cast to the cell's dtype. Torch is never imported: a module is
anything with ``state_dict()``, a state dict any mapping of name -> tensor or array.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analysis.cells.base import BuiltinCell, Cell
from analysis.cells.stack import Stack

__all__ = ["params_from_torch"]

# PyTorch RNNBase.mode -> (built-in cell name, required candidate or None)
_MODES = {"LSTM": ("lstm", None), "GRU": ("gru", None), "RNN_TANH": ("rnn", "tanh")}
_MODES["RNN_RELU"] = ("rnn", "relu")


def _check_module(module: Any, layers: tuple[BuiltinCell, ...]) -> None:
    """Refuse a PyTorch module whose kind or options the cell cannot reproduce."""
    mode = getattr(module, "mode", None)
    if mode is None:
        return
    if mode not in _MODES:
        raise ValueError(f"params_from_torch: unsupported PyTorch mode {mode!r}")
    if getattr(module, "bidirectional", False) or getattr(module, "proj_size", 0):
        raise ValueError("params_from_torch: bidirectional modules and proj_size are not supported")
    want, candidate = _MODES[mode]
    cell = layers[0]
    if cell.name != want:
        raise ValueError(
            f"params_from_torch: a PyTorch {mode} maps to cell {want!r}, not {cell.name!r}"
        )
    if candidate and cell.candidate != candidate:
        raise ValueError(
            f"params_from_torch: nn.RNN(nonlinearity={candidate!r}) needs candidate={candidate!r},"
            f" the cell has {cell.candidate!r}"
        )
    default = {"lstm": ("sigmoid", "tanh", "tanh"), "gru": ("sigmoid", "tanh")}.get(want)
    if default and tuple(getattr(cell, s) for s in cell.slots) != default:
        raise ValueError(
            f"params_from_torch: PyTorch's {mode} uses slots {dict(zip(cell.slots, default, strict=True))}; "
            f"the cell has {', '.join(f'{s}={getattr(cell, s)}' for s in cell.slots)}"
        )


def params_from_torch(module_or_state_dict: Any, cell: Cell) -> Any:
    """Params for `cell` from a PyTorch nn.LSTM, nn.GRU or nn.RNN (tanh or relu), L >= 1 layers.

    ``cell`` must match: a built-in lstm / gru / rnn for one layer, a `Stack` of L of them
    (``cells.get(name, I, H, num_layers=L)``) for L layers. A module is also checked for its
    kind, nonlinearity, bidirectional and proj_size. Biases are kept as the cell needs them
    (rnn and lstm sum b_ih + b_hh; gru keeps both since b_hn sits inside r * (...)).

    Args: module_or_state_dict: the module, or its state dict (tensors or numpy arrays);
        cell: the cell the params are for. Returns: the cell's params pytree.
    """
    if not isinstance(cell, Cell):
        raise ValueError(f"params_from_torch: cell must be an analysis.cells cell, got {cell!r}")
    layers = cell.layers if isinstance(cell, Stack) else (cell,)
    if hasattr(module_or_state_dict, "state_dict"):
        _check_module(module_or_state_dict, layers)
        sd = module_or_state_dict.state_dict()
    elif isinstance(module_or_state_dict, Mapping):
        sd = module_or_state_dict
    else:
        raise ValueError(
            "params_from_torch: expected a PyTorch module or a state dict, got "
            f"{type(module_or_state_dict).__name__}"
        )
    found = sorted({int(m.group(1)) for k in sd if (m := re.search(r"_l(\d+)$", k))})
    bad = sorted(k for k in sd if not re.search(r"_l\d+$", k) or "reverse" in k)
    if bad or found != list(range(len(layers))):
        raise ValueError(
            f"params_from_torch: the cell has {len(layers)} layer(s) (use cells.get(..., "
            f"num_layers=L) for more); the state dict has layers {found}"
            + (f" and unexpected entries {bad}" if bad else "")
        )
    out = []
    for i, layer in enumerate(layers):
        sub = {re.sub(r"_l\d+$", "_l0", k): v for k, v in sd.items() if k.endswith(f"_l{i}")}
        out.append(layer.params_from_torch_layer(sub))
    return tuple(out) if isinstance(cell, Stack) else out[0]
