"""Test points, kink candidates and region descriptions for the formula checker."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from kernels.formula import to_numpy
from kernels.formula.conditions import bounds_of
from kernels.formula.tree import Call, Expr, Piecewise, Sum, Where, walk

__all__ = ["describe_region", "kink_candidates", "points", "runs", "switches"]

N_GRID = 20_001
N_RANDOM = 4_000
MAX_KINKS = 200
TINY = float(np.finfo(np.float64).tiny)


def switches(expr: Expr) -> tuple[list[Expr], list[float]]:
    """Where a derivative of ``expr`` may jump: expressions whose zeros are kinks (abs, sign,
    heaviside, relu arguments; max/min ties a - b; Where tests lhs - rhs) and piecewise bounds.

    Args: expr: a tree. Returns (trees whose zeros are kinks, constant bounds).
    """
    funcs, bounds = [], []
    for node, _ in walk(expr):
        if isinstance(node, Call) and node.fn in ("abs", "sign", "heaviside", "relu"):
            funcs.append(node.args[0])
        elif isinstance(node, Call) and node.fn in ("max", "min", "clip"):
            a = node.args
            pairs = [(a[i], a[j]) for i in range(len(a)) for j in range(i + 1, len(a))]
            funcs += [Sum((("+", x), ("-", y))) for x, y in pairs]
        elif isinstance(node, Where):
            funcs.append(Sum((("+", node.lhs), ("-", node.rhs))))
        elif isinstance(node, Piecewise):
            bounds += [b for cond, _ in node.pieces if cond is not None for b in bounds_of(cond)]
    return funcs, bounds


def points(
    lo: float, hi: float, bounds: list[float], seed: int, n: int = N_GRID + N_RANDOM
) -> np.ndarray:
    """About ``n`` grid (5/6) and random (1/6) points on [lo, hi] plus special points, all
    float32-representable (one oracle value serves both dtypes), and each bound with its
    close neighbours (float64).

    Args: lo, hi: the domain; bounds: points to surround; seed: of the random points; n:
    grid + random count. Returns sorted unique (M,) float64 points in [lo, hi].
    """
    n_rand = n // 6
    grid = np.linspace(lo, hi, n - n_rand)
    rand = np.random.default_rng(seed).uniform(lo, hi, n_rand)
    top = max(abs(lo), abs(hi), 1.0)
    mags = 10.0 ** np.arange(-12, math.ceil(math.log10(top)) + 1)
    special = [0.0, *mags, *(-mags), *(0.5 * mags), *(-0.5 * mags)]
    base = np.concatenate([grid, rand, special]).astype(np.float32).astype(np.float64)
    extra = [lo, hi, np.nextafter(lo, hi), np.nextafter(hi, lo)]
    for b in bounds:
        s = max(1.0, abs(b))
        extra += [b, *(b + s * d for d in (1e-12, 1e-9, 1e-6, 1e-3, -1e-12, -1e-9, -1e-6))]
        extra += [b - 1e-3 * s, np.nextafter(b, -np.inf), np.nextafter(b, np.inf)]
    pts = np.concatenate([base, np.asarray(extra, dtype=np.float64)])
    return np.unique(pts[(pts >= lo) & (pts <= hi)])


def _roots(g: Callable[[np.ndarray], np.ndarray], zs: np.ndarray) -> list[float]:
    """Sign changes and exact zeros of g over the sorted points, bisected to an ulp."""
    v = g(zs)
    fin = np.isfinite(v)
    roots = list(zs[(v == 0) & fin])
    cross = fin[:-1] & fin[1:] & (np.sign(v[:-1]) * np.sign(v[1:]) < 0)
    a, b, va = zs[:-1][cross], zs[1:][cross], v[:-1][cross]
    for _ in range(64 if a.size else 0):
        mid = 0.5 * (a + b)
        vm = g(mid)
        left = np.sign(vm) == np.sign(va)
        a, va = np.where(left, mid, a), np.where(left, vm, va)
        b = np.where(left, b, mid)
    return roots + list(b)


def kink_candidates(expr: Expr, zs: np.ndarray, lo: float, hi: float) -> list[float]:
    """Sorted candidate kinks of d/dz ``expr`` in [lo, hi] (at most MAX_KINKS): bounds, and
    roots of the switch expressions bisected to an ulp.

    Args: expr: a tree; zs: (N,) sorted points to bracket roots; lo, hi: the domain.
    Returns a sorted list of floats.
    """
    funcs, bounds = switches(expr)
    out = [b for b in bounds if lo <= b <= hi]
    for g in funcs:
        out += _roots(to_numpy(g), zs)
    merged: list[float] = []
    for k in sorted(set(out)):
        if merged and abs(k - merged[-1]) <= 4 * np.spacing(max(abs(k), abs(merged[-1]))) + TINY:
            continue
        merged.append(float(k))
    return merged[:MAX_KINKS]


def runs(zs: np.ndarray, flag: np.ndarray, gap: int = 0) -> list[tuple[float, float, int]]:
    """Maximal runs of flagged points (zs sorted) as (z_lo, z_hi, count); runs separated
    by at most ``gap`` unflagged points are joined.

    Args: zs: (N,) sorted; flag: (N,) bool; gap: points. Returns [(z_lo, z_hi, n_flagged)].
    """
    idx = np.flatnonzero(flag)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    out = []
    for i, j in zip(starts, ends, strict=True):
        out.append((float(zs[i]), float(zs[j]), int(flag[i : j + 1].sum())))
    return out


def describe_region(zs: np.ndarray, flag: np.ndarray, lo: float, hi: float) -> str:
    """Flagged points in words: '|z| > 9.01', '5.2 < |z| < 9', 'z < -3', 'z in [1, 2]'.

    Rounding makes such regions ragged near their edges, so runs a few hundredths of the
    points apart are joined; more than three runs are described by their extent.

    Args: zs: (N,) sorted; flag: (N,) bool; lo, hi: the domain. Returns the words, or ''.
    """
    rs = runs(zs, flag, gap=max(3, zs.size // 100))
    if not rs:
        return ""
    if len(rs) > 3:
        return f"{int(flag.sum())} points between z = {rs[0][0]:.3g} and z = {rs[-1][1]:.3g}"
    span = max(abs(lo), abs(hi), 1.0)
    near = lambda a, b: abs(a - b) <= 0.05 * span  # noqa: E731
    if len(rs) == 2 and near(rs[0][0], -rs[1][1]) and near(rs[0][1], -rs[1][0]) and rs[0][1] < 0:
        inner, outer = min(-rs[0][1], rs[1][0]), max(-rs[0][0], rs[1][1])
        if rs[0][0] <= lo and rs[1][1] >= hi:
            return f"|z| > {inner:.3g}"
        return f"{inner:.3g} < |z| < {outer:.3g}"
    words = []
    for a, b, _ in rs:
        if a <= lo and b >= hi:
            words.append("all z")
        elif a <= lo:
            words.append(f"z < {b:.3g}")
        elif b >= hi:
            words.append(f"z > {a:.3g}")
        else:
            words.append(f"z in [{a:.3g}, {b:.3g}]")
    return " and ".join(words)
