"""Processes, devices and XLA: what a run needs from its host, apart from the science.

`configure_xla()` sets the XLA flags actgrad runs with (the command line, ``python -m
analysis``, the sweep workers and the tests call it first; importing `analysis` does not).
"""

from analysis.runtime.xla_flags import configure_xla

__all__ = ["configure_xla"]
