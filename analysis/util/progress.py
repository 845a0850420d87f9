"""Progress bars on stderr (set ACTGRAD_PROGRESS=0 to silence them)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = ["enabled", "progress"]

T = TypeVar("T")


def enabled() -> bool:
    """Whether progress bars are drawn (ACTGRAD_PROGRESS=0 turns them off)."""
    return os.environ.get("ACTGRAD_PROGRESS", "1") != "0"


def progress(iterable: Iterable[T] | None = None, **kwargs: Any):
    """A tqdm bar writing to stderr; same arguments as tqdm (desc=, total=, unit=)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, disable=not enabled(), **kwargs)
