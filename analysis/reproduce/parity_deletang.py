"""Parity from Delétang et al. (2023), "Neural networks and the Chomsky hierarchy" (ICLR):
train on lengths 1-40, test on longer strings; does the tanh RNN and the LSTM generalise, and
does the LSTM still generalise with a ReLU or hard-tanh candidate?

Their setting, read from github.com/google-deepmind/neural_networks_chomsky_hierarchy
(tasks/regular/parity_check.py, training/training.py, training/utils.py, models/rnn.py,
training/example.py at commits 46bcae0, 2ea2be1, 0541af6, 2a0eecc):

- a string of n bits, each uniform, one-hot (2 symbols); the class is (number of 1s) mod 2;
- the model reads the string, then one "output" token (a third one-hot symbol, utils.py
  ``make_model_with_empty_targets``), and its output at that last step, relu(h) W + b
  (models/rnn.py), is the prediction; the loss is the softmax cross-entropy;
- every training step draws ONE length n uniform in 1..40 for its whole batch of 128
  (``UniformCurriculum``), Adam after clipping the global gradient norm at 1;
- the score of a run is the accuracy averaged over the test lengths 41..max (example.py:
  ``np.mean(accuracies[sequence_length + 1:])``), each length on 512 fresh strings.

Recalled from the paper, not read: hidden size 256; 1,000,000 steps; the learning rates
1e-4, 3e-4 and 5e-4 with 10 seeds each; test lengths up to 500; the table's number is the
maximum score over seeds and learning rates (parity: RNN 100.0 and LSTM 100.0); a score of
at least 90% counts as generalising.

One jitted program serves every training length: a batch is padded to 41 steps, and a mask
keeps the carry unchanged on the padded steps (`masked_final_carry`), so its final carry is
the carry after the output token. The tests evaluate every prefix of one long string at once
(`prefix_logits`): after each bit the carry also takes the output token, which gives the
prediction for that prefix length; a prefix of uniform bits is itself uniform, so accuracy
at length n is that of n fresh bits (lengths share bits, so they are correlated: the interval
counts one string per sequence, not one per length).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from analysis import cells
from analysis.util.stats import wilson

__all__ = [
    "GENERALISES",
    "PRESET_SETTINGS",
    "PUBLISHED",
    "VARIANTS",
    "Setting",
    "aggregate",
    "compare",
    "masked_final_carry",
    "parity_batch",
    "prefix_logits",
    "train_runs",
]

VARIANTS = (("rnn", "tanh"), ("lstm", "tanh"), ("lstm", "relu"), ("lstm", "hard_tanh"))
# Table 2 of the paper (recalled): parity, maximum over seeds and learning rates, in %.
PUBLISHED = {("rnn", "tanh"): 100.0, ("lstm", "tanh"): 100.0}
GENERALISES = 0.9  # a score >= 90% generalises (the paper's threshold, recalled)
_TOKENS = 3  # bit 0, bit 1, the output token
_OUTPUT_TOKEN = 2


@dataclass(frozen=True)
class Setting:
    """One run of the reproduction: sizes, budget, learning rates, seeds, test lengths."""

    hidden: int = 32
    batch: int = 128
    steps: int = 1500
    lrs: tuple[float, ...] = (3e-3,)
    seeds: tuple[int, ...] = (0, 1, 2)
    train_max: int = 40
    test_max: int = 200
    test_batch: int = 256
    variants: tuple[tuple[str, str], ...] = VARIANTS
    chunks: int = 5


def parity_batch(
    key: jax.Array, batch: int, length: Any, max_len: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A batch of bit strings of one length, padded to a fixed shape.

    Formula: bits b_1..b_n uniform in {0, 1}; input steps t = 1..n the one-hot bit, step n + 1
    the output token (one-hot index 2), steps after that zeros; mask_t = (t <= n + 1);
    y = (sum_t b_t) mod 2.

    Args:
        key: PRNG key; batch: B; length: n, 1 <= n <= max_len (may be traced);
        max_len: the padded string length L.

    Returns:
        (x (B, L + 1, 3) float32, mask (B, L + 1) bool, y (B,) int32).

    Example:
        >>> x, mask, y = parity_batch(jax.random.key(0), 4, 3, 5)
        >>> x.shape, int(mask.sum()), int(y[0]) == int(x[0, :3, 1].sum()) % 2
        ((4, 6, 3), 16, True)
    """
    bits = jax.random.randint(key, (batch, max_len), 0, 2)
    t = jnp.arange(max_len + 1)
    padded = jnp.concatenate([bits, jnp.zeros((batch, 1), bits.dtype)], axis=1)
    tokens = jnp.where(t < length, padded, jnp.where(t == length, _OUTPUT_TOKEN, -1))
    x = jax.nn.one_hot(tokens, _TOKENS, dtype=jnp.float32)  # -1: all zeros
    mask = jnp.broadcast_to(t <= length, (batch, max_len + 1))
    y = (jnp.sum(jnp.where(t[:max_len] < length, bits, 0), axis=1) % 2).astype(jnp.int32)
    return x, mask, y


