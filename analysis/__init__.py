"""actgrad analysis: verification, the scanned LSTM, gradient flow, tasks, training, report.

Submodules are imported on use (``from analysis import lstm``) so that the command line
starts quickly.
"""

__version__ = "0.1.0"
