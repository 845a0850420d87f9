"""`TrainConfig`: every knob of one training run, validated on construction.

A training run is one sweep cell: a task at a length, an LSTM variant, an optimizer and a
budget. The config is frozen, hashable (it is a static argument of the jitted training
programs) and JSON-able (`dataclasses.asdict` is a results-store line's ``config``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.cells import lstm
from analysis.experiments import tasks

__all__ = ["OPTIMIZERS", "TrainConfig"]

OPTIMIZERS = ("adam", "rmsprop", "sgd")
_POSITIVE = ("length", "steps", "batch", "hidden_size", "eval_every", "test_batch")


def _positive(name: str, v: object, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {v!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run; ValueError (one line) on a bad field at construction.

    `length` is the sequence length T (for copy: the delay; T = delay + 20).
    `clip` is the global-norm threshold of optax.clip_by_global_norm, None for no clipping.
    `snapshots`: how many gradient-flow snapshots to take, evenly spaced over `steps` at chunk
    boundaries (0: none; `analysis.experiments.snapshots`), each on a fixed held-out batch of
    `snapshot_batch` sequences. `stop_when_solved` ends a run once every seed has solved the
    task or diverged. `fused`: the LSTM's hand-written backward (fast_lstm); False scans
    `lstm.step`.
    """

    task: str = "adding"
    length: int = 100
    steps: int = 2000
    batch: int = 64
    hidden_size: int = 64
    gate: str = "sigmoid"
    candidate: str = "tanh"
    output: str = "tanh"
    forget_bias: float = 1.0
    init: str = "orthogonal"
    lr: float = 1e-2
    clip: float | None = None
    optimizer: str = "adam"
    eval_every: int = 50
    test_batch: int = 1000
    dtype: str = "float32"
    stop_when_solved: bool = False
    fused: bool = True
    snapshots: int = 0
    snapshot_batch: int = 8

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}"
            )
        for name in _POSITIVE:
            _positive(name, getattr(self, name))
        _positive("snapshots", self.snapshots, 0)
        _positive("snapshot_batch", self.snapshot_batch)
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a finite number > 0 (or none), got {self.clip!r}")
        if not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be finite, got {self.forget_bias!r}")
        for name in ("fused", "stop_when_solved"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        self.task_spec()
        self.lstm_config()

    def lstm_config(self, fused: bool | None = None) -> lstm.LSTMConfig:
        """The LSTM cell of this run (input size from the task).

        Args:
            fused: override of ``self.fused`` (the flow snapshots need the plain scan).

        Returns:
            lstm.LSTMConfig.
        """
        return lstm.LSTMConfig(
            input_size=self.task_spec().input_size,
            hidden_size=self.hidden_size,
            gate=self.gate,
            candidate=self.candidate,
            output=self.output,
            forget_bias=self.forget_bias,
            init=self.init,
            dtype=self.dtype,
            fused=self.fused if fused is None else fused,
        )

    def task_spec(self) -> tasks.Task:
        """The task at this length and dtype (`tasks.get`).

        Returns:
            tasks.Task.
        """
        return tasks.get(self.task, self.length, self.dtype)
