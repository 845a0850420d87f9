"""Task batches: marker placement, targets, baselines by Monte Carlo, reproducibility."""

import math

import jax
import numpy as np
import pytest

from analysis.experiments import tasks


def _np(a):
    return np.asarray(a, dtype=np.float64)


@pytest.mark.parametrize("length", [2, 3, 20, 101])
def test_adding_markers_one_per_half_and_target_is_marked_sum(length):
    x, y = tasks.adding_problem(jax.random.key(1), 512, length)
    x, y = _np(x), _np(y)
    assert x.shape == (512, length, 2) and y.shape == (512, 1)
    values, markers = x[..., 0], x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(1), 1)
    assert values.min() >= 0 and values.max() < 1
    expected = [sum(values[b, t] for t in range(length) if markers[b, t] == 1) for b in range(512)]
    np.testing.assert_allclose(y[:, 0], expected, rtol=1e-6)


def test_adding_marker_positions_cover_each_half_uniformly():
    length, n = 10, 20_000
    x, _ = tasks.adding_problem(jax.random.key(2), n, length)
    counts = _np(x[..., 1]).sum(0)
    # each position is marked with probability 1/5: binomial(n, 0.2), 6 sigma band
    sigma = math.sqrt(n * 0.2 * 0.8)
    assert np.all(np.abs(counts - n * 0.2) < 6 * sigma), counts


def test_adding_baseline_by_monte_carlo():
    _, y = tasks.adding_problem(jax.random.key(3), 200_000, 30)
    err = (_np(y)[:, 0] - 1.0) ** 2
    se = err.std(ddof=1) / math.sqrt(err.size)
    assert abs(err.mean() - tasks.adding_problem_baseline()) < 5 * se
    # and predicting 1 is the best constant: the mean of y is 1
    assert abs(_np(y).mean() - 1.0) < 5 * _np(y).std() / math.sqrt(err.size)


@pytest.mark.parametrize("length", [20, 21, 100])
def test_adding_1997_markers_follow_the_paper(length):
    n = 4000
    x, y = tasks.adding_problem_1997(jax.random.key(4), n, length)
    x, y = _np(x), _np(y)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= -1 and values.max() <= 1
    marked = markers == 1
    np.testing.assert_array_equal(marked.sum(1), 2)
    pos = np.sort(np.argwhere(marked)[:, 1].reshape(n, 2), axis=1)
    assert pos.max() < length // 2  # both in the first half
    assert pos[:, 0].max() < 10  # X1 among the first ten pairs
    # the ends carry -1 unless marked; nothing else is non-zero
    for t in (0, length - 1):
        np.testing.assert_array_equal(markers[~marked[:, t], t], -1)
    inner = markers[:, 1:-1]
    assert set(np.unique(inner)) <= {0.0, 1.0}
    # a marked first pair has its value set to zero
    assert np.all(values[marked[:, 0], 0] == 0)
    total = np.where(marked, values, 0).sum(1)
    np.testing.assert_allclose(y[:, 0], 0.5 + total / 4, rtol=1e-6, atol=1e-7)
    # every position of the first half can be X2 (over many draws)
    assert set(pos.ravel()) == set(range(length // 2))


def test_adding_1997_baseline_is_variance_of_target():
    _, y = tasks.adding_problem_1997(jax.random.key(5), 200_000, 40)
    err = (_np(y)[:, 0] - 0.5) ** 2
    se = err.std(ddof=1) / math.sqrt(err.size)
    baseline = tasks.get("adding1997", 40).baseline
    assert baseline == tasks.adding_problem_1997_baseline(40)
    assert abs(err.mean() - baseline) < 5 * se
    assert abs(_np(y).mean() - 0.5) < 5 * _np(y).std() / math.sqrt(err.size)


@pytest.mark.parametrize(("delay", "n_symbols"), [(1, 10), (7, 10), (50, 3)])
def test_copy_task_layout(delay, n_symbols):
    x, y = tasks.copy_task(jax.random.key(6), 256, delay, n_symbols)
    x, y = np.asarray(x), np.asarray(y)
    length = delay + 2 * n_symbols
    assert x.shape == (256, length, tasks.COPY_ALPHABET) and y.shape == (256, length)
    np.testing.assert_array_equal(x.sum(-1), 1)  # one-hot
    tokens = x.argmax(-1)
    symbols = tokens[:, :n_symbols]
    assert symbols.min() >= 1 and symbols.max() <= 8
    np.testing.assert_array_equal(tokens[:, n_symbols : n_symbols + delay - 1], 0)
    np.testing.assert_array_equal(tokens[:, n_symbols + delay - 1], 9)
    np.testing.assert_array_equal(tokens[:, n_symbols + delay :], 0)
    np.testing.assert_array_equal(y[:, : delay + n_symbols], 0)
    np.testing.assert_array_equal(y[:, delay + n_symbols :], symbols)


def test_copy_baseline_is_the_memoryless_cross_entropy():
    delay = 30
    _, y = tasks.copy_task(jax.random.key(7), 64, delay)
    length = delay + 20
    # memoryless strategy: blank for sure, then uniform over the 8 categories
    probs = np.zeros((64, length, tasks.COPY_ALPHABET))
    probs[:, : delay + 10, 0] = 1.0
    probs[:, delay + 10 :, 1:9] = 1.0 / 8
    ce = -np.mean(np.log(np.take_along_axis(probs, np.asarray(y)[..., None], -1)))
    assert ce == pytest.approx(tasks.copy_task_baseline(delay), rel=1e-12)
    assert tasks.copy_task_baseline(delay) == pytest.approx(10 * math.log(8) / (delay + 20))
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    assert float(tasks.cross_entropy(logits, y)) == pytest.approx(ce, rel=1e-12)


@pytest.mark.parametrize("name", ["adding", "adding1997", "copy"])
def test_same_key_same_batch_other_key_other_batch(name):
    task = tasks.get(name, 25)
    a = task.make_batch(jax.random.key(11), 8)
    b = task.make_batch(jax.random.key(11), 8)
    c = task.make_batch(jax.random.key(12), 8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))
    assert task.make_batch(jax.random.key(11), 8)[0].dtype == np.float32


def test_solved_criteria():
    add = tasks.get("adding", 10)
    y = np.zeros((4, 1), np.float32)
    assert bool(add.solved(y + 0.09, y)) and not bool(add.solved(y + 0.11, y))
    add97 = tasks.get("adding1997", 20)
    assert bool(add97.solved(y + 0.039, y))
    assert not bool(add97.solved(y + np.array([[0], [0], [0], [0.041]], np.float32), y))


@pytest.mark.parametrize(
    ("name", "length", "match"),
    [
        ("nope", 10, "valid tasks: adding, adding1997, copy"),
        ("adding", 1, "length must be an integer >= 2"),
        ("adding1997", 19, "length must be an integer >= 20"),
        ("copy", 0, "length must be an integer >= 1"),
    ],
)
def test_bad_task_arguments(name, length, match):
    with pytest.raises(ValueError, match=match):
        tasks.get(name, length)
