"""actgrad analysis: checks, recurrent cells, gradient flow, experiments, report, CLI.

The subpackages are layers, each importing only those below it (``tests/test_architecture.py``
keeps it so)::

    _util        errors, atomic I/O, progress bars, timing, statistics, shared constants
    checks       kernel verification; the formula checker                    (layer 1)
    cells        recurrent cells: the LSTM with its fused path, GRU, RNN, sLSTM, ... (layer 1)
    flow         per-step gradient norms, decay fits, Lyapunov, telemetry    (layer 2)
    experiments  tasks, training, decay cells, sweeps and the results store  (layer 3)
    report       `actgrad report`: stages, claims audit, figures, pages      (layer 4)
    bench        speed against the installed peers                          (layer 4)
    cli          the `actgrad` command line                                  (layer 5)

The public modules are re-exported here by their short names and imported on first use, so
that the command line starts quickly::

    from analysis import lstm, gradients, verify, tasks, train, cells

The module paths of the flat layout (``analysis.lstm``, ``analysis.sweep``, ...) keep working
as aliases of the modules that replaced them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from analysis._util import xla_flags

# before JAX's first computation: XLA reads XLA_FLAGS once (see analysis._util.xla_flags)
xla_flags.apply_defaults()

__version__ = "0.1.0"

# short public name -> the module that holds it now
PUBLIC_MODULES = {
    "verify": "analysis.checks.verify",
    "formula": "analysis.checks.formula",
    "lstm": "analysis.cells.lstm",
    "cells": "analysis.cells",
    "gradients": "analysis.flow.gradients",
    "tasks": "analysis.experiments.tasks",
    "train": "analysis.experiments.train",
    "sweep": "analysis.experiments.sweep",
    "decay": "analysis.experiments.decay",
}

# module paths of the flat layout -> their new home (kept so that old imports work)
LEGACY_MODULES = {
    **{
        f"analysis.{short}": target
        for short, target in PUBLIC_MODULES.items()
        if target != f"analysis.{short}"  # a real package of that name needs no alias
    },
    "analysis.fast_lstm": "analysis.cells.fast_lstm",
    "analysis.formula_parse": "analysis.checks.formula_parse",
    "analysis.errors": "analysis._util.errors",
    "analysis.io": "analysis._util.io",
    "analysis.progress": "analysis._util.progress",
    "analysis.timing": "analysis._util.timing",
    "analysis.claims": "analysis.report.claims",
    "analysis.report_render": "analysis.report.render",
    "analysis.gallery": "analysis.report.gallery",
    "analysis.plots": "analysis.report.plots",
    "analysis.train_plots": "analysis.report.train_plots",
    "analysis.costs": "analysis.report.costs",
    "analysis.variants": "analysis.report.variants",
    "analysis.bench_workers": "analysis.bench.workers",
    "analysis.kernel_bench": "analysis.bench.kernels",
    "analysis.commands": "analysis.cli.commands",
}

__all__ = ["__version__", *sorted(PUBLIC_MODULES)]


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        return None  # the target module is already executed


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves a flat-layout path (``analysis.lstm``) to the same module object as its home."""

    def find_spec(self, fullname, path=None, target=None):
        home = LEGACY_MODULES.get(fullname)
        if home is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(home))


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())


def __getattr__(name: str):
    if name in PUBLIC_MODULES:
        module = importlib.import_module(PUBLIC_MODULES[name])
        globals()[name] = module
        return module
    if f"analysis.{name}" in LEGACY_MODULES:
        return importlib.import_module(f"analysis.{name}")
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
