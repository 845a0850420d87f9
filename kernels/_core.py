"""The `Activation` record, the derivative-wiring helper and the registry.

Every kernel is built by `make_activation` from four plain functions of one array:
the stable forward ``f``, its hand-written first and second derivatives ``d1`` and
``d2``, and the textbook ``reference`` formula. ``fn`` carries ``d1`` through
``jax.custom_jvp`` and ``d1`` carries ``d2`` the same way, so that
``jax.grad(fn) == d1`` and ``jax.grad(jax.grad(fn)) == d2`` use the hand-written rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

Array = jax.Array
ElementwiseFn = Callable[[ArrayLike], Array]


@dataclass(frozen=True)
class Kink:
    """A point where a derivative is undefined: its one-sided limits and the value we chose.

    ``order`` 1 means f' jumps there (a corner of f); 2 means f' is continuous but f''
    jumps (softsign, elu at 0). ``left``, ``right`` and ``convention`` are values of that
    derivative. ``jax_nn`` is what ``jax.grad`` of the jax.nn twin gives at the point
    (None without a twin), so a report can show where the two conventions differ.
    """

    at: float
    left: float
    right: float
    convention: float
    reason: str
    order: int = 1
    jax_nn: float | None = None


@dataclass(frozen=True)
class Properties:
    """Declared facts about f; `analysis.verify` checks them numerically."""

    range: tuple[float, float]
    bounded: bool
    monotonic: bool
    zero_centered: bool
    saturating: str  # "both", "negative", "positive" or "none": where f' -> 0 as |z| grows
    saturates_where: str  # plain words, e.g. "|z| > 1" or "z -> -inf"
    max_abs_grad: float  # sup |f'|
    lipschitz: float
    f_prime_at_zero: float


@dataclass(frozen=True)
class Activation:
    """An elementwise activation with hand-written derivatives.

    ``fn``, ``grad`` and ``grad2`` are jitted, take any shape and keep a floating input's
    dtype (integer input is promoted to JAX's default float). ``reference`` is the plain
    textbook formula with no custom rule: the independent oracle for the verifier.
    ``grad_from_output`` gives f' from y = f(z) where that is possible (tanh: 1 - y^2),
    which a fused backward pass uses to avoid recomputing f; None otherwise.
    """

    name: str
    fn: ElementwiseFn
    grad: ElementwiseFn
    grad2: ElementwiseFn
    reference: ElementwiseFn
    kinks: tuple[Kink, ...]
    properties: Properties
    params: Mapping[str, float] = field(default_factory=dict)
    jax_nn: ElementwiseFn | None = None
    grad_from_output: ElementwiseFn | None = None
    doc: str = ""

    def __call__(self, x: ArrayLike) -> Array:
        return self.fn(x)


def as_float(x: ArrayLike) -> Array:
    """`x` as a floating array, keeping a floating dtype and promoting integers."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def with_float_input(f: ElementwiseFn) -> ElementwiseFn:
    def wrapped(x: ArrayLike) -> Array:
        return f(as_float(x))

    wrapped.__name__ = getattr(f, "__name__", "f")
    wrapped.__doc__ = f.__doc__
    return wrapped


_LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def in_float32_if_low(f: ElementwiseFn) -> ElementwiseFn:
    """Run ``f`` in float32 for float16/bfloat16 input and cast the result back.

    Why: intermediates such as x**2 or x**3 overflow float16 long before the result does,
    and XLA on CPU widens 16-bit arithmetic to float32 anyway, so this costs nothing there.
    """

    def wrapped(x: Array) -> Array:
        if x.dtype in _LOW_PRECISION:
            return f(x.astype(jnp.float32)).astype(x.dtype)
        return f(x)

    return wrapped


def keep_nan(x: Array, y: ArrayLike) -> Array:
    """``y`` where x is a number, NaN where x is NaN (a select that drops NaN needs this)."""
    y = jnp.asarray(y, dtype=x.dtype)
    return jnp.where(jnp.isnan(x), x, y)


def make_activation(
    name: str,
    f: ElementwiseFn,
    d1: ElementwiseFn,
    d2: ElementwiseFn,
    reference: ElementwiseFn,
    *,
    kinks: tuple[Kink, ...] = (),
    properties: Properties,
    params: Mapping[str, float] | None = None,
    jax_nn: ElementwiseFn | None = None,
    grad_from_output: ElementwiseFn | None = None,
    doc: str = "",
) -> Activation:
    """Wire f, f', f'' together with custom_jvp (outermost) around jit (inside).

    ``f``, ``d1``, ``d2`` and ``grad_from_output`` run in float32 for 16-bit input (see
    `in_float32_if_low`); ``reference`` runs as written, since it is the oracle.
    """
    d2_jit = jax.jit(in_float32_if_low(d2))

    d1_rule = jax.custom_jvp(jax.jit(in_float32_if_low(d1)))
    d1_rule.defjvps(lambda t, _ans, x: t * d2_jit(x))

    f_rule = jax.custom_jvp(jax.jit(in_float32_if_low(f)))
    f_rule.defjvps(lambda t, _ans, x: t * d1_rule(x))

    return Activation(
        name=name,
        fn=with_float_input(f_rule),
        grad=with_float_input(d1_rule),
        grad2=with_float_input(d2_jit),
        reference=with_float_input(reference),
        kinks=kinks,
        properties=properties,
        params=dict(params or {}),
        jax_nn=jax_nn,
        grad_from_output=(
            None
            if grad_from_output is None
            else with_float_input(jax.jit(in_float32_if_low(grad_from_output)))
        ),
        doc=doc,
    )


# name -> (factory(**params) -> Activation, default params)
_REGISTRY: dict[str, tuple[Callable[..., Activation], dict[str, float]]] = {}
_CACHE: dict[tuple[str, tuple[tuple[str, float], ...]], Activation] = {}


def register(name: str, **defaults: float) -> Callable[[Callable[..., Activation]], Callable]:
    """Decorator: register a factory ``factory(**params) -> Activation`` under ``name``."""

    def deco(factory: Callable[..., Activation]) -> Callable[..., Activation]:
        if name in _REGISTRY:
            raise ValueError(f"kernels.register: {name!r} is already registered")
        _REGISTRY[name] = (factory, dict(defaults))
        return factory

    return deco


def names() -> tuple[str, ...]:
    """The registered activation names, sorted (formula kernels once registered included)."""
    return tuple(sorted(_REGISTRY))


def builtin_names() -> tuple[str, ...]:
    """The registered names without formula kernels ("formula:EXPR", registered on first use):
    the catalogue itself, whatever formulas a process has used so far."""
    return tuple(n for n in names() if not n.startswith(FORMULA_PREFIX))


def registered(name: str) -> bool:
    """True when ``name`` is in the registry (a "formula:EXPR" name only once it was used)."""
    return name in _REGISTRY


def unregister(name: str) -> None:
    """Remove ``name`` and its cached activations (for formula kernels made in tests)."""
    _REGISTRY.pop(name, None)
    for key in [k for k in _CACHE if k[0] == name]:
        del _CACHE[key]


def default_params(name: str) -> dict[str, float]:
    """The parameters `get(name)` uses when none are given."""
    _formula_name(name, {})
    _check_name(name)
    return dict(_REGISTRY[name][1])


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"kernels.get: unknown activation {name!r}; valid names: {', '.join(names())}, "
            "or formula:EXPR (e.g. formula:z/(1+|z|))"
        )


