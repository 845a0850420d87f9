"""The recurrence of a trained model for any cell of `analysis.cells` other than the LSTM.

The LSTM keeps its own fused path (`train_model.run_lstm`); every other cell runs here: the
scan `Cell.apply` runs (``lax.scan`` of ``cell.step`` from zero states), with an observer of
the largest state magnitude, the training metric ``max_abs_c``::

    max_abs_state = max over t, every named state s of the carry, batch b, unit j of |s_t[b, j]|

(for an sLSTM that includes c, its normaliser n and its stabiliser m; for a GRU or an RNN it
is max |h_t|). The observer carries no gradient, as the LSTM's max |c| does not.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from analysis.cells import Cell
from analysis.flow.telemetry import max_abs

__all__ = ["run_cell"]


def run_cell(params: Any, x: Array, cell: Cell) -> tuple[Array, Array, Array]:
    """The cell over the whole sequence, also returning max |state| over all steps.

    Formula: carry_t, h_t = cell.step(params, carry_{t-1}, x_t) from carry_0 = zeros;
    ``max_abs = max_{t, s, b, j} |carry_t[s][b, j]|`` (nan if any state is nan).

    Args:
        params: the cell's params (``cell.init``).
        x: inputs (B, T, I).
        cell: any `analysis.cells` cell.

    Returns:
        (hs (B, T, H), h_T (B, H), max_abs scalar, no gradient).
    """
    xs = jnp.swapaxes(jnp.asarray(x, cell.jnp_dtype), 0, 1)

    def body(carry: dict, x_t: Array) -> tuple[dict, tuple[Array, Array]]:
        new, y = cell.step(params, carry, x_t)
        peak = jnp.max(jnp.stack([max_abs(jax.lax.stop_gradient(v)) for v in new.values()]))
        return {k: new[k] for k in carry}, (y, peak)

    _, (ys, peaks) = jax.lax.scan(body, cell.initial_carry(x.shape[0]), xs)
    hs = jnp.swapaxes(ys, 0, 1)
    return hs, hs[:, -1], max_abs(peaks)
