"""Layer 1: recurrent cells behind one interface, built in or the user's own.

The LSTM (the `lstm` package: its plain scan, fused fast path and one-pass norms); the built-in cells
``lstm``, ``rnn`` (IRNN with ``initializer="identity"``), ``indrnn``, ``gru``, ``janet``,
``slstm``, ``mingru`` and ``minlstm``; adapters for Flax, Equinox and PyTorch weights::

    from analysis import cells
    cells.names()                                   # ('gru', 'indrnn', 'lstm', ...)
    cell = cells.get("gru", input_size=1, hidden_size=32, candidate="relu")
    params = cell.init(key)
    ys, carry_T = cell.apply(params, xs)            # xs (B, T, I) -> ys (B, T, H)
    carry, y_t = cell.step(params, cell.initial_carry(B), xs[:, 0])
    cells.from_flax(module, variables); cells.from_equinox(eqx_cell)
    cells.params_from_torch(torch_module_or_state_dict, cell)
    spec = cells.CellSpec.of("gru", candidate="relu")   # a cell without sizes (run configs)
"""

from analysis.cells.adapters import EquinoxCell, FlaxCell, from_equinox, from_flax
from analysis.cells.base import BuiltinCell, Cell
from analysis.cells.registry import describe, get, names
from analysis.cells.spec import CellSpec, flat_config
from analysis.cells.stack import Stack
from analysis.cells.torch_params import params_from_torch

__all__ = [
    "BuiltinCell",
    "Cell",
    "CellSpec",
    "EquinoxCell",
    "FlaxCell",
    "Stack",
    "describe",
    "flat_config",
    "from_equinox",
    "from_flax",
    "get",
    "names",
    "params_from_torch",
]
