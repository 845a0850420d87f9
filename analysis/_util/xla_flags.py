"""XLA flags actgrad sets before JAX's first computation, unless the user set them.

``--xla_cpu_enable_concurrency_optimized_scheduler=false``: with XLA:CPU's concurrency-optimised
HLO scheduler (jaxlib 0.10.2, the default), a long `lax.scan` whose body holds a vmapped
`jax.linearize` and a QR (the Lyapunov exponent of a GRU or sLSTM decay cell at T = 2,000,
H = 32, B = 4, 8 seeds) deadlocked in `block_until_ready` in 4 of 8 fresh processes on a
2-core machine: every thread waiting, 0% CPU, forever. With the default list scheduler it
finished in 32 of 32 (GRU tanh 22/22, sLSTM ReLU 10/10); the cost is in BENCHMARKS.md. The
flag only changes the order XLA:CPU runs a program's operations in, never a result.

``--xla_backend_optimization_level=1`` (CPU-only installs: no GPU plugin of jaxlib found):
LLVM's -O1 instead of XLA's default. Compiling dominates a cold report and the test suite on a
small CPU; measured with `scripts/bench_xla_flags.py` (fresh processes, alternating, 3 rounds),
XLA's compile time fell to 0.55-0.72x (a training cell's programs 11.8 -> 6.6 s) while warm
times moved 0.74-1.07x (decay cells 0.74-0.77, training 0.94-1.05, lstm.apply grad at S1 1.07,
S2 0.88, the tanh kernel 0.90). Numbers are unchanged: LLVM keeps IEEE semantics at every
level (no fast-math). Not applied with a GPU plugin, whose kernels it could slow.

XLA reads ``XLA_FLAGS`` once, when JAX creates its first backend, so this must run first:
``import analysis`` does it. A flag the user already set in ``XLA_FLAGS`` (either value) is
kept as it is.
"""

from __future__ import annotations

import os

__all__ = ["CPU_ONLY_FLAGS", "DEFAULT_FLAGS", "apply_defaults", "gpu_plugin_installed"]

DEFAULT_FLAGS: dict[str, str] = {
    "xla_cpu_enable_concurrency_optimized_scheduler": "false",
}
# Only where every device is a CPU: see the module docstring.
CPU_ONLY_FLAGS: dict[str, str] = {
    "xla_backend_optimization_level": "1",
}
_GPU_PLUGINS = ("jax-cuda", "jax_cuda", "jax-rocm", "jax_rocm", "jaxlib-cuda", "jax-tpu")


def gpu_plugin_installed(environ: dict[str, str] | None = None) -> bool:
    """Whether a GPU/TPU plugin of jaxlib is installed (so a non-CPU backend may start).

    Args:
        environ: the environment to read ``JAX_PLATFORMS`` from (default ``os.environ``).

    Returns:
        True if a distribution named jax-cuda*, jax-rocm*, ... is installed, or JAX_PLATFORMS
        names a platform other than cpu.
    """
    from importlib import metadata

    env = os.environ if environ is None else environ
    platforms = env.get("JAX_PLATFORMS", "").strip().lower()
    if platforms:
        return any(p.strip() not in ("", "cpu") for p in platforms.split(","))
    names = (d.metadata["Name"] or "" for d in metadata.distributions())
    return any(n.lower().startswith(_GPU_PLUGINS) for n in names)


def apply_defaults(environ: dict[str, str] | None = None) -> str:
    """Append each of `DEFAULT_FLAGS` (and, without a GPU plugin, `CPU_ONLY_FLAGS`) the user
    has not set to ``XLA_FLAGS``.

    Args:
        environ: the environment to edit (default ``os.environ``).

    Returns:
        The resulting ``XLA_FLAGS`` value.
    """
    env = os.environ if environ is None else environ
    current = env.get("XLA_FLAGS", "")
    given = {word.lstrip("-").split("=", 1)[0] for word in current.split()}
    wanted = dict(DEFAULT_FLAGS)
    if not gpu_plugin_installed(env):
        wanted.update(CPU_ONLY_FLAGS)
    extra = [f"--{name}={value}" for name, value in wanted.items() if name not in given]
    if extra:
        env["XLA_FLAGS"] = " ".join([current.strip(), *extra]).strip()
    return env.get("XLA_FLAGS", "")
