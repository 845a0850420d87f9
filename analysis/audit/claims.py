"""Audit of every formula and claim on the seed page, each with a verdict and its evidence.

Verdicts: ``holds``, ``wrong``, ``depends`` (true in some settings, false in others; the
evidence says which) and ``not supported`` (the page asserts it; nothing here backs it).
Each row carries the numbers behind its verdict in ``data``; templates/claims.md.j2 writes
the evidence from them (this module writes no English).
Formula rows run the formula checker on the text as written on the page; property rows
measure the kernels; cost and training rows read measurements the report made
(`Evidence`), so this module does no timing or training itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import kernels
from analysis.audit.base import (
    DEPENDS,
    HOLDS,
    NOT_SUPPORTED,
    WRONG,
    ClaimRow,
    Evidence,
)
from analysis.audit.kernel_claims import property_rows
from analysis.audit.measured import measured_rows

__all__ = [
    "DEPENDS",
    "HOLDS",
    "NOT_SUPPORTED",
    "SEED_FORMULAS",
    "SIGMOID_CORRECT",
    "SIGMOID_SIGN_ONLY",
    "TANH_SECOND_FORM",
    "WRONG",
    "ClaimRow",
    "Evidence",
    "audit",
    "derivative_cell",
    "derivative_checks",
    "formula_rows",
    "measured_rows",
    "property_rows",
    "run_derivative_checks",
]


DEFINITION_POINTS = 40_001  # float64 points on [-20, 20] where f is compared to the kernel

# The page's formulas, verbatim apart from the left-hand sides. (name, f, f', params)
SEED_FORMULAS = {
    "sigmoid": ("1 / (1 + exp(-z))", "-exp(-z) / 1 + exp(-z)^2", {}),
    "tanh": (
        "[exp(z) - exp(-z)] / [exp(z) + exp(-z)]",
        "1 - ([exp(z) - exp(-z)] / [exp(z) + exp(-z)])^2",
        {},
    ),
    "hard_tanh": (
        "-1 if z < -1; z if -1 <= z <= 1; 1 if z > 1",
        "1 if -1 <= z <= 1; 0 otherwise",
        {},
    ),
    "relu": ("max(z, 0)", "1 if z > 0; 0 otherwise", {}),
    "leaky_relu": ("max(z, k dot z)", "1 if z > 0; k otherwise", {"k": 0.01}),
}
TANH_SECOND_FORM = "1 - tanh^2(z)"
SIGMOID_CORRECT = "exp(-z) / (1 + exp(-z))^2"
SIGMOID_SIGN_ONLY = "-exp(-z) / (1 + exp(-z))^2"


def _definition_row(name: str) -> ClaimRow:
    """Does the page's f, evaluated as written, equal the kernel's stable forward?"""
    import jax
    import jax.numpy as jnp

    from analysis.checks.formula import parse, to_jax

    text, _, params = SEED_FORMULAS[name]
    act = kernels.get(name, **({"negative_slope": params["k"]} if "k" in params else {}))
    with jax.enable_x64(True):
        z = jnp.linspace(-20.0, 20.0, DEFINITION_POINTS, dtype=jnp.float64)
        page = np.asarray(to_jax(parse(text, params))(z))
        ours = np.asarray(act.fn(z))
        err = float(np.max(np.abs(page - ours)))
        big = jnp.asarray([-800.0, 800.0], dtype=jnp.float64)
        page_big = np.asarray(to_jax(parse(text, params))(big))
    overflow = not np.all(np.isfinite(page_big))
    return ClaimRow(
        f"{name}-f",
        name,
        f"{name}(z) = {text}",
        HOLDS if err < 1e-12 else WRONG,
        {
            "max_abs_err": err,
            "n_points": DEFINITION_POINTS,
            "z_range": [-20.0, 20.0],
            "overflows_as_written": overflow,
            "big_z": 800.0,
            "at_big_z": [_plain(v) for v in page_big.tolist()],  # at -800, +800
        },
    )


def _plain(x: float) -> float | str:
    """A float as report.json stores it: non-finite ones as "nan", "inf", "-inf", so that a
    row compares equal to itself and reads the same before and after the round trip."""
    return x if math.isfinite(x) else str(x)


# The seed page's derivatives are checked on 4,001 grid and random points (special points,
# bounds and kinks come on top) instead of check-formula's 24,001: a wrong one there is wrong
# almost everywhere, and the 50-digit oracle at 24k points costs the report ~15 s (measured).
CLAIM_POINTS = 4_001


def _derivative_row(name: str, f: str, df: str, params: dict, row_id: str) -> ClaimRow:
    from analysis.checks.formula import check_formula

    res = check_formula(f, df, params=params, n_points=CLAIM_POINTS)
    data = {
        "matches": bool(res.matches),
        "max_abs_err": float(res.max_abs_err),
        "max_rel_err": float(res.max_rel_err),
        "worst_z": float(res.worst_z),
        "counterexamples": [list(map(float, c)) for c in list(res.counterexamples)[:5]],
        "kinks": list(res.kinks),
        "n_compared": int(res.n_compared),
    }
    return ClaimRow(row_id, name, f"{name}'(z) = {df}", HOLDS if res.matches else WRONG, data)


def derivative_checks() -> dict[str, tuple[str, str, str, dict]]:
    """Every derivative the page states, by row id: (kernel name, f, f', params).

    Returns:
        row id -> the arguments of one formula check, in page order.
    """
    checks: dict[str, tuple[str, str, str, dict]] = {}
    for name, (f, df, params) in SEED_FORMULAS.items():
        checks[f"{name}-df"] = (name, f, df, params)
        if name == "sigmoid":
            checks["sigmoid-df-sign"] = (name, f, SIGMOID_SIGN_ONLY, {})
            checks["sigmoid-df-correct"] = (name, f, SIGMOID_CORRECT, {})
        if name == "tanh":
            checks["tanh-df-2"] = (name, f, TANH_SECOND_FORM, {})
    return checks


def derivative_cell(check: Mapping[str, Any], seeds: Sequence[int]) -> dict:
    """One derivative check as a `pool` task (module-level, so a worker can run it).

    Args:
        check: {"name", "f", "df", "params", "row_id"} (a `derivative_checks` entry and its
            id); seeds: unused.

    Returns:
        {"row": the ClaimRow}.
    """
    del seeds
    args = (check["name"], check["f"], check["df"], check["params"], check["row_id"])
    return {"row": _derivative_row(*args)}


def run_derivative_checks() -> dict[str, ClaimRow]:
    """Every `derivative_checks` row, in the sweep's worker processes when they can be used.

    The 50-digit oracle is most of the claims stage (about 5 s of 6 warm in --quick here);
    the eight checks are independent, so two workers halve it.

    Returns:
        row id -> ClaimRow.
    """
    from analysis.runtime import pool

    todo = {
        rid: dict(zip(("name", "f", "df", "params"), check, strict=True), row_id=rid)
        for rid, check in derivative_checks().items()
    }
    return {rid: result["row"] for rid, result in pool.map_cells(todo, derivative_cell).items()}


def formula_rows(checked: Mapping[str, ClaimRow] | None = None) -> list[ClaimRow]:
    """Every formula on the page through the checker (definitions against the kernels).

    Args:
        checked: `run_derivative_checks`'s rows if already computed (else computed here).

    Returns:
        the formula rows, in page order.
    """
    if checked is None:
        checked = {rid: _derivative_row(*c, rid) for rid, c in derivative_checks().items()}
    rows: list[ClaimRow] = []
    for name, (_, df, _) in SEED_FORMULAS.items():
        rows.append(_definition_row(name))
        row = checked[f"{name}-df"]
        if name == "sigmoid":
            sign, good = checked["sigmoid-df-sign"], checked["sigmoid-df-correct"]
            row = row._replace(
                data={
                    **row.data,
                    "sign_only": {**sign.data, "formula": SIGMOID_SIGN_ONLY},
                    "correct": {**good.data, "formula": SIGMOID_CORRECT},
                }
            )
        if name == "leaky_relu":
            row = _leaky_row(row, df)
        rows.append(row)
        if name == "tanh":
            rows.append(checked["tanh-df-2"])
    return rows


def _leaky_row(row: ClaimRow, df: str) -> ClaimRow:
    act = kernels.get("leaky_relu")
    k0 = next((k for k in act.kinks if k.at == 0.0), None)
    conv = float(k0.convention) if k0 is not None else "nan"
    return row._replace(
        quote=f"relu'(z) = {df}",  # the page's label (the template notes it is leaky ReLU's)
        data={
            **row.data,
            "k": float(SEED_FORMULAS["leaky_relu"][2]["k"]),
            "kernel_at_0": conv,
            "jax_nn_at_0": _jax_nn_leaky_grad_at_zero(),
        },
    )


def _jax_nn_leaky_grad_at_zero() -> float:
    import jax

    return float(jax.grad(jax.nn.leaky_relu)(0.0))


def audit(evidence: Evidence, checked: Mapping[str, ClaimRow] | None = None) -> list[ClaimRow]:
    """All rows: formulas, then properties, then measured claims.

    Args:
        evidence: the report's measurements.
        checked: `run_derivative_checks`'s rows, if already computed.

    Returns:
        every ClaimRow, in page order.
    """
    return formula_rows(checked) + property_rows() + measured_rows(evidence)
