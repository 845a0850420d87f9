"""JAX's persistent compilation cache under the user's cache directory.

Training and decay programs take seconds to compile on a small CPU and the same programs come
back on every `actgrad report`; with the cache on, a second run loads them from disk. The
directory is ``$ACTGRAD_JAX_CACHE`` if set (``off`` or ``0`` disables the cache), else
``$XDG_CACHE_HOME/actgrad/jax``, else ``~/.cache/actgrad/jax``. JAX keys each entry by the
program, the JAX/XLA versions and the device, so a stale entry is never used.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV", "cache_dir", "enable"]

ENV = "ACTGRAD_JAX_CACHE"


def cache_dir() -> Path | None:
    """Where compiled programs are kept, or None when disabled.

    Returns:
        the directory (not created here) or None.
    """
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "no") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "actgrad" / "jax"


def enable() -> Path | None:
    """Turn the persistent cache on for this process (every program, however fast it compiled).

    Returns:
        the directory in use, or None (disabled, or the directory cannot be created: the run
        then simply compiles as before).
    """
    where = cache_dir()
    if where is None:
        return None
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(where))
    # Cache every program: the many small ones add up on a 2-core machine.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return where
