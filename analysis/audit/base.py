"""What every part of the seed-claims audit shares: the row, the evidence, the verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["DEPENDS", "HOLDS", "NOT_SUPPORTED", "WRONG", "ClaimRow", "Evidence", "grid"]

HOLDS, WRONG, DEPENDS, NOT_SUPPORTED = "holds", "wrong", "depends", "not supported"


class ClaimRow(NamedTuple):
    """One audited claim: id, topic, the page's words, a verdict and the data behind it.

    No English here: templates/claims.md.j2 writes each row's evidence from `data` (plain
    JSON types: numbers, names and keys, lists, dicts), one macro per claim id.
    """

    id: str
    topic: str
    quote: str  # as written on the seed page
    verdict: str  # HOLDS, WRONG, DEPENDS or NOT_SUPPORTED
    data: dict


class Evidence(NamedTuple):
    """Measurements the report made, keyed the way `summarise.evidence_rows` produces them.

    decay: rows with variant, forget_bias, rate, half_life, lyapunov_max, max_abs_c, flow.
    training: rows with variant, outcome, solved, n, solve_rate_ci, solved_steps (per seed,
        None if not solved), final_test_loss (median), baseline.
    costs: `analysis.bench.costs.elementwise_costs` output; device: where they were timed.
    comparisons: the page's tests; a claim about a difference reads its verdict there.
    """

    decay: Sequence[Mapping[str, Any]] = ()
    training: Sequence[Mapping[str, Any]] = ()
    costs: Mapping[str, Mapping[str, float]] = {}
    device: str = ""
    comparisons: Sequence[Any] = ()  # `model.Comparison`s: the page's verdicts


def grid(lo: float, hi: float, n: int = 100_001) -> Any:
    """An evenly spaced float32 grid (the dtype LSTMs run in).

    Args:
        lo, hi: the ends; n: points.

    Returns:
        jax array (n,).
    """
    import jax.numpy as jnp

    return jnp.linspace(lo, hi, n, dtype=jnp.float32)
