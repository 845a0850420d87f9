"""Parity (Delétang et al. 2023): the padded, masked scan against the unpadded one in float64,
the data against a numpy count, the prefix evaluation against the masked one, the statistic
on a hand table."""

import jax
import jax.numpy as jnp
import numpy as np

from analysis import cells
from analysis.reproduce import parity_deletang as pd


def _cell(name, candidate):
    return cells.get(name, input_size=3, hidden_size=5, dtype="float64", candidate=candidate)


def test_the_batch_is_the_bits_then_the_output_token_and_its_parity_is_a_numpy_count():
    # one jitted program for every length: n is traced
    make = jax.jit(lambda key, n: pd.parity_batch(key, 64, n, 12))
    for n in (1, 5, 12):
        x, mask, y = (np.asarray(a) for a in make(jax.random.key(n), n))
        assert x.shape == (64, 13, 3) and mask.shape == (64, 13)
        bits = x[:, :n].argmax(axis=-1)
        assert np.all(x[:, :n, 2] == 0) and np.all(x[:, :n].sum(axis=-1) == 1)
        assert np.all(x[:, n, 2] == 1) and np.all(x[:, n + 1 :] == 0)  # token, then nothing
        assert np.all(mask[:, : n + 1]) and not np.any(mask[:, n + 1 :])
        want = np.array([sum(int(b) for b in row) % 2 for row in bits])
        np.testing.assert_array_equal(y, want)
    assert 0.3 < y.mean() < 0.7  # both classes drawn


def test_the_masked_scan_equals_the_unpadded_run_in_float64():
    cell = _cell("lstm", "relu")
    params = cell.init(jax.random.key(1))
    n = 5
    x, mask, _ = pd.parity_batch(jax.random.key(n), 4, n, 12)
    x = x.astype(jnp.float64)
    got = pd.masked_final_carry(cell, params, x, mask)
    _, want = cell.apply(params, x[:, : n + 1])  # the cell's own scan, n + 1 steps only
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(want[k]), rtol=1e-12)


def test_every_prefix_prediction_equals_the_masked_run_at_that_length():
    cell = _cell("lstm", "hard_tanh")
    k_cell, k_w, k_bits = jax.random.split(jax.random.key(2), 3)
    model = {
        "cell": cell.init(k_cell),
        "w": jax.random.normal(k_w, (5, 2), jnp.float64),
        "b": jnp.array([0.1, -0.2], jnp.float64),
    }
    bits = jax.random.randint(k_bits, (3, 7), 0, 2)
    logits = pd.prefix_logits(cell, model, bits)
    masked = jax.jit(lambda x, mask: pd.masked_final_carry(cell, model["cell"], x, mask)["h"])
    for n in (1, 4, 7):
        # the string of length n, its output token, then padding: one shape for every n
        tokens = jnp.concatenate([bits[:, :n], jnp.full((3, 8 - n), 2)], axis=1)
        x = jax.nn.one_hot(tokens, 3, dtype=jnp.float64)
        h = masked(x, jnp.broadcast_to(jnp.arange(8) <= n, (3, 8)))
        want = jax.nn.relu(h) @ model["w"] + model["b"]
        np.testing.assert_allclose(np.asarray(logits[:, n - 1]), np.asarray(want), rtol=1e-12)


def test_the_papers_statistic_and_the_fraction_of_seeds_on_a_hand_table():
    # rows: seeds; columns: learning rates; entries: accuracy averaged over test lengths
    scores = np.array([[0.95, 0.60], [0.50, 0.99], [0.92, 0.70]])
    got = pd.aggregate(scores)
    # the paper's number: the best run anywhere; the rate with the best mean (0.79 > 0.763)
    # is the first, where seeds 0 and 2 reach 0.9
    assert got["max"] == 0.99 and got["best_lr"] == 0
    assert (got["k"], got["n"]) == (2, 3) and got["per_seed"] == [0.95, 0.50, 0.92]
    assert pd.aggregate(scores, threshold=0.96)["k"] == 0
