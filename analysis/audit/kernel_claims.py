"""The seed page's property claims (ranges, saturation, error propagation), measured on the
kernels in float32, the dtype LSTMs run in. Rows carry the measurements; templates/claims.md.j2
writes the words."""

from __future__ import annotations

import math

import numpy as np

import kernels
from analysis.audit.base import DEPENDS, HOLDS, WRONG, ClaimRow, grid

__all__ = ["property_rows"]

BIG = 1e6  # the largest |z| at which ReLU's slope is tested


def _sigmoid_range() -> ClaimRow:
    z = grid(-200.0, 200.0)
    s = np.asarray(kernels.get("sigmoid").fn(z))
    first_one = float(np.asarray(z)[np.argmax(s >= 1.0)]) if np.any(s >= 1.0) else math.inf
    return ClaimRow(
        "sigmoid-range",
        "sigmoid",
        "it outputs a value between 0 and 1 ... either no flow or complete flow",
        DEPENDS,
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
        {
            "max_grad_outside": float(np.max(np.abs(d_ht[outside]))),
            "n_outside": int(outside.sum()),
            "tanh_grad_at_2": tanh2,
        },
    )


def _relu_no_saturation() -> ClaimRow:
    relu = kernels.get("relu")
    pos = np.asarray(relu.grad(grid(1e-3, BIG)))
    neg = np.asarray(relu.grad(grid(-BIG, -1e-3)))
    return ClaimRow(
        "relu-no-saturation",
        "relu",
        "Does not saturate even for large values of z",
        DEPENDS,
        {"min_grad_pos": float(pos.min()), "max_grad_neg": float(neg.max()), "up_to": BIG},
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
        {
            "leaky_grad_neg": float(lk.min()),
            "relu_grad_neg": float(rl.max()),
            "k": float(k),
            "weaker_by": 1 / float(k),  # the error below 0 against above it
        },
    )


def _unit_properties() -> ClaimRow:
    bounded = {n: kernels.get(n).properties.bounded for n in kernels.builtin_names()}
    mono = {n: kernels.get(n).properties.monotonic for n in kernels.builtin_names()}
    return ClaimRow(
        "unit-properties",
        "general",
        "A neuron unit should be bounded, easily differentiable, monotonic and easy to handle",
        DEPENDS,
        {
            "bounded": bounded,
            "monotonic": mono,
            "unbounded": [n for n, b in bounded.items() if not b],
            "non_monotonic": [n for n, m in mono.items() if not m],
        },
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
