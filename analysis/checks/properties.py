"""What an activation is, measured: bounded, centred, its slope at 0, its curvature near 0.

Every swap of tanh changes several of these at once (ReLU is unbounded, not centred and has
slope 0 or 1 at 0), so a difference in training cannot be pinned on one of them. `PROPERTY_SET`
holds activations that each differ from tanh in as few properties as possible (asinh: only
unbounded; tanh(z) + 1: only not centred; tanh(2z) and tanh(0.5z): only the slope), each with
the properties in which it is *declared* to differ; `measure` checks every declaration
numerically (tests/checks/test_properties.py), so the table the report prints is measured.

Definitions (float64, `Z_FAR` standing for infinity):

* bounded: |f(±Z_FAR)| at most 1.001 |f(±Z_FAR / 1000)| (no further growth); sup |f| is
  reported as max |f| over [-Z_FAR, Z_FAR].
* centred: |f(0)| and |E f(Z)|, Z ~ N(0, 1), both below `TOL`.
* slope: the one-sided derivatives f'(0-) and f'(0+), by finite differences of step `H`.
* curvature: max |f''| over [-1, 1] (tanh: 4/(3√3) = 0.770 at z = ±0.658).

Example:
    >>> from analysis.checks import properties
    >>> p = properties.measure("tanh")
    >>> bool(p.bounded), bool(p.centred), round(p.slope_right, 6)
    (True, True, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PROPERTIES",
    "PROPERTY_SET",
    "Measured",
    "differs_from",
    "measure",
]

TOL = 1e-6
H = 1e-7
Z_FAR = 1e6
PROPERTIES = ("bounded", "centred", "slope", "curvature")


@dataclass(frozen=True)
class Measured:
    """An activation's properties, measured in float64."""

    name: str
    sup_abs: float
    bounded: bool
    f_at_0: float
    mean_normal: float
    centred: bool
    slope_left: float
    slope_right: float
    curvature: float


def _f64(name: str):
    """The activation's forward as a float64 numpy function (jax in x64 for the call)."""
    import jax
    import jax.numpy as jnp

    import kernels

    act = kernels.get(name)

    def f(z: np.ndarray) -> np.ndarray:
        with jax.enable_x64(True):
            return np.asarray(act.fn(jnp.asarray(z, jnp.float64)), np.float64)

    def f2(z: np.ndarray) -> np.ndarray:
        with jax.enable_x64(True):
            return np.asarray(act.grad2(jnp.asarray(z, jnp.float64)), np.float64)

    return f, f2


def measure(name: str) -> Measured:
    """The properties of a registered activation (any `kernels.get` name, "formula:..." too).

    Args:
        name: the kernel's name.

    Returns:
        the Measured properties.
    """
    from scipy.integrate import trapezoid

    f, f2 = _f64(name)
    far = f(np.array([-Z_FAR, -Z_FAR / 1000, Z_FAR / 1000, Z_FAR]))
    bounded = bool(
        abs(far[0]) <= 1.001 * abs(far[1]) + TOL and abs(far[3]) <= 1.001 * abs(far[2]) + TOL
    )
    grid = np.concatenate([np.linspace(-Z_FAR, Z_FAR, 20_001), np.linspace(-50, 50, 20_001)])
    z = np.linspace(-12.0, 12.0, 240_001)
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    f0 = float(f(np.array([0.0]))[0])
    around = f(np.array([-H, 0.0, H]))
    return Measured(
        name=name,
        sup_abs=float(np.max(np.abs(f(grid)))),
        bounded=bounded,
        f_at_0=f0,
        mean_normal=float(trapezoid(f(z) * pdf, z)),
        centred=bool(abs(f0) < TOL and abs(trapezoid(f(z) * pdf, z)) < TOL),
        slope_left=float((around[1] - around[0]) / H),
        slope_right=float((around[2] - around[1]) / H),
        curvature=float(np.max(np.abs(f2(np.linspace(-1.0, 1.0, 2_001))))),
    )


def differs_from(a: Measured, b: Measured) -> tuple[str, ...]:
    """The `PROPERTIES` in which `a` differs from `b` (slopes within 1e-4, curvature 1e-3)."""
    out = []
    if a.bounded != b.bounded:
        out.append("bounded")
    if a.centred != b.centred:
        out.append("centred")
    if abs(a.slope_left - b.slope_left) > 1e-4 or abs(a.slope_right - b.slope_right) > 1e-4:
        out.append("slope")
    if abs(a.curvature - b.curvature) > 1e-3:
        out.append("curvature")
    return tuple(out)


# name -> (the kernel name or "formula:" expression, the properties declared to differ from
# tanh's). Slope changes keep the curvature's sign but not its size, so they differ in both.
PROPERTY_SET: dict[str, tuple[str, tuple[str, ...]]] = {
    "tanh": ("tanh", ()),
    "asinh": (
        "formula:log(z + sqrt(z^2 + 1)) if z >= 0; -log(-z + sqrt(z^2 + 1)) otherwise",
        ("bounded", "curvature"),
    ),
    "tanh+1": ("formula:tanh(z) + 1", ("centred",)),
    "tanh(2z)": ("formula:tanh(2*z)", ("slope", "curvature")),
    "tanh(0.5z)": ("formula:tanh(z/2)", ("slope", "curvature")),
    "hard_tanh": ("hard_tanh", ("curvature",)),
    "softsign": ("softsign", ("curvature",)),
    "identity": ("identity", ("bounded", "curvature")),
    "sigmoid": ("sigmoid", ("centred", "slope", "curvature")),
    "relu": ("relu", ("bounded", "centred", "slope", "curvature")),
    "2relu": ("formula:2*max(z, 0)", ("bounded", "centred", "slope", "curvature")),
    "leaky_relu": ("leaky_relu", ("bounded", "centred", "slope", "curvature")),
    "leaky_relu(0.2)": ("formula:max(z, 0.2*z)", ("bounded", "centred", "slope", "curvature")),
}
