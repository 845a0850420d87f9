"""`TrainConfig`: every knob of one training run, validated on construction.

A training run is one sweep cell: a task at a length, a recurrent cell (the LSTM by default,
or any cell of `analysis.cells`), an optimizer and a budget. The config is frozen, hashable
(it is a static argument of the jitted training programs) and JSON-able: ``to_dict()`` is a
results-store line's ``config`` and ``from_dict`` reads it back. The cell is one field, a
`cells.CellSpec` (its name and every slot and option, defaults included), stored nested under
``"cell"`` beside the run's fields; ``from_dict`` also takes flat fields (``candidate="relu"``,
``forget_bias=3.0``, ``cell="gru"``), as the command line and scripts give them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis import cells, data
from analysis.cells import lstm
from analysis.cells.spec import lstm_config, spec_from_fields
from analysis.experiments import tasks
from analysis.experiments.decay_config import words_per_state
from analysis.flow.flossing import check_floss_k, check_floss_target

__all__ = ["CLIP_RULES", "FIELDS", "OPTIMIZERS", "RUN_FIELDS", "TrainConfig"]

# Peak memory of a training step, in words per seed, step, sequence and number of carry: 1.5 x
# the measured peak-RSS growth over T = 10 (adding T = 2000, B = 64, H = 64, one seed, this
# 2-core CPU): fused LSTM 3.3 (207 MiB; 3.1 at T = 20,000, B = 8, checkpointed), unfused 8.2
# (511 MiB); other cells as in decay (`WORDS_PER_STATE`; GRU 10.7 here). The test batch costs
# its inputs (+13 MiB for 992 more sequences), for an "all" read-out (copy) its states and
# predictions too (T = 1020, 1000 sequences: ~92 words a step and sequence; counted 2(H+K)+I).
_FUSED_WORDS, _PLAIN_LSTM_WORDS = 5.0, 12.5
# Host side per seed: 4 metrics per training step, and each snapshot's log-norm curve per
# step, as float32 arrays, then Python floats in lists and their JSON text, ~64 bytes each.
_HOST_BYTES_PER_NUMBER = 64

OPTIMIZERS = ("adam", "rmsprop", "sgd")
CLIP_RULES = ("global_norm", "value")
_DEFAULT_LENGTH = 100  # TrainConfig.length's default
_POSITIVE = ("length", "steps", "batch", "hidden_size", "eval_every", "test_batch")


def _positive(name: str, v: object, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {v!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run; ValueError (one line) on a bad field at construction.

    `length` is the sequence length T (for copy: the delay; T = delay + 20).
    `floss` > 0 turns on gradient flossing (Engelken 2023) of the cell's `floss` largest
    Lyapunov exponents toward `floss_target`: `floss_pretrain` flossing steps before training,
    then `floss_bursts` bursts of `floss_steps` steps, one after every `floss_every` updates
    (`analysis.experiments.train_floss`); 0 (the default) trains exactly as without it.
    `clip` is the clipping threshold, None for no clipping; `clip_by` the rule: "global_norm"
    (optax.clip_by_global_norm) or "value" (optax.clip, each gradient entry into [-clip, clip]).
    `snapshots`: how many gradient-flow snapshots to take, evenly spaced over `steps` at chunk
    boundaries (0: none; `analysis.experiments.snapshots`), each on a fixed held-out batch of
    `snapshot_batch` sequences. `stop_when_solved` ends a run once every seed has solved the
    task or diverged. `spec` is the recurrent cell (`cells.CellSpec`, default the LSTM:
    sigmoid gates, tanh candidate and output, forget bias 1, orthogonal, fused); the run sets
    its input size (the task's), hidden size and dtype. The LSTM's ``fused`` option is its
    hand-written backward (cells/lstm/vjp.py); False scans `lstm.step`. Its chrono
    initializer takes ``t_max`` from the task's length unless the spec sets it.
    ``TrainConfig.from_dict`` also takes a cell's name and its options as flat fields.

    A real data set's task (`data.names()`: digits, trace, acsf1) has the data's T: `length`
    left at its default becomes it, another value is refused; `delay` (digits only, default
    0) adds blank steps after the image (T = 64 + delay). Such a task tests on its whole test
    split, so `test_batch` is not used.
    """

    task: str = "adding"
    length: int = _DEFAULT_LENGTH
    steps: int = 2000
    batch: int = 64
    hidden_size: int = 64
    lr: float = 1e-2
    clip: float | None = None
    clip_by: str = "global_norm"
    optimizer: str = "adam"
    eval_every: int = 50
    test_batch: int = 1000
    dtype: str = "float32"
    stop_when_solved: bool = False
    snapshots: int = 0
    snapshot_batch: int = 8
    floss: int = 0
    floss_target: float = 0.0
    floss_pretrain: int = 50
    floss_every: int = 10
    floss_steps: int = 50
    floss_bursts: int = 2
    spec: cells.CellSpec = dataclasses.field(default_factory=cells.CellSpec)
    delay: int = 0

    def __post_init__(self) -> None:
        _positive("delay", self.delay, 0)
        if self.task in data.names() and self.length == _DEFAULT_LENGTH:
            # the data fix T: the default length stands for "the data's own"
            object.__setattr__(self, "length", data.shape(self.task, self.delay)[0])
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
        if self.clip_by not in CLIP_RULES:
            raise ValueError(
                f"unknown clip_by {self.clip_by!r}; valid rules: {', '.join(CLIP_RULES)}"
            )
        if not isinstance(self.stop_when_solved, bool):
            raise ValueError(
                f"stop_when_solved must be true or false, got {self.stop_when_solved!r}"
            )
        if not isinstance(self.spec, cells.CellSpec):
            raise ValueError(f"TrainConfig: spec must be a cells.CellSpec, got {self.spec!r}")
        self.task_spec()
        self._check_floss()
        if self.cell == "lstm":
            if not isinstance(self.spec["fused"], bool):
                raise ValueError(f"fused must be true or false, got {self.spec['fused']!r}")
            self.lstm_config()  # every LSTM field validated by LSTMConfig itself
        else:
            self.recurrent_cell()  # every slot and option validated by the cell itself

    def _check_floss(self) -> None:
        _positive("floss", self.floss, 0)
        if self.floss:
            state_size = 2 * self.hidden_size if self.cell == "lstm" else None
            if state_size is None:
                state_size = int(self.recurrent_cell().state_size)
            check_floss_k(self.floss, state_size, "TrainConfig: floss")
        check_floss_target(self.floss_target, "TrainConfig: floss_target")
        for name in ("floss_pretrain", "floss_bursts"):
            _positive(name, getattr(self, name), 0)
        for name in ("floss_every", "floss_steps"):
            _positive(name, getattr(self, name))

    @property
    def cell(self) -> str:
        """The recurrent cell's name (``spec.name``)."""
        return self.spec.name

    def lstm_config(self, fused: bool | None = None) -> lstm.LSTMConfig:
        """The LSTM cell of this run (input size from the task); ValueError for another cell.

        Args:
            fused: override of the spec's ``fused`` (the flow snapshots need the plain scan).

        Returns:
            lstm.LSTMConfig.
        """
        if self.cell != "lstm":
            raise ValueError(f"TrainConfig.lstm_config: the cell is {self.cell!r}, not lstm")
        task = self.task_spec()
        more = {} if fused is None else {"fused": fused}
        return lstm_config(
            self.spec, task.input_size, self.hidden_size, self.dtype, **more, **self._chrono()
        )

    def recurrent_cell(self) -> cells.Cell:
        """The run's cell behind the `analysis.cells` interface (input size from the task).

        Returns:
            ``spec.build(...)`` at the task's input size, ``hidden_size`` and ``dtype``; the
            LSTM's chrono initializer gets ``t_max`` = the task's length unless the spec sets
            it (Tallec & Ollivier 2018 set T_max = T on the adding problem). xs (B, T, I) ->
            ys (B, T, hidden_size).
        """
        task = self.task_spec()
        try:
            return self.spec.build(task.input_size, self.hidden_size, self.dtype, **self._chrono())
        except ValueError as err:
            raise ValueError(f"TrainConfig: {err}") from None

    def _chrono(self) -> dict[str, Any]:
        # chrono's longest dependency: the task's sequence, unless the spec sets its own
        if self.spec.get("initializer") == "chrono" and self.spec.get("t_max", 0) is None:
            return {"t_max": self.task_spec().length}
        return {}

    def estimated_bytes(self, n_seeds: int) -> int:
        """An upper-ish estimate of this run's peak memory for ``n_seeds`` seeds (vmapped).

        Formula: S (T (B (w D + I + K_a) + N (I + 2 (H + K)_a) + P (v D + I)) itemsize
        + 64 (4 steps + snapshots T)) + M itemsize, with S seeds, T the task's length, B the
        batch, N the test batch (a data set's: its test split), M the numbers a data set
        holds as constants (`Task.constant_numbers`; 0 for a synthetic task), P the snapshot
        batch (0 without snapshots), D numbers of carry, I and K
        the task's input and output sizes (the _a terms only for an "all" read-out), w = 5
        for the fused LSTM, 12.5 unfused (module constants), else the cell's v =
        `WORDS_PER_STATE` (the snapshots are measured as in decay); flossing k exponents adds
        D (2k + v) + k^2 + I words a step (one sequence). The JAX runtime
        (`memory.RUNTIME_BYTES`) is not included; half precision counts 4 bytes a number.

        Args:
            n_seeds: S >= 1, the seeds trained together.

        Returns:
            bytes (an int).
        """
        task = self.task_spec()
        v = words_per_state(self.cell)
        if self.cell == "lstm":
            fused = self.spec["fused"]
            carry, w = 2 * self.hidden_size, _FUSED_WORDS if fused else _PLAIN_LSTM_WORDS
        else:
            carry, w = int(self.recurrent_cell().state_size), v
        every_step = task.readout == "all"
        out = task.output_size if every_step else 0
        test = task.input_size + (2 * (self.hidden_size + out) if every_step else 0)
        snap = self.snapshot_batch * (v * carry + task.input_size) if self.snapshots else 0
        n_test = task.test_size or self.test_batch  # a data set's whole test split
        words = self.batch * (w * carry + task.input_size + out) + n_test * test + snap
        if self.floss:  # one sequence: its states, frames Q (D, k), R (k, k) and residuals
            words += carry * (2 * self.floss + v) + self.floss**2 + task.input_size
        itemsize = 8 if self.dtype == "float64" else 4
        host = _HOST_BYTES_PER_NUMBER * (4 * self.steps + self.snapshots * task.length)
        seeds = n_seeds * (task.length * words * itemsize + host)
        return math.ceil(seeds + task.constant_numbers * itemsize)  # data held once

    def task_spec(self) -> tasks.Task:
        """The task at this length and dtype (`tasks.get`).

        Returns:
            tasks.Task.
        """
        return tasks.get(self.task, self.length, self.dtype, delay=self.delay)

    def to_dict(self) -> dict[str, Any]:
        """The run as one JSON-able record (what the sweep store keeps).

        Returns:
            ``{run field: value, ..., "cell": spec.to_dict()}``: the run's fields
            (`RUN_FIELDS`) and the cell's name with every slot and option; ``delay`` only
            when it is not 0, so that the records (and store keys) of runs without one are
            those they were before it existed.
        """
        run = {k: getattr(self, k) for k in RUN_FIELDS if k != "delay" or self.delay}
        return {**run, "cell": self.spec.to_dict()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> TrainConfig:
        """A config from a record: `to_dict`'s, or flat fields (CLI flags, a user's script).

        Every key that is not a run field (`RUN_FIELDS`) is a slot or an option of the cell:
        ``"cell"`` is the cell's name (default "lstm") or `to_dict`'s nested spec, and flat
        keys such as ``candidate`` or ``forget_bias`` set (or override) its options; ``init``
        means ``initializer``; ``options`` may hold more as (name, value) pairs;
        ``input_size``, if given, must be the task's.

        Args:
            record: {field: value}; None values are left out (the field's default).

        Returns:
            TrainConfig (ValueError naming the bad key and what is valid).
        """
        record = {k: v for k, v in record.items() if v is not None}
        input_size = record.pop("input_size", None)
        run = {k: record.pop(k) for k in RUN_FIELDS if k in record}
        spec = spec_from_fields(record, "TrainConfig", RUN_FIELDS)
        cfg = cls(**run, spec=spec)
        expected = cfg.task_spec().input_size
        if input_size is not None and input_size != expected:
            raise ValueError(
                f"TrainConfig: input_size {input_size!r} is not task {cfg.task!r}'s {expected}"
            )
        return cfg


FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
# Every cell's run: all fields but the cell spec.
RUN_FIELDS = tuple(f for f in FIELDS if f != "spec")
