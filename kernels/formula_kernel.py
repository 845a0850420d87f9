"""Activations from formulas: ``from_formula("z/(1+|z|)", name="my_softsign")``.

The formula is parsed into the closed tree of `kernels.formula` (never evaluated as
Python), differentiated symbolically twice, and lowered to jax.numpy: ``fn`` carries the
symbolic f' through custom_jvp, and f' carries f''. ``reference`` is the formula as written
with no custom rule, so jax.grad of it is an independent oracle for `actgrad verify`.
Kinks come from piecewise bounds and from the zeros of |.|, sign, relu arguments and
max/min/clip ties; their one-sided limits are measured at one float64 ulp on each side, and
the convention is the value the symbolic derivative takes at the point. Properties are
measured in float64 on a dense grid (the one `analysis.checks.verify.check_properties` uses).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from kernels._core import (
    FORMULA_PREFIX,
    Activation,
    Kink,
    Properties,
    make_activation,
    set_formula_builder,
)
from kernels.formula import check_params, parse, to_jax, to_numpy
from kernels.formula.derive import derivative
from kernels.formula.formula_kinks import find_kinks

__all__ = ["FORMULA_PREFIX", "build", "expression_of"]

_EXPRESSIONS: dict[str, str] = {}  # registered name -> expression


def expression_of(name: str) -> str | None:
    """The expression a formula kernel was built from (None for a built-in kernel).

    Args: name: a registry name. Returns the expression text or None.
    """
    return _EXPRESSIONS.get(name)


def _finite_at_inf(fn: Callable) -> Callable:
    """fn, but at +-inf where fn gives NaN (z/(1+|z|) is inf/inf) its value at +-max."""
    import jax.numpy as jnp

    def run(z):
        y = fn(z)
        alt = fn(jnp.where(jnp.isinf(z), jnp.sign(z) * jnp.finfo(z.dtype).max, z))
        return jnp.where(jnp.isinf(z) & jnp.isnan(y), alt, y)

    return run


def _at_max_for_inf(fn: Callable) -> Callable:
    """A derivative at +-inf as its value at +-max (its limit; inf > k inf is not defined)."""
    import jax.numpy as jnp

    def run(z):
        return fn(jnp.where(jnp.isinf(z), jnp.sign(z) * jnp.finfo(z.dtype).max, z))

    return run


def _grid() -> np.ndarray:
    half = np.concatenate([np.linspace(0.0, 50.0, 500_001)[1:], np.geomspace(50.0, 1e6, 2001)[1:]])
    return np.concatenate([-half[::-1], [0.0], half])


def measure_properties(act: Activation) -> Properties:
    """Range, bounded, monotonic, zero-centred, saturation, max |f'|, Lipschitz, f'(0),
    measured in float64 on 1,004,001 points in [-1e6, 1e6] plus +-inf (Lipschitz: the
    largest |f(x_i+1) - f(x_i)| / (x_i+1 - x_i)).

    Args: act: the activation. Returns its Properties.
    """
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        x = _grid()
        f = np.asarray(act.fn(jnp.asarray(x)))
        g = np.asarray(act.grad(jnp.asarray(x)))
        ends = np.asarray(act.fn(jnp.asarray([-np.inf, np.inf])))
        far = np.asarray(act.grad(jnp.asarray([-1e8, 1e8])))
        g0 = float(act.grad(jnp.asarray(0.0)))
    with np.errstate(all="ignore"):
        f_odd = float(np.max(np.abs(f + f[::-1]) / np.maximum(np.abs(f), 1e-300)))
        slope = float(np.max(np.abs(np.diff(f) / np.diff(x))))
    lo, hi = float(min(f.min(), ends.min())), float(max(f.max(), ends.max()))
    eps = float(np.finfo(np.float64).eps)
    sat = tuple(bool(abs(v) < 1e-12) for v in far)
    where = {(True, True): "|z| -> inf", (True, False): "z -> -inf", (False, True): "z -> +inf"}
    kind = {(True, True): "both", (True, False): "negative", (False, True): "positive"}
    return Properties(
        range=(lo, hi),
        bounded=bool(np.isfinite(lo) and np.isfinite(hi)),
        monotonic=bool(np.all(g >= 0) and np.all(np.diff(f) >= -16 * eps * np.abs(f[1:]))),
        zero_centered=f_odd == 0.0,
        saturating=kind.get(sat, "none"),
        saturates_where=where.get(sat, "nowhere"),
        max_abs_grad=float(np.max(np.abs(g))),
        lipschitz=slope,
        f_prime_at_zero=g0,
    )


def build(name: str, expr: str, params: Mapping[str, float]) -> Activation:
    """The Activation of ``expr`` with ``params``: f, f' = d/dz f and f'' symbolic.

    Args: name: registry name; expr: formula text; params: {name: value}. Returns the
    Activation (elementwise, any shape). Raises FormulaError (a ValueError) if refused.
    """
    params = check_params(params)
    tree = parse(expr, params)
    d1 = derivative(tree)
    d2 = derivative(d1)
    kinks: tuple[Kink, ...] = find_kinks(tree, d1, d2, to_numpy)
    act = make_activation(
        name,
        _finite_at_inf(to_jax(tree)),
        _at_max_for_inf(to_jax(d1)),
        _at_max_for_inf(to_jax(d2)),
        to_jax(tree),
        kinks=kinks,
        properties=Properties((0.0, 0.0), True, True, True, "none", "", 0.0, 0.0, 0.0),
        params=params,
        doc=f"formula: {expr}",
    )
    return dataclasses.replace(act, properties=measure_properties(act))


def register_formula(expr: str, name: str, params: Mapping[str, float]) -> None:
    """Register ``expr`` under ``name`` (built lazily by `kernels.get`).

    Args: expr: formula text; name: registry name; params: default parameter values.
    Returns None. Raises ValueError if the name holds another expression or expr is refused.
    """
    from kernels._core import register, registered

    if registered(name):
        if _EXPRESSIONS.get(name) != expr:
            raise ValueError(f"kernels.from_formula: {name!r} is already registered")
        return
    defaults = check_params(params)
    parse(expr, defaults)  # refuse a bad formula before registering anything

    def factory(**p: float) -> Activation:
        return build(name, expr, p)

    register(name, **defaults)(factory)
    _EXPRESSIONS[name] = expr


def from_formula(
    expr: str, name: str | None = None, params: Mapping[str, float] | None = None
) -> Activation:
    """An Activation built from a formula in z, registered under ``name``.

    Args: expr: the formula as people write it, e.g. "z/(1+|z|)" (see `kernels.formula`);
    name: registry name (default "formula:" + expr); params: named constants used in expr
    and their default values, e.g. {"k": 0.1}. Returns the Activation (fn, grad, grad2
    elementwise on any shape, dtype kept). Raises FormulaError (a ValueError) for a refused
    formula, ValueError when ``name`` already holds a different expression.
    """
    from kernels._core import get

    if not isinstance(expr, str):
        raise ValueError(f"kernels.from_formula: expr must be a string, got {type(expr).__name__}")
    name = name if name is not None else FORMULA_PREFIX + expr
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"kernels.from_formula: name must be a non-empty string, got {name!r}")
    register_formula(expr, name, dict(params or {}))
    return get(name)


__all__ += ["from_formula", "measure_properties", "register_formula"]

set_formula_builder(register_formula)
