"""Module-level sweep cells for tests/experiments/test_pool.py (a worker process imports them)."""

from __future__ import annotations

import os
import time


def pid_cell(cell, seeds):
    """{"pid": the worker's pid, "twice": 2 x, "seeds": seeds}."""
    return {"pid": os.getpid(), "twice": 2 * cell["x"], "seeds": list(seeds)}


def failing_cell(cell, seeds):
    """Like pid_cell, but cell x = 2 waits a second and raises ValueError."""
    if cell["x"] == 2:
        time.sleep(1.0)
        raise ValueError("cell 2 is broken on purpose")
    return pid_cell(cell, seeds)


def dying_cell(cell, seeds):
    """Like pid_cell, but cell x = 1 ends its process at once (as the OOM killer would)."""
    if cell["x"] == 1:
        os._exit(3)
    return pid_cell(cell, seeds)


def timed_cell(cell, seeds):
    """{"start": wall-clock time it started, "pid"}; sleeps cell["sleep"] seconds first."""
    start = time.time()
    time.sleep(cell.get("sleep", 0.0))
    return {"start": start, "pid": os.getpid()}


def chain_follow(record):
    """Cell x = 0's follow-up is x = 100 (a module-level function, as the report's are)."""
    return [{"x": 100}] if record["config"]["x"] == 0 else []


def affinity_cell(cell, seeds):
    """{"pid", "cpus": the CPUs this worker may run on}; sleeps cell["sleep"] seconds first
    (so that two cells go to two workers)."""
    time.sleep(cell.get("sleep", 0.0))
    return {"pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0))}
