"""Where one training step's time goes: its matrix products alone against the whole step.

    taskset -c 0 python scripts/bench_step.py              # the report's T = 100 cell, one core
    python scripts/bench_step.py --length 400 --seeds 8 --repeats 7

Prints, for S seeds vmapped (B, H as the report's training cells, adding task, I = 2): the recurrent
product alone, T of them in a `lax.scan`, the weight-gradient product, the fused LSTM's value and
gradient, its forward without residuals, one training step as the report runs it (`train_chunk` /
60: also the batch, Adam, its share of the held-out evaluation). GFLOP/s counts the matmul FLOPs of
one sample-step only (forward 2 (I + H) 4H, backward 2 H 4H, weight gradients 2 (I + H) 4H).
Medians over repeats, compiling excluded, `jax.block_until_ready` on each."""

from __future__ import annotations

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from analysis.cells.lstm import fused, vjp
from analysis.experiments import sweep
from analysis.experiments.train import TrainConfig, init_config, init_state, train_chunk
from analysis.runtime import configure_xla


def median_s(f, args, calls: int, repeats: int) -> float:
    jax.block_until_ready(f(*args))  # compiles
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            out = f(*args)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - t0) / calls)
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("length", 100), ("seeds", 8), ("batch", 16), ("hidden", 32)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    s, b, h, i, t = a.seeds, a.batch, a.hidden, 2, a.length
    k = jax.random.split(jax.random.key(0), 4)
    hid = jax.random.normal(k[0], (s, b, h))
    w_hh = jax.random.normal(k[1], (s, h, 4 * h)) / h
    w_ih = jax.random.normal(k[2], (s, i, 4 * h)) / i
    x = jax.random.uniform(k[3], (s, t, b, i))
    step_flop = 2 * s * b * h * 4 * h

    def recurrence(c, w):  # the whole (H, 4H) product each step, as the cell's
        return jax.lax.scan(lambda c, _: (jnp.tanh((c @ w)[..., :h]), None), c, None, t)[0]

    operands = jnp.ones((s, t * b, i + h)), jnp.ones((s, t * b, 4 * h))
    wgrad = jax.jit(lambda u, v: jnp.einsum("snh,snk->shk", u, v))
    rows = [
        ("per-step product alone", jax.jit(jnp.matmul), (hid, w_hh), step_flop, 200),
        (f"{t} products in a scan", jax.jit(recurrence), (hid, w_hh), step_flop * t, 10),
        ("weight-gradient product", wgrad, operands, 2 * s * t * b * (i + h) * 4 * h, 10),
    ]
    spec = fused.Spec("sigmoid", "tanh", "tanh", 1, 0, True)
    core = functools.partial(vjp.fused_core, spec)

    def loss(w_ih, w_hh, x, h0):
        _, h_t, _, peak = core(w_ih, w_hh, jnp.zeros(4 * h), x, h0, h0)
        return jnp.sum(h_t**2), peak

    sample_flop = (2 * (i + h) * 4 * h) * 2 + 2 * h * 4 * h
    lstm_args = (w_ih, w_hh, x, jnp.zeros((s, b, h)))
    vg = jax.vmap(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))
    rows.append(
        ("fused LSTM value and gradient", jax.jit(vg), lstm_args, sample_flop * s * b * t, 5)
    )
    fwd = jax.vmap(lambda w_ih, w_hh, x, h0: core(w_ih, w_hh, jnp.zeros(4 * h), x, h0, h0)[1])
    rows.append(("its forward, no residuals", jax.jit(fwd), lstm_args, None, 5))
    cfg = TrainConfig(length=t, hidden_size=h, batch=b, lr=2e-2, eval_every=60, test_batch=256)
    keys = sweep.seed_keys(range(s))
    state = jax.jit(jax.vmap(functools.partial(init_state, cfg=init_config(cfg))))(keys)
    chunk = jax.jit(jax.vmap(functools.partial(train_chunk, cfg=cfg)))
    print(f"jax {jax.__version__}, {jax.devices()[0].device_kind}; S={s} B={b} H={h} T={t}")
    print("| what | ms | GFLOP/s of its products |\n| --- | ---: | ---: |")
    for name, f, args, flop, calls in rows:
        sec = median_s(f, args, calls, a.repeats)
        rate = f"{flop / sec / 1e9:.3g}" if flop else ""
        print(f"| {name} | {sec * 1e3:.3f} | {rate} |", flush=True)
    sec = median_s(chunk, (keys, state), 1, a.repeats) / cfg.eval_every
    print(
        f"| one training step (train_chunk / {cfg.eval_every}) | {sec * 1e3:.3f} | "
        f"{sample_flop * s * b * t / sec / 1e9:.3g} |"
    )


if __name__ == "__main__":
    configure_xla()  # the flags the actgrad command runs with, before JAX starts
    main()
