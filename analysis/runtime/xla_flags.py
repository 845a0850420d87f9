"""The XLA flags actgrad runs with, set by one public call: `configure_xla()`.

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

XLA reads ``XLA_FLAGS`` once, when JAX creates its first backend. Importing actgrad sets
nothing (a library must not edit its host's environment on import); the `actgrad` command,
``python -m analysis``, the sweep workers and the test suite call `configure_xla()` first, and
a script of yours may call it before its first JAX computation or set the flags itself. A flag
already in ``XLA_FLAGS`` (either value) is kept as it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

__all__ = [
    "CPU_ONLY_FLAGS",
    "DEFAULT_FLAGS",
    "backend_started",
    "configure_xla",
    "gpu_plugin_installed",
    "with_defaults",
]

DEFAULT_FLAGS: dict[str, str] = {
    "xla_cpu_enable_concurrency_optimized_scheduler": "false",
}
# Only where every device is a CPU: see the module docstring.
CPU_ONLY_FLAGS: dict[str, str] = {
    "xla_backend_optimization_level": "1",
}
_GPU_PLUGINS = ("jax-cuda", "jax_cuda", "jax-rocm", "jax_rocm", "jaxlib-cuda", "jax-tpu")


def gpu_plugin_installed(environ: MutableMapping[str, str] | None = None) -> bool:
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


def with_defaults(environ: MutableMapping[str, str]) -> str:
    """The ``XLA_FLAGS`` value with each of `DEFAULT_FLAGS` (and, without a GPU plugin,
    `CPU_ONLY_FLAGS`) that `environ` does not already set appended; `environ` is not changed.

    Args:
        environ: the environment whose ``XLA_FLAGS`` and ``JAX_PLATFORMS`` are read.

    Returns:
        the flags string.
    """
    current = environ.get("XLA_FLAGS", "")
    given = {word.lstrip("-").split("=", 1)[0] for word in current.split()}
    wanted = dict(DEFAULT_FLAGS)
    if not gpu_plugin_installed(environ):
        wanted.update(CPU_ONLY_FLAGS)
    extra = [f"--{name}={value}" for name, value in wanted.items() if name not in given]
    return " ".join([current.strip(), *extra]).strip() if extra else current


def backend_started() -> bool:
    """Whether JAX has created a backend in this process (after which XLA_FLAGS is not read).

    JAX 0.10 has no public query for this (`jax.extend.backend.backends()` would start one; the
    request is jax-ml/jax#23320, open), so its `xla_bridge.backends_are_initialized` is asked
    when it exists; a JAX without it is taken as started once imported, which errs towards the
    clear error of `configure_xla`.
    """
    if "jax" not in sys.modules:
        return False  # no JAX, no backend: the common case, asked without importing JAX
    try:
        from jax._src import xla_bridge
    except ImportError:
        return True
    started = getattr(xla_bridge, "backends_are_initialized", None)
    return True if started is None else bool(started())


def configure_xla(environ: MutableMapping[str, str] | None = None) -> str:
    """Set actgrad's XLA flags in ``XLA_FLAGS``, keeping every flag already there.

    Call it first, before JAX's first computation: XLA reads the flags once. The `actgrad`
    command, ``python -m analysis``, the sweep workers and the tests do; importing
    `analysis` does not.

    Args:
        environ: the environment to edit (default ``os.environ``; another mapping, such as a
            child process's environment, is edited without the backend check).

    Returns:
        the resulting ``XLA_FLAGS`` value.

    Raises:
        RuntimeError: JAX's backend in this process has already started and the flags would
            change (they would not take effect).
    """
    env = os.environ if environ is None else environ
    before = env.get("XLA_FLAGS", "")
    after = with_defaults(env)
    if after == before:
        return before
    if env is os.environ and backend_started():
        raise RuntimeError(
            "analysis.runtime.configure_xla() was called after JAX started its backend, so "
            f"XLA would not read the flags it sets ({after[len(before) :].strip()}): call it "
            "before your first JAX computation, or set XLA_FLAGS yourself before starting "
            "Python"
        )
    env["XLA_FLAGS"] = after
    return after
