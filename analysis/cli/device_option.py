"""``--device cpu|gpu``, shared by the commands that compute: one definition, one check."""

from __future__ import annotations

import argparse

from analysis.runtime.devices import PLATFORMS

__all__ = ["add_device_argument"]


def add_device_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--device``; `analysis.cli.app.main` applies it before the command starts.

    Args:
        p: the command's parser.
    """
    p.add_argument(
        "--device",
        choices=tuple(PLATFORMS),
        default=None,
        help="JAX platform to run on (default: JAX's choice); one this machine lacks is refused",
    )
