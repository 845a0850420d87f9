"""The memory guard: refuse, before any work, a run that cannot fit in this machine's memory.

A run too big for the machine is a user's mistake like a bad flag: one line on stderr and exit
2 before anything is computed or written, instead of minutes of swapping and the OOM killer.
Commands estimate their peak memory analytically (`DecayConfig.estimated_bytes`,
`TrainConfig.estimated_bytes`) and call `require`, which compares it with `available_bytes`:

* ``$ACTGRAD_MEMORY_LIMIT`` if set: bytes, or a number with a binary suffix K, M, G or T
  (optionally followed by B or iB; "512M", "1.5G", "8GiB"). It overrides what the machine
  reports: for a user on a shared machine who wants to stay under a share, and for tests. A
  value that is not a positive size is refused (ValueError, one line).
* else ``MemAvailable`` from /proc/meminfo (what the kernel can give without swapping), capped
  by a cgroup v2 limit (``memory.max - memory.current``) where the process runs in one;
* else ``os.sysconf`` free physical pages x page size;
* else None, and `require` checks nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from pathlib import Path

from analysis.util.errors import UsageError

__all__ = [
    "ENV_LIMIT",
    "RUNTIME_BYTES",
    "available_bytes",
    "format_bytes",
    "parse_size",
    "require",
    "sweep_bytes",
]

ENV_LIMIT = "ACTGRAD_MEMORY_LIMIT"
# One process's JAX runtime with a cell's programs compiled: a decay cell at T = 10 (B = 1,
# H = 64) peaked at 463 MiB RSS here (GRU 428, sLSTM 504, training 20 steps ~470).
RUNTIME_BYTES = 512 * 2**20
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
_CGROUP = Path("/sys/fs/cgroup")


def parse_size(text: str) -> int:
    """A size in bytes from text: an integer, or a number with suffix K, M, G, T (x 1024^n).

    Formula: bytes = floor(number * 1024^n), n = 0, 1, 2, 3, 4 for "", K, M, G, T; a trailing
    "B" or "iB" and any case are accepted ("1.5G", "512m", "8GiB", "1048576").

    Args:
      text: the size as a user writes it.

    Returns:
      the size in bytes, >= 1.

    Raises:
      ValueError: one line naming the variable and the bad value.
    """
    match = _SIZE.fullmatch(text)
    value = float(match.group(1)) * _UNITS[match.group(2).upper()] if match else math.nan
    if not math.isfinite(value) or value < 1:
        raise ValueError(
            f"{ENV_LIMIT} must be a size in bytes, optionally with suffix K, M, G or T "
            f"(e.g. 512M, 8G), got {text!r}"
        )
    return int(value)


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable in bytes from /proc/meminfo, None where the file or the line is missing."""
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB (KiB)
    return None


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup v2, None if unlimited or unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        rel = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2]
        group = _CGROUP / rel.lstrip("/")
        limit = (group / "memory.max").read_text().strip()
        if limit != "max":
            return max(0, int(limit) - int((group / "memory.current").read_text()))
    return None


def _sysconf_available() -> int | None:
    """Free physical pages x page size, None where the platform does not say."""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    return None


def available_bytes() -> int | None:
    """Bytes of memory a new run may use: the module docstring's order of sources.

    Returns:
      ``$ACTGRAD_MEMORY_LIMIT`` parsed (`parse_size`) if set and not blank; else MemAvailable
      (capped by a cgroup v2 limit); else free physical pages x page size; else None.

    Raises:
      ValueError: a malformed ``$ACTGRAD_MEMORY_LIMIT`` (one line).
    """
    text = os.environ.get(ENV_LIMIT)
    if text is not None and text.strip():
        return parse_size(text)
    found = _meminfo_available()
    if found is None:
        found = _sysconf_available()
    room = _cgroup_room()
    if room is not None:
        found = room if found is None else min(found, room)
    return found


def format_bytes(n: float) -> str:
    """n bytes in binary units with 3 significant digits: "512 B", "20.1 GiB", "5.2 TiB".

    Args:
      n: a byte count >= 0.

    Returns:
      the text; units B, KiB, MiB, GiB, TiB, PiB (the largest with a value >= 1).
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{int(value)} B"
    return f"{value:.3g} {units[unit]}"


def sweep_bytes(cell_bytes: list[int], at_once: int) -> int:
    """Peak memory of a sweep that runs ``at_once`` cells at a time, each in its own runtime.

    Formula: k RUNTIME_BYTES + the sum of the k largest ``cell_bytes``, k = min(at_once,
    number of cells) (at least 1): the worst moment is when the k biggest cells run together.

    Args:
      cell_bytes: each cell's estimated peak (without the runtime), any order, not empty.
      at_once: cells running at once (worker processes or threads).

    Returns:
      bytes (an int).
    """
    k = max(1, min(at_once, len(cell_bytes)))
    return k * RUNTIME_BYTES + sum(sorted(cell_bytes, reverse=True)[:k])


def require(needed_bytes: int, what: str, advice: str = "") -> None:
    """Raise UsageError (one line) when ``needed_bytes`` exceed `available_bytes`.

    Formula: refuse iff available is known and needed_bytes > available.

    Args:
      needed_bytes: the run's estimated peak memory.
      what: the run, named by its sizes, e.g. "decay cell T=100000000, H=4096, batch 4 x 8
        seeds".
      advice: what to reduce, e.g. "reduce --length, --hidden, --batch or --seeds".

    Raises:
      UsageError: "WHAT needs about X of memory; this machine has Y available (ADVICE)"
        (or "...; ACTGRAD_MEMORY_LIMIT allows Y (ADVICE)");
        ValueError for a malformed ``$ACTGRAD_MEMORY_LIMIT``.
    """
    available = available_bytes()
    if available is None or needed_bytes <= available:
        return
    room = format_bytes(available)
    if os.environ.get(ENV_LIMIT, "").strip():
        have = f"{ENV_LIMIT} allows {room}"
    else:
        have = f"this machine has {room} available"
    tail = f" ({advice})" if advice else ""
    raise UsageError(f"{what} needs about {format_bytes(needed_bytes)} of memory; {have}{tail}")
