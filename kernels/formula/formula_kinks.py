"""Kinks of an activation built from a formula: where f' or f'' jumps, with one-sided limits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kernels._core import Kink
from kernels.formula.conditions import bounds_of
from kernels.formula.tree import Call, Expr, Piecewise, Sum, Where, walk

__all__ = ["find_kinks"]

_SEARCH = np.concatenate([np.linspace(-50.0, 50.0, 100_001), [0.0]])
_REASONS = {"abs": "|.| argument is 0", "sign": "sign argument is 0", "relu": "relu argument is 0",
            "heaviside": "step argument is 0"}  # fmt: skip


def _switches(expr: Expr) -> list[tuple[Expr | None, float | None, str]]:
    out: list[tuple[Expr | None, float | None, str]] = []
    for node, _ in walk(expr):
        if isinstance(node, Call) and node.fn in _REASONS:
            out.append((node.args[0], None, _REASONS[node.fn]))
        elif isinstance(node, Call) and node.fn in ("max", "min", "clip"):
            a = node.args
            for i in range(len(a)):
                for j in range(i + 1, len(a)):
                    out.append((Sum((("+", a[i]), ("-", a[j]))), None, f"{node.fn} tie"))
        elif isinstance(node, Where):
            out.append((Sum((("+", node.lhs), ("-", node.rhs))), None, "derivative branch changes"))
        elif isinstance(node, Piecewise):
            for cond, _ in node.pieces:
                out += [(None, b, "piecewise boundary") for b in bounds_of(cond or ())]
    return out


def _roots(g: Callable, zs: np.ndarray) -> list[float]:
    with np.errstate(all="ignore"):
        v = g(zs)
        out = list(zs[(v == 0) & np.isfinite(v)])
        cross = np.isfinite(v[:-1]) & np.isfinite(v[1:]) & (np.sign(v[:-1]) * np.sign(v[1:]) < 0)
        a, b, va = zs[:-1][cross], zs[1:][cross], v[:-1][cross]
        for _ in range(64 if a.size else 0):
            mid = 0.5 * (a + b)
            vm = g(mid)
            left = np.sign(vm) == np.sign(va)
            a, va, b = np.where(left, mid, a), np.where(left, vm, va), np.where(left, b, mid)
    return out + list(b)


def _jumps(fn: Callable, k: float) -> tuple[bool, float, float, float]:
    pts = np.asarray([np.nextafter(k, -np.inf), k, np.nextafter(k, np.inf)])
    with np.errstate(all="ignore"):
        left, mid, right = (float(v) for v in fn(pts))
    jump = not (left == right or abs(left - right) <= 1e-9 * max(abs(left), abs(right), 1.0))
    return jump, left, mid, right


def find_kinks(f: Expr, d1: Expr, d2: Expr, to_numpy: Callable) -> tuple[Kink, ...]:
    """Kinks in [-50, 50]: order 1 where f' jumps, order 2 where only f'' does.

    Args: f, d1, d2: trees of f, f', f''; to_numpy: the lowering. Returns the Kinks.
    """
    cands: dict[float, str] = {}
    for expr in (f, d1):
        for g, b, reason in _switches(expr):
            for k in [b] if b is not None else _roots(to_numpy(g), _SEARCH):
                if np.isfinite(k) and abs(k) <= 50:
                    cands.setdefault(0.0 if k == 0 else float(k), reason)
    g1, g2 = to_numpy(d1), to_numpy(d2)
    out = []
    for k, reason in sorted(cands.items()):
        for order, fn in ((1, g1), (2, g2)):
            jump, left, mid, right = _jumps(fn, k)
            if jump:
                if np.isfinite(left) and np.isfinite(right) and np.isfinite(mid):
                    out.append(Kink(k, left, right, mid, f"{reason} (formula)", order=order))
                break
    return tuple(out)
