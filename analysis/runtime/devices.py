"""Which platform JAX runs on: chosen once, before its backend starts, and checked at once."""

from __future__ import annotations

import os

from analysis.runtime.xla_flags import backend_started
from analysis.util.errors import UsageError

__all__ = ["PLATFORMS", "use_device"]

# a device name of the command line -> JAX_PLATFORMS (JAX's own name for the platform)
PLATFORMS = {"cpu": "cpu", "gpu": "cuda"}


def use_device(device: str) -> None:
    """Make JAX run on `device` ("cpu" or "gpu") and start its backend now, so that a request
    this machine cannot serve is refused before any work, not in the middle of it.

    Args:
        device: a key of `PLATFORMS`.

    Raises:
        UsageError: `device` is unknown, JAX already runs on another platform in this process,
            or JAX cannot start that platform here (whatever JAX raised: a RuntimeError
            without a plugin, an AssertionError from jax 0.10 with JAX_PLATFORMS=cuda, ...).
    """
    if device not in PLATFORMS:
        raise UsageError(f"--device {device}: expected one of {', '.join(PLATFORMS)}")
    import jax

    if backend_started():  # called in-process after JAX ran: its platform is fixed
        if jax.default_backend() != device:
            raise UsageError(f"--device {device}: JAX already runs on {jax.default_backend()}")
        return
    # JAX read JAX_PLATFORMS when it was imported: its config now; the environment too, for the
    # worker processes a sweep starts
    before = os.environ.get("JAX_PLATFORMS"), jax.config.jax_platforms
    os.environ["JAX_PLATFORMS"] = PLATFORMS[device]
    jax.config.update("jax_platforms", PLATFORMS[device])
    try:
        running = jax.default_backend()
    except Exception as err:  # any failure to start the backend is the machine's answer
        # as it was, for a caller that goes on in this process (a test, a notebook)
        if before[0] is None:
            os.environ.pop("JAX_PLATFORMS", None)
        else:
            os.environ["JAX_PLATFORMS"] = before[0]
        jax.config.update("jax_platforms", before[1])
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(
            f"--device {device}: JAX cannot start a {device.upper()} backend on this machine "
            f"({reason[:120]}); install actgrad[gpu] where a CUDA GPU is, or use --device cpu"
        ) from None
    if running != device:
        raise UsageError(f"--device {device}: JAX started {running} instead")
