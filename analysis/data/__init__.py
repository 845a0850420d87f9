"""Real sequences read from files inside installed wheels, never downloaded (issue 27).

``data.names()``; ``data.load(name, delay=0) -> Dataset(x_train (N, T, C) float32, y_train
(N,) int, x_test, y_test, info)`` for digits (scikit-learn), trace (tslearn) and acsf1
(aeon). Where the files are and why: `analysis.data.sources`; splits and normalisation:
`analysis.data.datasets`. Layer: above cells and flow, below experiments.
"""

from analysis.data.datasets import Dataset, load, names, shape
from analysis.data.sources import DataFileError

__all__ = ["DataFileError", "Dataset", "load", "names", "shape"]