# "formula:EXPR" names are built by kernels.formula_kernel, which builds on this module: it
# installs its builder here (`set_formula_builder`) so that this module never imports it.
FORMULA_PREFIX = "formula:"
_FORMULA_BUILDER: list[Callable[[str, str, dict], Any]] = []


def set_formula_builder(builder: Callable[[str, str, dict], Any]) -> None:
    """Install ``builder(expression, name, params)``, which registers a formula kernel."""
    _FORMULA_BUILDER[:] = [builder]


def _formula_name(name: Any, params: Mapping[str, Any]) -> None:
    """Register "formula:EXPR" on first use, with ``params`` as its defaults."""
    if isinstance(name, str) and name.startswith(FORMULA_PREFIX) and name not in _REGISTRY:
        # importing the package `kernels` (always first) installs the builder
        try:
            _FORMULA_BUILDER[0](name[len(FORMULA_PREFIX) :], name, dict(params))
        except ValueError as err:
            raise type(err)(f"kernels.get({name!r}): {err}") from None


def _check_param(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"kernels.get({name!r}): parameter {key} must be a real number, got "
            f"{type(value).__name__} {value!r}"
        )
    if not math.isfinite(value):
        raise ValueError(f"kernels.get({name!r}): parameter {key} must be finite, got {value!r}")
    return float(value)


def get(name: str, **params: float) -> Activation:
    """The activation `name`, built once per distinct parameter set (so jit caches are reused).

    Raises ValueError for an unknown name (listing the valid ones), an unknown parameter,
    or a parameter that is not a finite real number. ``"formula:EXPR"`` builds (once) the
    activation of EXPR (`kernels.from_formula`); a refused formula is a ValueError.
    """
    _formula_name(name, params)
    _check_name(name)
    factory, defaults = _REGISTRY[name]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        valid = ", ".join(sorted(defaults)) or "none"
        raise ValueError(
            f"kernels.get({name!r}): unknown parameter(s) {', '.join(unknown)}; valid: {valid}"
        )
    merged = {k: _check_param(name, k, params.get(k, v)) for k, v in defaults.items()}
    key = (name, tuple(sorted(merged.items())))
    if key not in _CACHE:
        _CACHE[key] = factory(**merged)
    return _CACHE[key]
