"""Constants that several layers share: the results schema and default worker counts."""

from __future__ import annotations

__all__ = ["DEFAULT_COMPILE_WORKERS", "RESULTS_SCHEMA"]

# The version of the on-disk format of results.jsonl lines and JSON result files. Bump it
# when a stored field changes meaning or a cell key gains a field, so that a resumed sweep
# refuses an old store instead of mixing its cells with new ones.
# 2: a config holds its cell as one spec under "cell" ({"name": ..., slot/option: ...}),
#    no longer the LSTM's fields flat beside the run's.
RESULTS_SCHEMA = 2

# Cells a sweep runs at once in threads. XLA compiles with the GIL released, so on a small
# machine where compiling dominates (short sequences, many variants) two workers on two
# cores nearly halve the wall time; more only queue behind the one-at-a-time execute lock.
DEFAULT_COMPILE_WORKERS = 2
