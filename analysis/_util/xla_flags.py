"""XLA flags actgrad sets before JAX's first computation, unless the user set them.

``--xla_cpu_enable_concurrency_optimized_scheduler=false``: with XLA:CPU's concurrency-optimised
HLO scheduler (jaxlib 0.10.2, the default), a long `lax.scan` whose body holds a vmapped
`jax.linearize` and a QR (the Lyapunov exponent of a GRU or sLSTM decay cell at T = 2,000,
H = 32, B = 4, 8 seeds) deadlocked in `block_until_ready` in 4 of 8 fresh processes on a
2-core machine: every thread waiting, 0% CPU, forever. With the default list scheduler it
finished in 32 of 32 (GRU tanh 22/22, sLSTM ReLU 10/10); the cost is in BENCHMARKS.md. The
flag only changes the order XLA:CPU runs a program's operations in, never a result.

XLA reads ``XLA_FLAGS`` once, when JAX creates its first backend, so this must run first:
``import analysis`` does it. A flag the user already set in ``XLA_FLAGS`` (either value) is
kept as it is.
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_FLAGS", "apply_defaults"]

DEFAULT_FLAGS: dict[str, str] = {
    "xla_cpu_enable_concurrency_optimized_scheduler": "false",
}


def apply_defaults(environ: dict[str, str] | None = None) -> str:
    """Append each of `DEFAULT_FLAGS` the user has not set to ``XLA_FLAGS``.

    Args:
        environ: the environment to edit (default ``os.environ``).

    Returns:
        The resulting ``XLA_FLAGS`` value.
    """
    env = os.environ if environ is None else environ
    current = env.get("XLA_FLAGS", "")
    given = {word.lstrip("-").split("=", 1)[0] for word in current.split()}
    extra = [f"--{name}={value}" for name, value in DEFAULT_FLAGS.items() if name not in given]
    if extra:
        env["XLA_FLAGS"] = " ".join([current.strip(), *extra]).strip()
    return env.get("XLA_FLAGS", "")
