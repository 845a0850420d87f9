"""Long-range tasks: the adding problem (two forms) and the copy task (synthetic), and
classification of real sequences (digits, trace, acsf1 of `analysis.data`).

Every batch is a pure function of a key (same key, same batch), built with jax.random so it
can be drawn inside a jitted training step. A `Task` bundles what a generic training loop
needs: batch maker, loss, baseline, solved criterion, read-out shape.

References:
  Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", Neural Computation 9(8),
    Experiment 4 (adding problem).
  Le, Jaitly & Hinton (2015), "A Simple Way to Initialize Recurrent Networks of Rectified
    Linear Units", arXiv:1504.00941, section 4.1 (adding problem).
  Arjovsky, Shah & Bengio (2016), "Unitary Evolution Recurrent Neural Networks", ICML,
    section 4.1 (copying memory problem).

Classification (`classification`): training batches are drawn from the data set's train
split (uniform random indices from the batch key, inside jit, the split closed over as a
constant); the test is the WHOLE test split (`Task.test_set`), not a random batch. Loss:
cross-entropy of the read-out of h_T. Solved: test accuracy at least halfway from the
majority-class rate m (the train split's most frequent class, scored on the test split) to
1, i.e. accuracy >= m + (1 - m) / 2; a run that only learns the class prior never counts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from analysis import data

__all__ = [
    "COPY_ALPHABET",
    "N_CATEGORIES",
    "SOLVED_GAP_SHARE",
    "Task",
    "accuracy",
    "adding_problem",
    "adding_problem_1997",
    "adding_problem_1997_baseline",
    "adding_problem_baseline",
    "classification",
    "copy_task",
    "copy_task_baseline",
    "cross_entropy",
    "get",
    "mse",
    "names",
]

_ADDING_MSE_SOLVED = 0.01
_ADDING_1997_TOLERANCE = 0.04
_COPY_SOLVED_FRACTION = 0.1
SOLVED_GAP_SHARE = 0.5  # classification: solved = accuracy >= m + 0.5 (1 - m)
N_CATEGORIES = 8  # copy task: symbols a_1..a_8; a_0 is blank, a_9 the delimiter
COPY_ALPHABET = N_CATEGORIES + 2


def _positive_int(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@functools.partial(jax.jit, static_argnames=("batch_size", "length", "dtype"))
def adding_problem(
    key: ArrayLike, batch_size: int, length: int, dtype: str = "float32"
) -> tuple[Array, Array]:
    """Adding problem, Le, Jaitly & Hinton (2015) form.

    x[b, t] = (u_t, m_t): u_t ~ U[0, 1]; m_t = 1 at exactly two steps, one drawn uniformly in
    the first half [0, T//2) and one in the second half [T//2, T), 0 elsewhere.
    y[b, 0] = sum_t u_t m_t. Shapes: x (B, T, 2), y (B, 1). Needs T >= 2.
    """
    batch_size = _positive_int("batch_size", batch_size)
    length = _positive_int("length", length, 2)
    k_val, k_first, k_second = jax.random.split(jnp.asarray(key), 3)
    half = length // 2
    values = jax.random.uniform(k_val, (batch_size, length), dtype=dtype)
    first = jax.random.randint(k_first, (batch_size,), 0, half)
    second = jax.random.randint(k_second, (batch_size,), half, length)
    steps = jnp.arange(length)
    markers = ((steps == first[:, None]) | (steps == second[:, None])).astype(dtype)
    x = jnp.stack([values, markers], axis=-1)
    y = jnp.sum(values * markers, axis=1, keepdims=True)
    return x, y


def adding_problem_baseline() -> float:
    """MSE of always predicting E[y] = 1 for the Le et al. form: Var(u1 + u2) = 2/12 = 1/6."""
    return 1.0 / 6.0


@functools.partial(jax.jit, static_argnames=("batch_size", "length", "dtype"))
def adding_problem_1997(
    key: ArrayLike, batch_size: int, length: int, dtype: str = "float32"
) -> tuple[Array, Array]:
    """Adding problem, Hochreiter & Schmidhuber (1997) Experiment 4.

    x[b, t] = (u_t, m_t) with u_t ~ U[-1, 1]. Markers as in the paper: X1 is one of the first
    ten steps, X2 one of the first T/2 - 1 steps still unmarked (so both lie in [0, T//2));
    m = 1 at those two steps; m = -1 at the first and the last step unless marked; 0 elsewhere.
    When step 0 is marked its value is set to 0 (the paper's "we set X1 to zero").
    y[b, 0] = 0.5 + (X1 + X2) / 4, in [0, 1]. Success per sequence: |prediction - y| < 0.04.
    Shapes: x (B, T, 2), y (B, 1). Needs T >= 20.

    Deviation from the paper: every sequence has length T (the paper draws lengths in
    [T, T + T/10]) so that a batch is one array; the marked steps follow the paper exactly.
    """
    batch_size = _positive_int("batch_size", batch_size)
    length = _positive_int("length", length, 20)
    k_val, k_first, k_second = jax.random.split(jnp.asarray(key), 3)
    n_second = length // 2 - 1
    values = jax.random.uniform(k_val, (batch_size, length), dtype=dtype, minval=-1.0, maxval=1.0)
    first = jax.random.randint(k_first, (batch_size,), 0, 10)
    # The j-th unmarked step among the first T/2 steps: skip over `first` when j reaches it.
    j = jax.random.randint(k_second, (batch_size,), 0, n_second)
    second = j + (j >= first)
    steps = jnp.arange(length)
    marked = (steps == first[:, None]) | (steps == second[:, None])
    ends = (steps == 0) | (steps == length - 1)
    markers = jnp.where(marked, 1.0, jnp.where(ends, -1.0, 0.0)).astype(dtype)
    values = jnp.where(marked & (steps == 0), 0.0, values).astype(dtype)
    x = jnp.stack([values, markers], axis=-1)
    total = jnp.sum(jnp.where(marked, values, 0.0), axis=1, keepdims=True)
    y = (0.5 + total / 4.0).astype(dtype)
    return x, y


def adding_problem_1997_baseline(length: int) -> float:
    """MSE of always predicting E[y] = 0.5 for `adding_problem_1997` at length T.

    y - 0.5 = (X1 + X2) / 4 with X_k = 0 with probability p_k (marked first pair), otherwise
    U[-1, 1] (variance 1/3): MSE = ((1 - p1) + (1 - p2)) / 48, p1 = 1/10,
    p2 = (9/10) / (T//2 - 1). Close to, but below, the 1/24 without the zeroing rule.
    """
    length = _positive_int("length", length, 20)
    p1 = 1.0 / 10.0
    p2 = (9.0 / 10.0) / (length // 2 - 1)
    return ((1.0 - p1) + (1.0 - p2)) / 48.0


@functools.partial(jax.jit, static_argnames=("batch_size", "delay", "n_symbols", "dtype"))
def copy_task(
    key: ArrayLike, batch_size: int, delay: int, n_symbols: int = 10, dtype: str = "float32"
) -> tuple[Array, Array]:
    """Copying memory problem, Arjovsky, Shah & Bengio (2016).

    Alphabet {a_0 blank, a_1..a_8 categories, a_9 delimiter}. Input: n_symbols categories
    drawn uniformly from a_1..a_8, then delay - 1 blanks, the delimiter, then n_symbols blanks
    (length T = delay + 2 n_symbols). Target: blanks for delay + n_symbols steps, then the
    n_symbols categories in order. Shapes: x (B, T, 10) one-hot in `dtype`, y (B, T) int32.
    """
    batch_size = _positive_int("batch_size", batch_size)
    delay = _positive_int("delay", delay)
    n_symbols = _positive_int("n_symbols", n_symbols)
    symbols = jax.random.randint(jnp.asarray(key), (batch_size, n_symbols), 1, N_CATEGORIES + 1)
    blanks = jnp.zeros((batch_size, delay - 1), jnp.int32)
    delimiter = jnp.full((batch_size, 1), N_CATEGORIES + 1, jnp.int32)
    tail = jnp.zeros((batch_size, n_symbols), jnp.int32)
    tokens = jnp.concatenate([symbols, blanks, delimiter, tail], axis=1)
    lead = jnp.zeros((batch_size, delay + n_symbols), jnp.int32)
    y = jnp.concatenate([lead, symbols], axis=1).astype(jnp.int32)
    x = jax.nn.one_hot(tokens, COPY_ALPHABET, dtype=dtype)
    return x, y


def copy_task_baseline(delay: int, n_symbols: int = 10) -> float:
    """Cross-entropy per step of the memoryless strategy: blanks surely, then uniform over 8.

    n_symbols ln 8 / (delay + 2 n_symbols); for n_symbols = 10 that is 10 ln 8 / (delay + 20).
    """
    return n_symbols * math.log(N_CATEGORIES) / (delay + 2 * n_symbols)


def mse(pred: ArrayLike, y: ArrayLike) -> Array:
    """mean_b (pred_b - y_b)^2 over a (B, 1) read-out."""
    return jnp.mean(jnp.square(jnp.asarray(pred) - jnp.asarray(y)))


def cross_entropy(logits: ArrayLike, y: ArrayLike) -> Array:
    """mean_{b,t} -log softmax(logits[b, t])[y[b, t]]; logits (B, T, K), y (B, T) int."""
    logp = jax.nn.log_softmax(jnp.asarray(logits), axis=-1)
    picked = jnp.take_along_axis(logp, jnp.asarray(y)[..., None], axis=-1)
    return -jnp.mean(picked)


@dataclass(frozen=True)
class Task:
    """Everything a generic training loop needs to know about one task at one length.

    make_batch(key, batch_size) -> (x (B, T, input_size), y); loss(pred, y) -> scalar;
    solved(pred, y) -> bool scalar (the task's criterion on a test batch);
    readout "last" maps h_T to (B, output_size), "all" maps every h_t to (B, T, output_size).
    A classification task of real data also has ``test_set() -> (x, y)`` (the whole test
    split, ``test_size`` sequences; None: the test is a random batch), ``accuracy(pred, y)``,
    ``constant_numbers`` (the data held as constants) and ``data`` (`Dataset.info`).
    """

    name: str
    length: int
    input_size: int
    output_size: int
    readout: str
    baseline: float
    criterion: str
    make_batch: Callable[[Array, int], tuple[Array, Array]]
    loss: Callable[[Array, Array], Array]
    solved: Callable[[Array, Array], Array]
    test_set: Callable[[], tuple[Array, Array]] | None = None
    test_size: int = 0
    accuracy: Callable[[Array, Array], Array] | None = None
    constant_numbers: int = 0
    data: Mapping[str, Any] | None = None


def _adding(length: int, dtype: str) -> Task:
    return Task(
        name="adding",
        length=length,
        input_size=2,
        output_size=1,
        readout="last",
        baseline=adding_problem_baseline(),
        criterion=f"test MSE < {_ADDING_MSE_SOLVED}",
        make_batch=lambda key, b: adding_problem(key, b, length, dtype),
        loss=mse,
        solved=lambda pred, y: mse(pred, y) < _ADDING_MSE_SOLVED,
    )


def _adding1997(length: int, dtype: str) -> Task:
    return Task(
        name="adding1997",
        length=length,
        input_size=2,
        output_size=1,
        readout="last",
        baseline=adding_problem_1997_baseline(length),
        criterion=f"every test |error| < {_ADDING_1997_TOLERANCE}",
        make_batch=lambda key, b: adding_problem_1997(key, b, length, dtype),
        loss=mse,
        solved=lambda pred, y: jnp.all(jnp.abs(pred - y) < _ADDING_1997_TOLERANCE),
    )


def _copy(length: int, dtype: str) -> Task:
    baseline = copy_task_baseline(length)
    return Task(
        name="copy",
        length=length + 20,
        input_size=COPY_ALPHABET,
        output_size=COPY_ALPHABET,
        readout="all",
        baseline=baseline,
        criterion=f"test cross-entropy < {_COPY_SOLVED_FRACTION:g} x baseline",
        make_batch=lambda key, b: copy_task(key, b, length, dtype=dtype),
        loss=cross_entropy,
        solved=lambda logits, y: cross_entropy(logits, y) < _COPY_SOLVED_FRACTION * baseline,
    )


_TASKS = {"adding": _adding, "adding1997": _adding1997, "copy": _copy}
_MIN_LENGTH = {"adding": 2, "adding1997": 20, "copy": 1}


def names() -> tuple[str, ...]:
    """Registered synthetic task names, sorted (the real-data ones: `data.names()`)."""
    return tuple(sorted(_TASKS))


def accuracy(logits: ArrayLike, y: ArrayLike) -> Array:
    """mean_b [argmax_k logits[b, k] == y[b]]; logits (B, K), y (B,) int."""
    return jnp.mean(jnp.argmax(jnp.asarray(logits), axis=-1) == jnp.asarray(y))


def _blank_padded(x: Array, delay: int, dtype: str) -> Array:
    x = jnp.asarray(x, dtype)
    if not delay:
        return x
    return jnp.concatenate([x, jnp.zeros((x.shape[0], delay, x.shape[2]), dtype)], axis=1)


def classification(name: str, dtype: str = "float32", delay: int = 0) -> Task:
    """Classify the sequences of data set `name` (`analysis.data`) from a read-out of h_T.

    Batches: x_train[i], y_train[i] with i ~ U{0..N-1} drawn from the batch key (with
    replacement), digits' ``delay`` blank steps appended inside the program (the padded
    arrays are never held). Test: the whole test split. Loss: cross-entropy; baseline: the
    test cross-entropy of predicting the train split's class frequencies; solved: accuracy
    >= m + `SOLVED_GAP_SHARE` (1 - m), m the majority-class rate on the test split.

    Args:
        name: one of `data.names()`; dtype: the inputs'; delay: digits only, >= 0.

    Returns:
        Task with ``length`` T (64 + delay for digits), ``input_size`` C, ``output_size`` K.
    """
    T, C, K, n_train, n_test = data.shape(name, delay)  # validates name and delay
    ds = data.load(name)
    x_tr, y_tr, x_te, y_te = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    prior = np.bincount(y_tr, minlength=K) / len(y_tr)
    majority = float(np.mean(y_te == np.argmax(prior)))
    baseline = float(-np.mean(np.log(np.maximum(prior[y_te], 1e-300))))
    threshold = majority + SOLVED_GAP_SHARE * (1.0 - majority)

    def make_batch(key: Array, b: int) -> tuple[Array, Array]:
        i = jax.random.randint(key, (b,), 0, len(y_tr))
        return _blank_padded(jnp.asarray(x_tr)[i], delay, dtype), jnp.asarray(y_tr)[i]

    def test_set() -> tuple[Array, Array]:
        return _blank_padded(jnp.asarray(x_te), delay, dtype), jnp.asarray(y_te)

    info = {**ds.info, "delay": delay} if name == "digits" else dict(ds.info)
    return Task(
        name=name,
        length=T,
        input_size=C,
        output_size=K,
        readout="last",
        baseline=baseline,
        criterion=f"test accuracy >= {threshold:.4g} (majority class {majority:.4g}, "
        f"+{SOLVED_GAP_SHARE:g} of the gap to 1)",
        make_batch=make_batch,
        loss=cross_entropy,
        solved=lambda logits, y: accuracy(logits, y) >= threshold,
        test_set=test_set,
        test_size=n_test,
        accuracy=accuracy,
        constant_numbers=(n_train + n_test) * (T - delay) * C,
        data={**info, "majority_accuracy": majority, "solved_threshold": threshold},
    )


def get(name: str, length: int, dtype: str = "float32", *, delay: int = 0) -> Task:
    """The task `name` at sequence length `length` (for copy: the delay; T = delay + 20).

    A real data set's T is its own (digits: 64 + ``delay``): ``length`` must equal it.
    Unknown name or too short a length -> ValueError naming what is valid.
    """
    if name in data.names():
        task = classification(name, dtype, delay)
        if length != task.length:
            raise ValueError(
                f"task {name!r} has T = {task.length} from its data; length {length!r} "
                "cannot be set (leave --length out)"
            )
        return task
    if name not in _TASKS:
        raise ValueError(
            f"unknown task {name!r}; valid tasks: {', '.join(names())}; "
            f"real data: {', '.join(data.names())}"
        )
    if delay:
        raise ValueError(f"delay is an option of the digits task only, not of {name!r}")
    length = _positive_int("length", length, _MIN_LENGTH[name])
    return _TASKS[name](length, dtype)
