"""The exponential rate at which per-step gradient norms shrink (or grow) going back in time.

ln||g|| ~ a + rate * s by least squares, s = steps back from the last step. Fits take
log-norms (``log_norms=``, or a `GradNorms` whose ``log_h`` is used), which never underflow,
or plain norms (ln taken here; zeros then mark dtype underflow and are left out).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from jax.typing import ArrayLike

__all__ = ["DecayFit", "fit_decay"]


class DecayFit(NamedTuple):
    """Least-squares fit ln||g|| ~ a + rate * s, s = steps back from the last step.

    rate < 0: vanishing; rate > 0: exploding. ``half_life`` = ln 2 / -rate steps (inf if
    rate >= 0). ``first_nonfinite`` and ``underflow_at`` are the smallest s whose norm is
    non-finite (NaN or +inf) or exactly zero (log -inf), None if none; those points are left
    out of the fit, ``n_used`` are kept. With fewer than 2 usable points rate, half_life and
    r2 are NaN and ``first_nonfinite`` / ``underflow_at`` say why.
    """

    rate: float
    half_life: float
    r2: float
    first_nonfinite: int | None
    underflow_at: int | None
    n_used: int


def _as_logs(norms: Any, log_norms: Any) -> np.ndarray:
    """ln||g_t|| (T,) float64 from exactly one of the two arguments."""
    if hasattr(norms, "log_h") and log_norms is None:  # a GradNorms: fit dL/dh
        norms, log_norms = None, norms.log_h
    if (norms is None) == (log_norms is None):
        raise TypeError("fit_decay: pass exactly one of norms and log_norms")
    if log_norms is not None:
        y = np.asarray(log_norms, np.float64)
        if y.ndim != 1:
            raise ValueError(f"fit_decay: log_norms must be 1-D (T,), got shape {y.shape}")
        return y
    g = np.asarray(norms, np.float64)
    if g.ndim != 1:
        raise ValueError(f"fit_decay: norms must be 1-D (T,), got shape {g.shape}")
    if np.any(g < 0):
        raise ValueError("fit_decay: norms must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(g)


def fit_decay(norms: ArrayLike | Any = None, *, log_norms: ArrayLike | None = None) -> DecayFit:
    """Fit ln||g_t|| = a + rate * s by least squares, s = T-1-t steps back from the end.

    Points whose log is -inf (a zero norm: underflow or an exactly zero gradient) or NaN /
    +inf (non-finite) are excluded and reported, never fitted: the rate is NaN only when
    fewer than 2 points remain, and then ``first_nonfinite`` / ``underflow_at`` say why.
    Computed in numpy float64.

    Args:
      norms: (T,) norms >= 0 in time order (``per_step_grad_norms(...).h``), or a
        `GradNorms` (its ``log_h`` is fitted).
      log_norms: (T,) natural-log norms in time order (``.log_h``, ``.log_c``) instead.
    Returns:
      DecayFit(rate, half_life, r2, first_nonfinite, underflow_at, n_used).
    """
    y = _as_logs(norms, log_norms)[::-1]
    s = np.arange(y.size, dtype=np.float64)
    zero = y == -np.inf
    nonfinite = np.isnan(y) | (y == np.inf)
    use = np.isfinite(y)
    first_nonfinite = int(np.argmax(nonfinite)) if nonfinite.any() else None
    underflow_at = int(np.argmax(zero)) if zero.any() else None
    n = int(use.sum())
    if n < 2:
        return DecayFit(math.nan, math.nan, math.nan, first_nonfinite, underflow_at, n)
    x, y = s[use], y[use]
    xc, yc = x - x.mean(), y - y.mean()
    rate = float((xc @ yc) / (xc @ xc))
    ss_tot = float(yc @ yc)
    ss_res = float(np.sum((yc - rate * xc) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    half_life = math.log(2) / -rate if rate < 0 else math.inf
    return DecayFit(rate, half_life, r2, first_nonfinite, underflow_at, n)