def masked_final_carry(cell: cells.Cell, params: Any, xs: jax.Array, mask: jax.Array) -> dict:
    """The cell over padded sequences, the carry kept where the mask is False.

    Formula: carry_t = step(carry_{t-1}, x_t) where mask_t, carry_{t-1} elsewhere, from zeros;
    with mask_t = (t <= n) the result is the carry after step n, as an unpadded run gives.

    Args:
        cell: any `analysis.cells` cell; params: its params; xs: (B, T, I); mask: (B, T) bool.

    Returns:
        the final carry {name: (B, H)}.
    """
    xs = jnp.asarray(xs, cell.jnp_dtype)

    def body(carry: dict, inputs: tuple[jax.Array, jax.Array]) -> tuple[dict, None]:
        x_t, m_t = inputs
        new, _ = cell.step(params, carry, x_t)
        return {k: jnp.where(m_t[:, None], new[k], carry[k]) for k in carry}, None

    carry0 = cell.initial_carry(xs.shape[0])
    carry, _ = jax.lax.scan(body, carry0, (jnp.swapaxes(xs, 0, 1), jnp.swapaxes(mask, 0, 1)))
    return carry


def _readout(model: dict, h: jax.Array) -> jax.Array:
    # models/rnn.py: a ReLU on the core's output, then a linear layer
    return jax.nn.relu(h) @ model["w"] + model["b"]


def prefix_logits(cell: cells.Cell, model: dict, bits: jax.Array) -> jax.Array:
    """The logits for every prefix length of each string: after bit n, one more step on the
    output token gives the prediction for the string b_1..b_n (module docstring).

    Args:
        cell: the cell; model: {"cell": params, "w" (H, 2), "b" (2,)}; bits: (B, L) int.

    Returns:
        (B, L, 2): [:, n - 1] the logits for length n.
    """
    xs = jax.nn.one_hot(bits, _TOKENS, dtype=cell.jnp_dtype)
    token = jax.nn.one_hot(jnp.full((bits.shape[0],), _OUTPUT_TOKEN), _TOKENS, dtype=xs.dtype)

    def body(carry: dict, x_t: jax.Array) -> tuple[dict, jax.Array]:
        new, _ = cell.step(model["cell"], carry, x_t)
        end, _ = cell.step(model["cell"], new, token)
        return new, _readout(model, end["h"])

    _, logits = jax.lax.scan(body, cell.initial_carry(bits.shape[0]), jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(logits, 0, 1)


def _init(cell: cells.Cell, key: jax.Array) -> dict:
    k_cell, k_out = jax.random.split(key)
    w = jax.random.normal(k_out, (cell.hidden_size, 2), cell.jnp_dtype) / math.sqrt(
        cell.hidden_size
    )
    return {"cell": cell.init(k_cell), "w": w, "b": jnp.zeros(2, cell.jnp_dtype)}


def _optimizer(lr: jax.Array) -> optax.GradientTransformation:
    # training/training.py: optax.chain(clip_by_global_norm(1.0), adam(learning_rate))
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(lr))


