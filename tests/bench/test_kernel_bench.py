"""The kernel benchmark runs end to end at a tiny size (no timing is asserted)."""

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
