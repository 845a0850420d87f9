"""The kernel benchmark runs end to end at a tiny size (no timing is asserted)."""

import pytest

import kernels
from analysis.bench import kernels as kernel_bench


def test_tiny_run_produces_a_row_per_kernel_and_a_reason_where_slower():
    res = kernel_bench.run(size=1000, repeats=2, with_verify=False)
    names = [r["kernel"] for r in res["rows"]]
    assert names == list(kernels.names())
    for r in res["rows"]:
        assert r["ours_s"] > 0 and r["twin_s"] > 0
        assert (r["why"] != "") == (r["ours_s"] > r["twin_s"])
    text = kernel_bench.markdown(res)
    assert text.count("\n| ") == len(names) + 2  # header, separator, one row per kernel


def test_twin_error_finds_jax_nn_tanh_tail_rounded_to_zero():
    import jax

    with jax.enable_x64(True):
        why = kernel_bench.twin_error(kernels.get("tanh"))
    assert why.startswith("jax.nn f'(") and "= 0" in why


def _entry_fusion_operands(act) -> tuple[set[str], list[list[str]]]:
    """Parameter names and each loop fusion's operands in the compiled y, vjp(ct) program."""
    import re

    import jax
    import jax.numpy as jnp

    def step(x, ct):
        y, pull = jax.vjp(act.fn, x)
        return y, pull(ct)[0]

    x = jnp.linspace(-3.0, 3.0, 64, dtype=jnp.float32)
    text = jax.jit(step).lower(x, x).compile().as_text()
    entry = text[text.index("ENTRY") :]
    entry = entry[: entry.index("\n}")]
    params = set(re.findall(r"(%[\w.]+) = \S+ parameter\(", entry))
    fusions = [
        [op.split()[-1] for op in ops.split(", ")]
        for ops in re.findall(r"= \S+ fusion\(([^)]*)\)", entry)
    ]
    return params, fusions


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "silu", "gelu_tanh"])
def test_value_and_gradient_loops_read_only_the_inputs(name):
    # Why: f and f' sharing t = sigma(-|v|) made XLA write t to memory and read it back
    # twice, one more pass over the data than jax.nn (issue 13 §3). Each loop must read
    # x and ct only; an exp recomputed in registers is cheaper than a pass over memory.
    params, fusions = _entry_fusion_operands(kernels.get(name))
    assert len(params) == 2 and fusions
    for operands in fusions:
        assert set(operands) <= params, (name, operands, params)