def _loss(model: dict, cell: cells.Cell, x: jax.Array, mask: jax.Array, y: jax.Array) -> jax.Array:
    logits = _readout(model, masked_final_carry(cell, model["cell"], x, mask)["h"])
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


@functools.partial(jax.jit, static_argnames=("cell", "s", "n_steps"))
def _chunk(cell: cells.Cell, s: Setting, n_steps: int, state: tuple, start: jax.Array) -> tuple:
    """`n_steps` training steps of every run (vmapped): state (model, opt_state, lr, key)."""

    def one_run(model: dict, opt_state: Any, lr: jax.Array, key: jax.Array) -> tuple:
        def step(carry: tuple, i: jax.Array) -> tuple:
            model, opt_state = carry
            k_len, k_bits = jax.random.split(jax.random.fold_in(key, i))
            n = jax.random.randint(k_len, (), 1, s.train_max + 1)
            x, mask, y = parity_batch(k_bits, s.batch, n, s.train_max)
            loss, grads = jax.value_and_grad(_loss)(model, cell, x, mask, y)
            updates, opt_state = _optimizer(lr).update(grads, opt_state, model)
            return (optax.apply_updates(model, updates), opt_state), loss

        steps = start + jnp.arange(n_steps)
        (model, opt_state), losses = jax.lax.scan(step, (model, opt_state), steps)
        return model, opt_state, losses

    model, opt_state, lr, key = state
    model, opt_state, losses = jax.vmap(one_run)(model, opt_state, lr, key)
    return (model, opt_state, lr, key), losses


@functools.partial(jax.jit, static_argnames=("cell", "s"))
def _accuracy(cell: cells.Cell, s: Setting, model: dict, key: jax.Array) -> jax.Array:
    """Accuracy at every length 1..test_max of every run: (runs, test_max)."""
    bits = jax.random.randint(key, (s.test_batch, s.test_max), 0, 2)
    target = jnp.cumsum(bits, axis=1) % 2

    def one_run(m: dict) -> jax.Array:
        pred = jnp.argmax(prefix_logits(cell, m, bits), axis=-1)
        return jnp.mean(pred == target, axis=0)

    return jax.vmap(one_run)(model)


