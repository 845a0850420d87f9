"""`TrainConfig`: every knob of one training run, validated on construction.

A training run is one sweep cell: a task at a length, a recurrent cell (the LSTM by default,
or any cell of `analysis.cells`), an optimizer and a budget. The config is frozen, hashable
(it is a static argument of the jitted training programs) and JSON-able: ``to_dict()`` is a
results-store line's ``config`` and ``from_dict`` reads it back. For the LSTM that record is
today's flat fields plus ``"cell": "lstm"``, so ``TrainConfig(**old_record)`` still loads a
record written before cells existed. Another cell's record is the run's fields plus its
`Cell.config()` (every slot and option, defaults included).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis import cells
from analysis.cells import lstm
from analysis.experiments import tasks
from analysis.experiments.decay_config import words_per_state

__all__ = ["LSTM_FIELDS", "OPTIMIZERS", "RUN_FIELDS", "TrainConfig"]

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
_POSITIVE = ("length", "steps", "batch", "hidden_size", "eval_every", "test_batch")
# The LSTM's own fields; another cell takes its slots and options from ``options``.
LSTM_FIELDS = ("gate", "candidate", "output", "forget_bias", "init", "fused")
# Set by the run for every cell, never a cell option.
_SHARED = ("input_size", "hidden_size", "dtype")


def _positive(name: str, v: object, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {v!r}")


def _pairs(options: Any) -> dict[str, Any]:
    """``options`` as a dict: sorted pairs, a list of [name, value] (JSON) or a mapping."""
    if isinstance(options, Mapping):
        return dict(options)
    try:
        out = {str(k): v for k, v in options}
    except (TypeError, ValueError):
        raise ValueError(
            f"TrainConfig: options must be (name, value) pairs, got {options!r}"
        ) from None
    if len(out) != len(options):
        raise ValueError(f"TrainConfig: an option is given twice in {options!r}")
    return out


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run; ValueError (one line) on a bad field at construction.

    `length` is the sequence length T (for copy: the delay; T = delay + 20).
    `clip` is the global-norm threshold of optax.clip_by_global_norm, None for no clipping.
    `snapshots`: how many gradient-flow snapshots to take, evenly spaced over `steps` at chunk
    boundaries (0: none; `analysis.experiments.snapshots`), each on a fixed held-out batch of
    `snapshot_batch` sequences. `stop_when_solved` ends a run once every seed has solved the
    task or diverged. `fused`: the LSTM's hand-written backward (cells/lstm/vjp.py); False scans
    `lstm.step`. `cell` names the recurrent cell (`analysis.cells.names`, default "lstm");
    for another cell the LSTM fields (`LSTM_FIELDS`) stay at their defaults and ``options``
    holds its slots and options as sorted (name, value) pairs, completed with the cell's
    defaults on construction (``cells.describe(cell)`` lists them; `from_dict` routes flat
    fields there).
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
    cell: str = "lstm"
    options: tuple[tuple[str, Any], ...] = ()

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
        if self.cell == "lstm":
            if self.options:
                raise ValueError(
                    f"TrainConfig: options {tuple(self.options)!r} are for other cells; "
                    "the LSTM's slots and options are TrainConfig's own fields"
                )
            self.lstm_config()
        else:
            self._check_lstm_fields_unset()
            # Canonical: every option of the cell, sorted, so equal cells are equal configs.
            object.__setattr__(self, "options", self._canonical_options())

    def _check_lstm_fields_unset(self) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name in LSTM_FIELDS:
            if getattr(self, name) != defaults[name]:
                raise ValueError(
                    f"TrainConfig: {name}={getattr(self, name)!r} is an LSTM field; cell "
                    f"{self.cell!r} takes its slots and options from `options` "
                    f"(TrainConfig.from_dict puts flat fields there)"
                )

    def _canonical_options(self) -> tuple[tuple[str, Any], ...]:
        given = _pairs(self.options)
        for name in (*_SHARED, "num_layers", "cell"):
            if name in given:
                where = "one layer is trained" if name == "num_layers" else f"TrainConfig.{name}"
                raise ValueError(f"TrainConfig: {name} is not a cell option here ({where})")
        found = self._cell(given).config()
        return tuple(sorted((k, v) for k, v in found.items() if k not in ("cell", *_SHARED)))

    def _cell(self, options: Mapping[str, Any]) -> cells.Cell:
        return cells.get(
            self.cell,
            input_size=self.task_spec().input_size,
            hidden_size=self.hidden_size,
            dtype=self.dtype,
            **options,
        )

    def lstm_config(self, fused: bool | None = None) -> lstm.LSTMConfig:
        """The LSTM cell of this run (input size from the task); ValueError for another cell.

        Args:
            fused: override of ``self.fused`` (the flow snapshots need the plain scan).

        Returns:
            lstm.LSTMConfig.
        """
        if self.cell != "lstm":
            raise ValueError(f"TrainConfig.lstm_config: the cell is {self.cell!r}, not lstm")
        return lstm.LSTMConfig(
            input_size=self.task_spec().input_size,
            hidden_size=self.hidden_size,
            gate=self.gate,
            candidate=self.candidate,
            output=self.output,
            forget_bias=self.forget_bias,
            init=self.init,
            # chrono's longest dependency: the task's sequence (Tallec & Ollivier 2018 set
            # T_max = T on the adding problem)
            t_max=self.task_spec().length if self.init == "chrono" else None,
            dtype=self.dtype,
            fused=self.fused if fused is None else fused,
        )

    def recurrent_cell(self) -> cells.Cell:
        """The run's cell behind the `analysis.cells` interface (input size from the task).

        Returns:
            for "lstm" the LSTM cell with this config's LSTM fields (``init`` is its
            ``initializer``), else ``cells.get(cell, ..., **options)``; xs (B, T, I) ->
            ys (B, T, hidden_size).
        """
        if self.cell == "lstm":
            lstm_fields = {k: getattr(self, k) for k in LSTM_FIELDS if k != "init"}
            chrono = {"t_max": self.task_spec().length} if self.init == "chrono" else {}
            return self._cell({**lstm_fields, "initializer": self.init, **chrono})
        return self._cell(dict(self.options))

    def estimated_bytes(self, n_seeds: int) -> int:
        """An upper-ish estimate of this run's peak memory for ``n_seeds`` seeds (vmapped).

        Formula: S (T (B (w D + I + K_a) + N (I + 2 (H + K)_a) + P (v D + I)) itemsize
        + 64 (4 steps + snapshots T)), with S seeds, T the task's length, B the batch, N the
        test batch, P the snapshot batch (0 without snapshots), D numbers of carry, I and K
        the task's input and output sizes (the _a terms only for an "all" read-out), w = 5
        for the fused LSTM, 12.5 unfused (module constants), else the cell's v =
        `WORDS_PER_STATE` (the snapshots are measured as in decay). The JAX runtime
        (`memory.RUNTIME_BYTES`) is not included; half precision counts 4 bytes a number.

        Args:
            n_seeds: S >= 1, the seeds trained together.

        Returns:
            bytes (an int).
        """
        task = self.task_spec()
        v = words_per_state(self.cell)
        if self.cell == "lstm":
            carry, w = 2 * self.hidden_size, _FUSED_WORDS if self.fused else _PLAIN_LSTM_WORDS
        else:
            carry, w = int(self.recurrent_cell().state_size), v
        every_step = task.readout == "all"
        out = task.output_size if every_step else 0
        test = task.input_size + (2 * (self.hidden_size + out) if every_step else 0)
        snap = self.snapshot_batch * (v * carry + task.input_size) if self.snapshots else 0
        words = self.batch * (w * carry + task.input_size + out) + self.test_batch * test + snap
        itemsize = 8 if self.dtype == "float64" else 4
        host = _HOST_BYTES_PER_NUMBER * (4 * self.steps + self.snapshots * task.length)
        return math.ceil(n_seeds * (task.length * words * itemsize + host))

    def task_spec(self) -> tasks.Task:
        """The task at this length and dtype (`tasks.get`).

        Returns:
            tasks.Task.
        """
        return tasks.get(self.task, self.length, self.dtype)

    def to_dict(self) -> dict[str, Any]:
        """The run as one flat JSON-able record (what the sweep store keeps).

        Returns:
            the LSTM: ``{"cell": "lstm", every field but cell and options}``; another cell:
            the run's fields (`RUN_FIELDS`) and its ``Cell.config()`` (cell, input_size,
            hidden_size, dtype, every slot and option).
        """
        run = {k: getattr(self, k) for k in RUN_FIELDS}
        if self.cell == "lstm":
            flat = {k: getattr(self, k) for k in FIELDS if k not in ("cell", "options")}
            return {"cell": "lstm", **flat}
        return {**run, **self.recurrent_cell().config()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> TrainConfig:
        """A config from a flat record: `to_dict`'s, an old LSTM record, or CLI fields.

        For a non-LSTM cell every key that is not a run field (`RUN_FIELDS`) is a slot or an
        option of the cell: ``init`` means its ``initializer``, an LSTM field such as
        ``candidate`` or ``forget_bias`` goes to the cell if it has that slot or option;
        ``input_size`` must be the task's. For the LSTM ``initializer`` means ``init``.

        Args:
            record: {field: value}; None values are left out (the field's default).

        Returns:
            TrainConfig (ValueError naming the bad key and what is valid).
        """
        record = {k: v for k, v in record.items() if v is not None}
        name = record.pop("cell", "lstm")
        options = _pairs(record.pop("options", ()))
        input_size = record.pop("input_size", None)
        if name == "lstm":
            if "initializer" in record:
                record["init"] = record.pop("initializer")
            unknown = sorted(set(record) - set(FIELDS))
            if unknown:
                valid = ", ".join(f for f in FIELDS if f != "options")
                raise ValueError(f"TrainConfig: unknown field(s) {unknown}; valid: {valid}")
            cfg = cls(**record, options=tuple(sorted(options.items())))
        else:
            run = {k: record.pop(k) for k in RUN_FIELDS if k in record}
            if "init" in record:
                record["initializer"] = record.pop("init")
            options.update(record)
            cfg = cls(**run, cell=name, options=tuple(sorted(options.items())))
        expected = cfg.task_spec().input_size
        if input_size is not None and input_size != expected:
            raise ValueError(
                f"TrainConfig: input_size {input_size!r} is not task {cfg.task!r}'s {expected}"
            )
        return cfg


FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
# Every cell's run: all fields but the LSTM's own and the cell itself.
RUN_FIELDS = tuple(f for f in FIELDS if f not in (*LSTM_FIELDS, "cell", "options"))
