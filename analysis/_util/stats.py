"""Medians over seeds and a min-max band over ragged seed curves (pure numpy, no JAX).

The report's intervals and tests (Wilson, bootstrap, Fisher, permutation, Holm) are scipy's,
in `analysis.report.compare`; these two are what the decay summary and the figures share.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["band", "median"]


def median(values: Sequence[float]) -> float:
    """Median of the non-NaN values (inf counts); nan when none is left.

    Args:
        values: (N,) numbers; the JSON strings "inf"/"nan" convert.

    Returns:
        float median.
    """
    arr = np.asarray([float(v) for v in values], np.float64)
    arr = arr[~np.isnan(arr)]
    return float(np.median(arr)) if arr.size else math.nan


def band(rows: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median and min-max over seeds of curves that may stop early (a diverged seed).

    Args:
        rows: S sequences of lengths L_s; shorter rows are padded with NaN, non-finite
            values count as missing.

    Returns:
        (x (L,), median (L,), min (L,), max (L,)) with L = max L_s, x = 0..L-1; a column with
        no value is NaN (a gap when plotted).
    """
    length = max((len(r) for r in rows), default=0)
    ys = np.full((len(rows), length), np.nan)
    for i, r in enumerate(rows):
        y = np.asarray([float(v) for v in r], np.float64)
        ys[i, : y.size] = np.where(np.isfinite(y), y, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
        return (
            np.arange(length),
            np.nanmedian(ys, 0) if len(rows) else ys[:0],
            np.nanmin(ys, 0) if len(rows) else ys[:0],
            np.nanmax(ys, 0) if len(rows) else ys[:0],
        )