def train_runs(cell: cells.Cell, s: Setting, bar: Any = None) -> dict:
    """Train one model per (seed, learning rate) and test it on every length.

    Seed k's model is initialised from ``fold_in(key(k), 0)`` and its batches drawn from
    ``fold_in(key(k), 1)``, the same at every learning rate.

    Args:
        cell: the recurrent cell (input size 3); s: the setting; bar: ``update(1)`` per chunk.

    Returns:
        {"accuracy": (seeds, lrs, test_max) numpy, "loss": (seeds, lrs) the last chunk's
        mean training loss}.
    """
    seeds = [k for k in s.seeds for _ in s.lrs]
    lrs = jnp.asarray([lr for _ in s.seeds for lr in s.lrs], jnp.float32)
    keys = jnp.stack([jax.random.key(k) for k in seeds])
    model = jax.vmap(lambda k: _init(cell, jax.random.fold_in(k, 0)))(keys)
    opt_state = jax.vmap(lambda m: _optimizer(jnp.float32(1.0)).init(m))(model)
    state = (model, opt_state, lrs, jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys))
    per = -(-s.steps // s.chunks)
    done, losses = 0, None
    while done < s.steps:
        n = min(per, s.steps - done)
        state, losses = _chunk(cell, s, n, state, jnp.int32(done))
        done += n
        if bar is not None:
            bar.update(1)
    acc = np.asarray(_accuracy(cell, s, state[0], jax.random.key(20_230_501)))
    shape = (len(s.seeds), len(s.lrs))
    return {
        "accuracy": acc.reshape(*shape, s.test_max),
        "loss": np.asarray(losses).mean(axis=1).reshape(shape),
    }


def aggregate(scores: np.ndarray, threshold: float = GENERALISES) -> dict:
    """The paper's statistic and the fraction of seeds that generalise.

    Formula: paper = max over seeds and learning rates of the score; best_lr = the rate whose
    mean score over seeds is highest; k = #{seeds: score(seed, best_lr) >= threshold}.

    Args:
        scores: (seeds, lrs) each run's accuracy averaged over the test lengths.

    Returns:
        {"max", "best_lr" (an index), "k", "n", "per_seed" (scores at best_lr)}.
    """
    scores = np.asarray(scores, np.float64)
    best = int(np.argmax(scores.mean(axis=0)))
    at_best = scores[:, best]
    return {
        "max": float(scores.max()),
        "best_lr": best,
        "k": int(np.sum(at_best >= threshold)),
        "n": int(at_best.size),
        "per_seed": [float(v) for v in at_best],
    }


def _rows(variant: tuple[str, str], agg: dict, s: Setting) -> list[dict]:
    """Two rows per variant: the paper's statistic, and the fraction of seeds."""
    name = f"{variant[0]} ({variant[1]} candidate)" if variant[0] == "lstm" else "tanh RNN"
    published = PUBLISHED.get(variant)
    top = wilson(round(agg["max"] * s.test_batch), s.test_batch)
    frac = wilson(agg["k"], agg["n"])
    common = {
        "where": name,
        "variant": list(variant),
        "ours_n": s.test_batch,
        "seeds": list(s.seeds),
        "lrs": list(s.lrs),
    }
    return [
        {
            **common,
            "summary": "max score",
            "published": None if published is None else published / 100.0,
            "published_text": "none (our question)" if published is None else f"{published:.1f}%",
            "ours": agg["max"],
            "low": top.low,
            "high": top.high,
            "ours_text": f"{100 * agg['max']:.1f}% [{100 * top.low:.1f}, {100 * top.high:.1f}]",
            "interval": f"Wilson 95% over {s.test_batch} test strings",
            "tolerance": None,
            "agrees": None if published is None else bool(top.high >= GENERALISES),
        },
        {
            **common,
            "summary": "seeds >= 90%",
            "published": None,
            "published_text": "not reported",
            "ours": frac.rate,
            "low": frac.low,
            "high": frac.high,
            "ours_text": f"{agg['k']}/{agg['n']} [{frac.low:.2f}, {frac.high:.2f}]",
            "interval": "Wilson 95% over seeds, at the best learning rate",
            "tolerance": None,
            "agrees": None,
            "ours_n": agg["n"],
        },
    ]


def compare(s: Setting, bar: Any = None) -> dict:
    """Train and test every variant; the rows and per-length accuracies.

    Args:
        s: the setting; bar: a progress bar (``update(1)`` per chunk of every variant).

    Returns:
        {"rows": [...], "curves": {variant: accuracy by length at the best run}, "scores":
        {variant: (seeds, lrs) scores}, "seeds", "lrs", "test_lengths": [train_max + 1,
        test_max]}.
    """
    rows, curves, scores = [], {}, {}
    for variant in s.variants:
        cell = cells.get(variant[0], input_size=_TOKENS, hidden_size=s.hidden, candidate=variant[1])
        got = train_runs(cell, s, bar)
        score = got["accuracy"][:, :, s.train_max :].mean(axis=2)
        agg = aggregate(score)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        key = "/".join(variant)
        curves[key] = got["accuracy"][i, j].tolist()
        scores[key] = score.tolist()
        rows += _rows(variant, agg, s)
    return {
        "rows": rows,
        "curves": curves,
        "scores": scores,
        "seeds": list(s.seeds),
        "lrs": list(s.lrs),
        "test_lengths": [s.train_max + 1, s.test_max],
    }


PRESET_SETTINGS = {
    "tiny": Setting(
        hidden=4,
        batch=8,
        steps=4,
        seeds=(0,),
        train_max=5,
        test_max=8,
        test_batch=8,
        chunks=1,
        variants=(("rnn", "tanh"), ("lstm", "relu")),
    ),
    "report": Setting(hidden=16, steps=400, seeds=(0, 1), test_max=100, test_batch=128, chunks=1),
    "default": Setting(),
    "full": Setting(
        hidden=64,
        steps=10_000,
        lrs=(1e-3, 3e-3),
        seeds=(0, 1, 2, 3, 4),
        test_max=500,
        test_batch=512,
        chunks=20,
    ),
}
