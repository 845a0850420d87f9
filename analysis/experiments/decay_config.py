"""`DecayConfig`: one `actgrad decay` cell, validated on construction like `LSTMConfig`.

A cell is a recurrent cell plus how it is measured: ``length`` T, ``batch`` B, the ``loss``
and ``lyapunov_k`` exponents. For the LSTM (``cell="lstm"``, the default) the cell is every
`LSTMConfig` field except ``fused``, which only switches the backward of `lstm.apply` (decay
measures through its own one-pass perturbation scan). Any other cell of `analysis.cells`
(``cell="gru"``, ...) takes its slots and options from ``options`` (name, value) pairs, plus
``input_size``, ``hidden_size`` and ``dtype``. The sweep store keeps a cell as
``DecayConfig.to_dict()``: the LSTM's every field, another cell's `Cell.config()`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from analysis import cells
from analysis.cells import lstm
from analysis.flow import gradients

__all__ = [
    "FIELDS",
    "LSTM_FIELDS",
    "RUN_FIELDS",
    "WORDS_PER_STATE",
    "DecayConfig",
    "field_parsers",
    "literal",
    "words_per_state",
]

# `fused` is a backward-pass switch of lstm.apply; it never changes a decay measurement.
LSTM_FIELDS = tuple(f.name for f in dataclasses.fields(lstm.LSTMConfig) if f.name != "fused")
RUN_FIELDS = ("length", "batch", "loss", "lyapunov_k")

# Peak memory of one decay cell, in words (float32, or the cell's dtype if wider) per seed, per
# step, per sequence and per number of the carry: 1.5 x the measured peak-RSS growth over a T=10
# run, rounded up (T = 20,000, B = 16, H = 64, one seed, this 2-core CPU; LSTM 4.35 words, also
# 4.4 at T = 100,000, B = 4 and 4.1 with 2 seeds; GRU 12.1, JANET 10.0, sLSTM 5.7 (B = 8), RNN
# 3.6, IndRNN 3.4, minGRU and minLSTM 3.3). What they hold: the forward states, the cotangents
# and the step residuals of the backward pass, the Lyapunov input projection (4H for the LSTM).
WORDS_PER_STATE = {
    "lstm": 6.5,
    "gru": 18.0,
    "janet": 15.0,
    "slstm": 9.0,
    "rnn": 5.5,
    "indrnn": 5.0,
    "mingru": 5.0,
    "minlstm": 5.0,
}
# Host side, per seed and step: ~12 per-step curves (norms, log norms, telemetry) as float64
# arrays, then as Python floats in lists and their JSON text, ~64 bytes each.
_HOST_BYTES_PER_STEP = 12 * 64


def words_per_state(cell: str) -> float:
    """`WORDS_PER_STATE` of a cell; one not measured (registered later) counts as the costliest.

    Args:
      cell: a `cells.names()` name.

    Returns:
      words per seed, step, sequence and number of carry.
    """
    return WORDS_PER_STATE.get(cell, max(WORDS_PER_STATE.values()))


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"DecayConfig: {name} must be an integer >= 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class DecayConfig:
    """One decay cell: an LSTM and how its gradient flow is measured.

    The LSTM fields are those of `lstm.LSTMConfig` (defaults as there, except ``hidden_size``
    64); ``length`` T (default 256), ``batch`` B sequences per seed (default 16), ``loss``
    "last" (``0.5 mean_b ||h_T||^2``) or "mean" (over all steps), ``lyapunov_k`` exponents
    (0 skips; at most the size of the carry, 2H for the LSTM's (h, c)). ``cell`` names the
    cell (`analysis.cells.names`); ``options`` are a non-LSTM cell's slots and options as
    sorted (name, value) pairs (``cells.describe(cell)`` lists them).

    Raises:
      ValueError / TypeError: naming the bad field, on construction.
    """

    cell: str = "lstm"
    input_size: int = 1
    hidden_size: int = 64
    gate: str = "sigmoid"
    candidate: str = "tanh"
    output: str = "tanh"
    forget_bias: float = 1.0
    init: str = "orthogonal"
    dtype: str = "float32"
    unroll: int = 1
    remat: bool = False
    t_max: int | None = None
    length: int = 256
    batch: int = 16
    loss: str = "last"
    lyapunov_k: int = 4
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.cell == "lstm":
            if self.options:
                raise ValueError(f"DecayConfig: options {self.options} are for other cells")
            self.lstm_config()  # every LSTM field validated by LSTMConfig itself
        else:
            self.recurrent_cell()  # ValueError naming the cell's valid slots and options
        _positive_int("length", self.length)
        _positive_int("batch", self.batch)
        if self.loss not in gradients.LOSSES:
            raise ValueError(
                f"DecayConfig: unknown loss {self.loss!r}; valid: {', '.join(gradients.LOSSES)}"
            )
        k, limit = self.lyapunov_k, self.carry_size()
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= limit:
            raise ValueError(
                f"DecayConfig: lyapunov_k must be an integer in [0, {limit}], got {k!r}"
            )

    def lstm_config(self) -> lstm.LSTMConfig:
        """The `LSTMConfig` of the cell (``fused`` False: decay needs forward-mode AD)."""
        return lstm.LSTMConfig(**{k: getattr(self, k) for k in LSTM_FIELDS})

    def recurrent_cell(self) -> cells.Cell:
        """The `analysis.cells` cell (for ``cell="lstm"``, the LSTM's cell interface)."""
        if self.cell == "lstm":
            lstm_fields = {k: getattr(self, k) for k in LSTM_FIELDS if k != "init"}
            return cells.get("lstm", **lstm_fields, initializer=self.init)
        return cells.get(
            self.cell,
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            dtype=self.dtype,
            **dict(self.options),
        )

    def carry_size(self) -> int:
        """Numbers in one sequence's carry: 2H for the LSTM, the sum over any cell's states."""
        if self.cell == "lstm":
            return 2 * self.hidden_size
        return int(self.recurrent_cell().state_size)

    def estimated_bytes(self, n_seeds: int) -> int:
        """An upper-ish estimate of this cell's peak memory for ``n_seeds`` seeds (vmapped).

        Formula: S T (B (w D + I) max(itemsize, 4) + 768), with S seeds, T steps, B sequences,
        D = `carry_size` numbers of carry, I inputs, w = `WORDS_PER_STATE` of the cell (1.5 x
        measured, so within ~1.5x of the real growth for large T) and 768 bytes of per-step
        results per seed; the JAX runtime itself (`memory.RUNTIME_BYTES`) is not included.
        Half-precision cells count 4 bytes: their norms and Lyapunov frame are float32.

        Args:
          n_seeds: S >= 1, the seeds measured together.

        Returns:
          bytes (an int).
        """
        words = words_per_state(self.cell) * self.carry_size()
        itemsize = 8 if self.dtype == "float64" else 4
        per_step = self.batch * (words + self.input_size) * itemsize + _HOST_BYTES_PER_STEP
        return math.ceil(n_seeds * self.length * per_step)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-able and flat: the cell's record in ``results.jsonl``."""
        run = {k: getattr(self, k) for k in RUN_FIELDS}
        if self.cell == "lstm":
            return {"cell": "lstm", **{k: getattr(self, k) for k in LSTM_FIELDS}, **run}
        return {**self.recurrent_cell().config(), **run}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DecayConfig:
        """A config from a flat record (``to_dict`` or a sweep cell; None values left out).

        Raises:
          ValueError: naming unknown fields and the valid ones.
        """
        record = {k: v for k, v in record.items() if v is not None}
        name = record.pop("cell", "lstm")
        if name == "lstm":
            unknown = sorted(set(record) - set(FIELDS))
            if unknown:
                valid = ", ".join(f for f in FIELDS if f != "options")
                raise ValueError(f"DecayConfig: unknown field(s) {unknown}; valid: {valid}")
            return cls(**record)
        shared = {k: record.pop(k) for k in ("input_size", "hidden_size", "dtype") if k in record}
        run = {k: record.pop(k) for k in RUN_FIELDS if k in record}
        if "init" in record:  # --init names a cell's initializer option
            record["initializer"] = record.pop("init")
        options = tuple(sorted(record.items()))
        return cls(cell=name, **shared, **run, options=options)


FIELDS = tuple(f.name for f in dataclasses.fields(DecayConfig))


def _bool(text: str) -> bool:
    table = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    try:
        return table[text.lower()]
    except KeyError:
        raise ValueError(f"expected true/false, got {text!r}") from None


def _kernel(text: str) -> str:
    import kernels

    kernels.get(text)  # ValueError listing the valid names
    return text


def _one_of(valid: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in valid:
            raise ValueError(f"valid: {', '.join(valid)}")
        return text

    return parse


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"must be finite, got {text!r}")
    return value


def literal(text: str) -> Any:
    """A cell option's value from its text: int, float, true/false, or the text itself.

    Args:
      text: e.g. "0.5", "3", "true", "exponential".

    Returns:
      the typed value (ValueError for a non-finite number).
    """
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be finite, got {text!r}")
        return value
    return text


def _option_names() -> set[str]:
    names: set[str] = set()
    for name in cells.names():
        described = cells.describe(name)
        names |= set(described["slots"]) | set(described["options"])
    return names


def field_parsers() -> dict[str, Callable[[str], Any]]:
    """``--compare FIELD=...`` value parser for every field of `DecayConfig`.

    Returns:
      field name -> a function from the text of one value to the typed value (ValueError
      with the reason when the text is not a valid value of that field).
    """
    by_type = {"int": int, "float": _finite_float, "bool": _bool, "int | None": int}
    parsers: dict[str, Callable[[str], Any]] = dict.fromkeys(_option_names(), literal)
    parsers.update({f.name: by_type.get(str(f.type), str) for f in dataclasses.fields(DecayConfig)})
    del parsers["options"]
    parsers.update(
        cell=_one_of(cells.names()),
        gate=_kernel,
        candidate=_kernel,
        output=_kernel,
        dtype=_one_of(lstm.DTYPES),
        loss=_one_of(tuple(gradients.LOSSES)),
    )
    return parsers
