"""Reproductions: published numbers, rerun with actgrad's own code (`actgrad reproduce`).

Each reproduction states the paper's setting, the published number, ours with its interval,
the rule that says whether they agree, and every way our setting differs from the paper's.
``names()`` lists them; ``run(name, preset)`` runs one and returns a JSON-able result.
"""

from __future__ import annotations

from analysis.reproduce.catalogue import PRESETS, REPRODUCTIONS, Reproduction, get, names, run

__all__ = ["PRESETS", "REPRODUCTIONS", "Reproduction", "get", "names", "run"]
