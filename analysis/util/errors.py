"""The one exception the command line turns into a single stderr line and exit code 2."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["UsageError", "as_usage_error"]


class UsageError(ValueError):
    """A user's mistake (bad argument, unknown name, unwritable path): exit 2, no traceback."""


@contextlib.contextmanager
def as_usage_error() -> Iterator[None]:
    """Re-raise ValueError/TypeError from validating user input as UsageError.

    Use it only around the validation that runs before any work starts, so that a bug in
    the work itself still shows its traceback.
    """
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from err
