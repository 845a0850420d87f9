"""The seed page's property claims (ranges, saturation, error propagation), measured on the
kernels in float32, the dtype LSTMs run in."""

from __future__ import annotations

import math

import numpy as np

import kernels
from analysis.report.claims_base import DEPENDS, HOLDS, WRONG, ClaimRow, grid

__all__ = ["property_rows"]


def _sigmoid_range() -> ClaimRow:
    z = grid(-200.0, 200.0)
    s = np.asarray(kernels.get("sigmoid").fn(z))
    first_one = float(np.asarray(z)[np.argmax(s >= 1.0)]) if np.any(s >= 1.0) else math.inf
    return ClaimRow(
        "sigmoid-range",
        "sigmoid",
        "it outputs a value between 0 and 1 ... either no flow or complete flow",
        DEPENDS,
        f"0 <= sigmoid <= 1 everywhere (min {s.min():.3g}, max {s.max():.3g}); the open interval "
        "(0, 1) in exact arithmetic, so a gate is never exactly shut or open; in float32 it "
        f"rounds to 1.0 from z ~ {first_one:.3g}. 'No flow or complete flow' is the limit, "
        "not what a gate does: the measured gates sit in between (see the telemetry figure)",
        {"min": float(s.min()), "max": float(s.max()), "rounds_to_one_from": first_one},
    )


def _hard_tanh_saturates() -> ClaimRow:
    zz = grid(-50.0, 50.0)
    d_ht = np.asarray(kernels.get("hard_tanh").grad(zz))
    outside = np.abs(np.asarray(zz)) > 1.0
    tanh2 = float(kernels.get("tanh").grad(2.0))
    return ClaimRow(
        "hard_tanh-saturates",
        "hard_tanh",
        "Saturate for magnitudes of z greater than 1",
        HOLDS if np.all(d_ht[outside] == 0) else WRONG,
        f"hard_tanh'(z) = 0 exactly for all {int(outside.sum())} grid points with |z| > 1; "
        f"it saturates abruptly (gradient exactly 0), tanh only asymptotically "
        f"(tanh'(2) = {tanh2:.3g})",
        {"max_grad_outside": float(np.max(np.abs(d_ht[outside])))},
    )


def _relu_no_saturation() -> ClaimRow:
    relu = kernels.get("relu")
    pos = np.asarray(relu.grad(grid(1e-3, 1e6)))
    neg = np.asarray(relu.grad(grid(-1e6, -1e-3)))
    return ClaimRow(
        "relu-no-saturation",
        "relu",
        "Does not saturate even for large values of z",
        DEPENDS,
        f"relu'(z) = 1 for every z > 0 tested up to 1e6 (min {pos.min():g}): no saturation for "
        f"large positive z; but relu'(z) = 0 for every z < 0 (max {neg.max():g}), a harder "
        "saturation than tanh's on that side. Inside an LSTM the decay and training rows "
        "measure ReLU in each slot separately (candidate, output, both)",
        {"min_grad_pos": float(pos.min()), "max_grad_neg": float(neg.max())},
    )


def _leaky_propagates() -> ClaimRow:
    leaky = kernels.get("leaky_relu")
    neg_z = grid(-100.0, -1e-3)
    lk = np.asarray(leaky.grad(neg_z))
    rl = np.asarray(kernels.get("relu").grad(neg_z))
    k = leaky.params.get("negative_slope", 0.01)
    return ClaimRow(
        "leaky-propagates",
        "leaky_relu",
        "Allows propagation of error for non-positive z which ReLU doesn't",
        HOLDS if np.all(lk > 0) and np.all(rl == 0) else WRONG,
        f"for z < 0 leaky'(z) = {lk.min():g} (= k = {k:g}) > 0 while relu'(z) = 0: error does "
        f"propagate, scaled by k, so it is {1 / k:.0f}x weaker than on the positive side",
        {"leaky_grad_neg": float(lk.min()), "relu_grad_neg": float(rl.max())},
    )


def _unit_properties() -> ClaimRow:
    bounded = {n: kernels.get(n).properties.bounded for n in kernels.names()}
    mono = {n: kernels.get(n).properties.monotonic for n in kernels.names()}
    return ClaimRow(
        "unit-properties",
        "general",
        "A neuron unit should be bounded, easily differentiable, monotonic and easy to handle",
        DEPENDS,
        "A rule of thumb, not a requirement: unbounded "
        f"({', '.join(n for n, b in bounded.items() if not b)}) and non-monotonic "
        f"({', '.join(n for n, m in mono.items() if not m) or 'none'}) kernels are used "
        "widely; whether boundedness matters inside an LSTM is measured slot by slot in the "
        "decay and training rows (ReLU in the candidate, in the output, in both)",
        {"bounded": bounded, "monotonic": mono},
    )


def property_rows() -> list[ClaimRow]:
    """The page's property claims measured on the kernels (float32).

    Returns:
        ClaimRows: sigmoid-range, hard_tanh-saturates, relu-no-saturation, leaky-propagates,
        unit-properties.
    """
    return [
        _sigmoid_range(),
        _hard_tanh_saturates(),
        _relu_no_saturation(),
        _leaky_propagates(),
        _unit_properties(),
    ]
