"""One LSTM implementation timed in its own process: ``python -m analysis.bench.workers IMPL ...``.

JAX and PyTorch slow each other down when they share a process (two thread pools on the
same cores), so `analysis.bench.peers` starts one of these per implementation. The task is always
forward + backward of loss = mean(h_t^2) over all steps, gradients for all parameters, in
float32, xs (B, T, I) ~ N(0, 1) from a fixed seed.

Modes (one JSON line on stdout per answer):

* ``time`` (default): build, compile (timed apart), warm up, then ``--repeats`` timed calls.
  With ``--serve`` it then answers each stdin line ``run N`` with N more timed calls, until
  ``quit``; the harness uses that to alternate between implementations round by round.
* ``rss``: one forward + backward, then the peak resident set size of this process
  (``ru_maxrss``) and the RSS after setup (imports, data, compile; before the first call).

Implementations: torch (nn.LSTM: oneDNN on CPU, cuDNN on GPU), flax (nn.RNN of
nn.OptimizedLSTMCell), equinox (LSTMCell under lax.scan), ours (`lstm.apply`), fused
(`lstm.vjp.apply_fused`), norms (`gradients.per_step_grad_norms`, our default cell).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.runtime import configure_xla

__all__ = ["IMPLS", "main", "parse_args"]

IMPLS = ("torch", "flax", "equinox", "ours", "fused", "norms")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    # Linux: VmHWM, this memory map's own peak; ru_maxrss survives execve, so a worker started
    # by a large parent would report the parent's size.
    with contextlib.suppress(OSError, AttributeError):
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s*(\d+) kB", status).group(1)) / 1024
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _data(b: int, t: int, i: int):
    import numpy as np

    return np.random.default_rng(0).standard_normal((b, t, i), dtype=np.float32)


def _torch(args: argparse.Namespace) -> tuple[Callable[[], Any], dict]:
    import torch

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = torch.nn.LSTM(args.input, args.hidden, batch_first=True).to(dev)
    xs = torch.from_numpy(_data(args.batch, args.length, args.input)).to(dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def run() -> None:
        for p in model.parameters():
            p.grad = None
        hs, _ = model(xs)
        hs.pow(2).mean().backward()
        sync()

    backend = (
        "cudnn" if dev == "cuda" else ("onednn" if torch.backends.mkldnn.is_available() else "aten")
    )
    info = {"backend": f"torch-{dev}-{backend}", "threads": torch.get_num_threads()}
    return run, info


def _flax_task(args: argparse.Namespace, key, xs):
    import flax.linen as nn
    import jax.numpy as jnp

    model = nn.RNN(nn.OptimizedLSTMCell(args.hidden))
    params = model.init(key, xs[:, :2])

    def loss(p, x):
        return jnp.mean(model.apply(p, x) ** 2)

    return loss, params, xs


def _equinox_task(args: argparse.Namespace, key, xs):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    cell = eqx.nn.LSTMCell(args.input, args.hidden, key=key)
    params, static = eqx.partition(cell, eqx.is_array)

    def loss(p, x):
        batched = jax.vmap(eqx.combine(p, static))

        def body(carry, x_t):
            carry = batched(x_t, carry)
            return carry, carry[0]

        z = jnp.zeros((x.shape[0], args.hidden), x.dtype)
        _, hs = jax.lax.scan(body, (z, z), jnp.swapaxes(x, 0, 1))
        return jnp.mean(hs**2)

    return loss, params, xs


def _ours_task(args: argparse.Namespace, key, xs):
    import jax.numpy as jnp

    from analysis.cells import lstm

    cfg = lstm.LSTMConfig(
        input_size=args.input,
        hidden_size=args.hidden,
        candidate=args.candidate,
        output=args.output,
        dtype="float32",
        unroll=args.unroll,
        remat=args.remat,
    )
    params = lstm.init(key, cfg)
    if args.impl == "norms":
        from analysis.flow import gradients

        def loss(p, x):
            return gradients.per_step_grad_norms(p, x, cfg, loss="mean")

        return loss, params, xs
    if args.impl == "fused":
        from analysis.cells.lstm import vjp

        ck = args.checkpoint_every

        def apply(p, x):
            return vjp.apply_fused(p, x, cfg, checkpoint_every=ck)[0]
    else:

        def apply(p, x):
            return lstm.apply(p, x, cfg)[0]

    def loss(p, x):
        return jnp.mean(apply(p, x) ** 2)

    return loss, params, xs


def _jax_task(args: argparse.Namespace):
    """(loss(params, xs), params, xs) for the JAX implementations."""
    import jax
    import jax.numpy as jnp

    xs = jnp.asarray(_data(args.batch, args.length, args.input))
    key = jax.random.PRNGKey(0)
    task = {"flax": _flax_task, "equinox": _equinox_task}.get(args.impl, _ours_task)
    return task(args, key, xs)


def _jax(args: argparse.Namespace) -> tuple[Callable[[], Any], dict]:
    import jax

    loss, params, xs = _jax_task(args)
    # norms already runs its own single backward pass; the others get jax.grad.
    fn = jax.jit(loss if args.impl == "norms" else jax.grad(loss))
    t0 = time.perf_counter()
    compiled = fn.lower(params, xs).compile()
    compile_s = time.perf_counter() - t0

    def run() -> None:
        jax.block_until_ready(compiled(params, xs))

    dev = jax.devices()[0]
    return run, {"backend": f"jax-{dev.platform}", "compile_s": compile_s}


def _timed(run: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        out.append(time.perf_counter() - t0)
    return out


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The worker's command line: IMPL, the shape, the activations and backward options."""
    p = argparse.ArgumentParser(prog="python -m analysis.bench.workers")
    p.add_argument("impl", choices=IMPLS)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--input", type=int, required=True)
    p.add_argument("--candidate", default="tanh")
    p.add_argument("--output", default="tanh")
    p.add_argument("--unroll", type=int, default=1)
    p.add_argument("--remat", action="store_true")
    p.add_argument("--checkpoint-every", type=int, default=None)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--mode", choices=("time", "rss"), default="time")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--serve", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Compile, then serve timed calls: one JSON line per request on stdout."""
    args = parse_args(argv)
    configure_xla()  # a worker times JAX as the actgrad command runs it: same flags
    run, info = _torch(args) if args.impl == "torch" else _jax(args)
    rss_setup = _rss_mb()
    base = {"impl": args.impl, **info}
    t0 = time.perf_counter()
    run()
    base["first_call_s"] = time.perf_counter() - t0
    if args.mode == "rss":
        _emit({**base, "rss_setup_mb": rss_setup, "peak_rss_mb": _peak_rss_mb()})
        return 0
    _timed(run, args.warmup)
    samples = _timed(run, args.repeats)
    _emit({**base, "samples_s": samples, "median_s": statistics.median(samples)})
    if not args.serve:
        return 0
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        samples = _timed(run, int(cmd[1]))
        _emit({**base, "samples_s": samples, "median_s": statistics.median(samples)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
