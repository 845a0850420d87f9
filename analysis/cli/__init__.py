"""Layer 5: the `actgrad` command line (also `python -m analysis`)."""

from analysis.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
