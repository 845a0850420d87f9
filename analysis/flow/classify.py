"""One classification of gradient flow, used by every table, legend and sentence of the report.

The fitted rate r is the least-squares slope of ln ||dL/dh_t|| per step going back in time
(`gradients.fit_decay`). Classes are set by what the gradient does over 100 steps, e^(100 r):

* vanishing: falls more than 2x per 100 steps (r < -ln 2 / 100, a half-life under 100 steps);
* stable: within a factor 2 per 100 steps either way;
* growing: rises 2x to 1000x per 100 steps;
* exploding: rises more than 1000x per 100 steps (r > ln 1000 / 100 = 0.069), or a gradient
  norm or cell state that is not finite, or a cell state beyond what a bounded cell can
  reach (|c_t| > t: with gates in [0, 1] and a candidate in [-1, 1], |c_t| <= t from c_0 = 0).

A bounded cell (gates in [0, 1], candidate and output in [-1, 1]) can grow its gradient
slowly through the recurrent weights; ReLU in both slots grows the state itself, and with it
the gradient, far faster. So ``x1.02 per step`` (x7 per 100 steps) is "growing" and
``x10^17 over 200 steps`` is "exploding": never the same word.
"""

from __future__ import annotations

import math

__all__ = ["CLASSES", "classify", "describe", "per_100_steps"]

CLASSES = ("vanishing", "stable", "growing", "exploding")
_STABLE = math.log(2) / 100
_EXPLODING = math.log(1000) / 100


def classify(rate: float, finite: bool = True, unbounded: bool = False) -> str:
    """The class of one fitted rate.

    Formula: exploding if not finite, unbounded or r > ln(1000)/100; growing if
    r > ln(2)/100; vanishing if r < -ln(2)/100; stable otherwise.

    Args:
        rate: r, the log-slope per step going back (nan: the fit broke down).
        finite: False when any gradient norm or cell state was non-finite.
        unbounded: True when max |c| exceeded the sequence length.

    Returns:
        one of CLASSES.
    """
    rate = float(rate)
    if not finite or unbounded or math.isnan(rate) or rate > _EXPLODING:
        return "exploding"
    if rate > _STABLE:
        return "growing"
    if rate < -_STABLE:
        return "vanishing"
    return "stable"


def per_100_steps(rate: float) -> str:
    """The factor e^(100 r) as text, e.g. "x0.031", "x7.2", "x1e+30".

    Args:
        rate: r per step.

    Returns:
        the factor over 100 steps; "n/a" for nan.
    """
    rate = float(rate)
    if math.isnan(rate):
        return "n/a"
    exponent = 100 * rate
    if exponent > 700:
        return f"x1e+{exponent / math.log(10):.0f}"
    return f"x{math.exp(exponent):.2g}"


def describe(rate: float, half_life: float, finite: bool = True, unbounded: bool = False) -> str:
    """Class with its number: "vanishing (half-life 21 steps)", "growing (x7.2 per 100 steps)".

    Args:
        rate: r per step; half_life: ln 2 / -r (inf if r >= 0); finite, unbounded: as in
            `classify`.

    Returns:
        the text used in tables, legends and prose.
    """
    cls = classify(rate, finite, unbounded)
    if cls == "exploding" and (not finite or math.isnan(float(rate))):
        return "exploding (non-finite)"
    if cls == "exploding" and unbounded and float(rate) <= _EXPLODING:
        return f"exploding (cell state unbounded; gradient {per_100_steps(rate)} per 100 steps)"
    if cls == "vanishing":
        return f"vanishing (half-life {float(half_life):.3g} steps)"
    if cls == "stable" and rate < 0:
        return f"stable (half-life {float(half_life):.3g} steps)"
    return f"{cls} ({per_100_steps(rate)} per 100 steps)"
