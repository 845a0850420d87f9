"""actgrad analysis: checks, recurrent cells, gradient flow, experiments, report, CLI.

The subpackages are layers, each importing only those below it (``tests/test_architecture.py``
keeps it so)::

    util         errors, atomic I/O, progress bars, timing, statistics, shared constants
    checks       kernel verification; the formula checker                    (layer 1)
    cells        recurrent cells: the LSTM with its fused path, GRU, RNN, sLSTM, ... (layer 1)
    flow         per-step gradient norms, decay fits, Lyapunov, telemetry    (layer 2)
    data         real sequences (digits, trace, acsf1) read from installed wheels (2.5)
    experiments  tasks, training, decay cells, sweeps and the results store  (layer 3)
    plot         one function per figure kind, for the report and your results (layer 4)
    audit        the seed page's formulas and claims, checked (data only)     (layer 4)
    bench        speed against the installed peers; kernel costs            (layer 4)
    report       `actgrad report`: data model, comparisons, templates, pages  (layer 5)
    reproduce    `actgrad reproduce`: published results rerun and compared    (layer 5)
    cli          the `actgrad` command line                                  (layer 6)
    runtime      processes, devices, hosts, locks, memory, XLA flags, the compile cache;
                 `runtime.configure_xla()` sets XLA's flags                  (layer 1)

The public modules are re-exported here by their short names and imported on first use, so
that the command line starts quickly::

    from analysis import lstm, gradients, verify, tasks, train, cells, data

Importing `analysis` changes nothing outside it: no environment variable (XLA's flags are set
by `analysis.runtime.configure_xla()`, which the command line calls), no import hook.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# short public name -> the module that holds it
PUBLIC_MODULES = {
    "verify": "analysis.checks.verify",
    "formula": "analysis.checks.formula",
    "lstm": "analysis.cells.lstm",
    "cells": "analysis.cells",
    "data": "analysis.data",
    "gradients": "analysis.flow.gradients",
    "tasks": "analysis.experiments.tasks",
    "train": "analysis.experiments.train",
    "tune": "analysis.experiments.tune",
    "sweep": "analysis.experiments.sweep",
    "decay": "analysis.experiments.decay",
    "plot": "analysis.plot",
    "reproduce": "analysis.reproduce",
}

__all__ = ["__version__", *sorted(PUBLIC_MODULES)]


def __getattr__(name: str):
    # PEP 562: the short names import their module on first use (a module attribute, not an
    # import hook: `import analysis.lstm` is not a path)
    if name in PUBLIC_MODULES:
        module = importlib.import_module(PUBLIC_MODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
