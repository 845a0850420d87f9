"""Declared properties of a kernel against measurements in float64 on a dense grid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kernels import Activation

__all__ = ["check_properties"]


def _measure(act: Activation) -> dict[str, Any]:
    """f and f' on 1,004,001 points symmetric about 0 in [-1e6, 1e6], f at +-inf, f' at +-1e8."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        half = np.concatenate(
            [np.linspace(0.0, 50.0, 500_001)[1:], np.geomspace(50.0, 1e6, 2001)[1:]]
        )
        x = np.concatenate([-half[::-1], [0.0], half])  # exactly symmetric about 0
        xj = jnp.asarray(x)
        f = np.asarray(act.fn(xj))
        g = np.asarray(act.grad(xj))
        ends = np.asarray(act.fn(jnp.asarray([-np.inf, np.inf])))
        far = np.asarray(act.grad(jnp.asarray([-1e8, 1e8])))
        g0 = float(act.grad(jnp.asarray(0.0)))
    # f(x) + f(-x), relative to |f|: rounding in the library tanh etc. is allowed.
    f_odd = float(np.max(np.abs(f + f[::-1]) / np.maximum(np.abs(f), 1e-300)))
    return {
        "x": x, "f": f, "g": g, "far": far, "g0": g0, "f_odd": f_odd,
        "lo": float(min(f.min(), ends.min())), "hi": float(max(f.max(), ends.max())),
        "slope": float(np.max(np.abs(np.diff(f) / np.diff(x)))),
    }  # fmt: skip


def check_properties(act: Activation) -> list[tuple[str, Any, Any, bool]]:
    """Measure the declared properties in float64 on a dense grid (+ ±inf).

    Returns ``(property, declared, measured, ok)`` rows for range, bounded, monotonic,
    zero_centered (f(0) = 0 and f odd), saturating (|f'| < 1e-12 at ±1e8), max |f'|, lipschitz (max
    slope between grid neighbours) and f'(0).

    Args: act: the kernel. Returns the rows, one per property.
    """
    p = act.properties
    m = _measure(act)
    f, g, lo, hi, slope = m["f"], m["g"], m["lo"], m["hi"], m["slope"]
    max_g, g0, f_odd = float(np.max(np.abs(g))), m["g0"], m["f_odd"]
    sat = {(True, True): "both", (True, False): "negative", (False, True): "positive"}
    measured_sat = sat.get(tuple(bool(abs(v) < 1e-12) for v in m["far"]), "none")

    def near(a: float, b: float, tol: float = 1e-6) -> bool:
        return a == b or abs(a - b) <= tol * max(1.0, abs(b))

    # XLA's float64 tanh steps down by an ulp here and there, so a rounding-sized decrease
    # of f does not count against monotonicity; f' >= 0 must hold exactly.
    eps = float(np.finfo(np.float64).eps)
    monotone = bool(np.all(g >= 0) and np.all(np.diff(f) >= -16 * eps * np.abs(f[1:])))
    rows = [
        ("range", p.range, (lo, hi), near(lo, p.range[0]) and near(hi, p.range[1])),
        (
            "bounded",
            p.bounded,
            bool(np.isfinite(lo) and np.isfinite(hi)),
            p.bounded == bool(np.isfinite(lo) and np.isfinite(hi)),
        ),
        ("monotonic", p.monotonic, monotone, p.monotonic == monotone),
        (
            "zero_centered",
            p.zero_centered,
            f_odd == 0.0 and f[m["x"] == 0][0] == 0,
            p.zero_centered == (f_odd == 0.0),
        ),
        ("saturating", p.saturating, measured_sat, p.saturating == measured_sat),
        ("max_abs_grad", p.max_abs_grad, max_g, near(max_g, p.max_abs_grad)),
        (
            "lipschitz",
            p.lipschitz,
            slope,
            slope <= p.lipschitz * (1 + 1e-9) and near(slope, p.lipschitz, 1e-3),
        ),
        ("f_prime_at_zero", p.f_prime_at_zero, g0, near(g0, p.f_prime_at_zero, 1e-12)),
    ]
    return [(name, declared, measured, bool(ok)) for name, declared, measured, ok in rows]
