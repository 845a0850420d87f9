"""`DecayConfig`: one `actgrad decay` cell, validated on construction like `LSTMConfig`.

A cell is a recurrent cell plus how it is measured: ``length`` T, ``batch`` B, the ``loss``
and ``lyapunov_k`` exponents. The recurrent cell is a `cells.CellSpec` (the LSTM by default;
any cell of `analysis.cells`: its name and every slot and option) at ``input_size``,
``hidden_size`` and ``dtype``. The LSTM's ``fused`` option only switches the backward of
`lstm.apply` (decay measures through its own one-pass perturbation scan). The sweep store
keeps a cell as ``DecayConfig.to_dict()``: the run's fields and the spec nested under
``"cell"``; `DecayConfig.from_dict` also takes the flat fields of the command line.

``inputs`` is what drives the cell: "noise" (x ~ N(0, 1), the default) or a real data set of
`analysis.data` (digits, trace, acsf1): each seed's batch is B sequences of its train split,
drawn without replacement (with, if B exceeds it) from the seed's data key; T and I are then
the data's (``length`` left at its default becomes T; another T or I is refused).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from analysis import cells, data
from analysis.cells import lstm
from analysis.cells.spec import lstm_config, option_names, spec_from_fields
from analysis.flow import gradients

__all__ = [
    "FIELDS",
    "INPUTS",
    "LSTM_FIELDS",
    "RUN_FIELDS",
    "WORDS_PER_STATE",
    "DecayConfig",
    "field_parsers",
    "literal",
    "words_per_state",
]

# The LSTM's flat fields (the command line's flags); `fused` is a backward-pass switch of
# lstm.apply, it never changes a decay measurement.
LSTM_FIELDS = tuple(f.name for f in dataclasses.fields(lstm.LSTMConfig) if f.name != "fused")

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


INPUTS = ("noise", *data.names())
_DEFAULT_LENGTH = 256  # DecayConfig.length's default


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
    """One decay cell: a recurrent cell and how its gradient flow is measured.

    ``spec`` is the cell (`cells.CellSpec`, default the LSTM with `lstm.LSTMConfig`'s
    defaults; its chrono initializer needs ``t_max``), ``input_size`` I, ``hidden_size`` H
    (default 64) and ``dtype`` its sizes and dtype; ``length`` T (default 256), ``batch`` B
    sequences per seed (default 16), ``loss`` "last" (``0.5 mean_b ||h_T||^2``) or "mean"
    (over all steps), ``lyapunov_k`` exponents (0 skips; at most the size of the carry, 2H for
    the LSTM's (h, c)). ``DecayConfig.from_dict`` also takes the cell as flat fields.

    Raises:
      ValueError / TypeError: naming the bad field, on construction.
    """

    input_size: int = 1
    hidden_size: int = 64
    dtype: str = "float32"
    length: int = _DEFAULT_LENGTH
    batch: int = 16
    loss: str = "last"
    lyapunov_k: int = 4
    spec: cells.CellSpec = dataclasses.field(default_factory=cells.CellSpec)
    inputs: str = "noise"

    def __post_init__(self) -> None:
        self._check_inputs()
        if not isinstance(self.spec, cells.CellSpec):
            raise ValueError(f"DecayConfig: spec must be a cells.CellSpec, got {self.spec!r}")
        if self.cell == "lstm":
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

    def _check_inputs(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(
                f"DecayConfig: unknown inputs {self.inputs!r}; valid inputs: {', '.join(INPUTS)}"
            )
        if self.inputs == "noise":
            return
        T, C = data.shape(self.inputs)[:2]
        if self.length == _DEFAULT_LENGTH:
            object.__setattr__(self, "length", T)  # the default stands for the data's own T
        if self.length != T or self.input_size != C:
            raise ValueError(
                f"DecayConfig: inputs {self.inputs!r} have T = {T} and I = {C}; length "
                f"{self.length!r} and input_size {self.input_size!r} cannot differ (leave "
                "--length and --input-size out)"
            )

    @property
    def cell(self) -> str:
        """The recurrent cell's name (``spec.name``)."""
        return self.spec.name

    def lstm_config(self) -> lstm.LSTMConfig:
        """The `LSTMConfig` of the cell (ValueError/TypeError naming a bad field)."""
        if self.cell != "lstm":
            raise ValueError(f"DecayConfig.lstm_config: the cell is {self.cell!r}, not lstm")
        return lstm_config(self.spec, self.input_size, self.hidden_size, self.dtype)

    def recurrent_cell(self) -> cells.Cell:
        """The `analysis.cells` cell (for the LSTM, the LSTM's cell interface)."""
        return self.spec.build(self.input_size, self.hidden_size, self.dtype)

    def carry_size(self) -> int:
        """Numbers in one sequence's carry: 2H for the LSTM, the sum over any cell's states."""
        if self.cell == "lstm":
            return 2 * self.hidden_size
        return int(self.recurrent_cell().state_size)

    def estimated_bytes(self, n_seeds: int) -> int:
        """An upper-ish estimate of this cell's peak memory for ``n_seeds`` seeds (vmapped).

        Formula: S T (B (w D + I) max(itemsize, 4) + 768) + N T I itemsize (N: a data
        set's train split when it drives the cell, else 0), with S seeds, T steps, B sequences,
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
        held = 0  # a data set's train split, a constant of the program, held once
        if self.inputs != "noise":
            T, C, _, n_train, _ = data.shape(self.inputs)
            held = n_train * T * C * itemsize
        return math.ceil(n_seeds * self.length * per_step + held)

    def to_dict(self) -> dict[str, Any]:
        """The cell's record in ``results.jsonl``: ``{run field: value, "cell": spec.to_dict()}``
        (``inputs`` only when not "noise": a noise cell's record and store key stay as before).
        """
        run = {k: getattr(self, k) for k in RUN_FIELDS if k != "inputs" or self.inputs != "noise"}
        return {**run, "cell": self.spec.to_dict()}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DecayConfig:
        """A config from `to_dict`'s record or flat fields (a sweep cell, the command line).

        Every key that is not a run field (`RUN_FIELDS`) is the cell's (`cells.CellSpec`):
        ``"cell"`` its name or nested spec, flat slots and options (``init`` is the
        ``initializer``); None values are left out.

        Raises:
          ValueError: naming unknown fields and the valid ones.
        """
        record = {k: v for k, v in record.items() if v is not None}
        run = {k: record.pop(k) for k in RUN_FIELDS if k in record}
        return cls(**run, spec=spec_from_fields(record, "DecayConfig", RUN_FIELDS))


# The run's fields: every field but the cell spec.
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(DecayConfig) if f.name != "spec")
# The flat fields of an LSTM decay cell (the command line's): the cell, the LSTM's, the run's.
FIELDS = tuple(dict.fromkeys(("cell", *LSTM_FIELDS, *RUN_FIELDS)))


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


def field_parsers() -> dict[str, Callable[[str], Any]]:
    """``--compare FIELD=...`` value parser for every field of `DecayConfig`.

    Returns:
      field name -> a function from the text of one value to the typed value (ValueError
      with the reason when the text is not a valid value of that field).
    """
    parsers: dict[str, Callable[[str], Any]] = dict.fromkeys(option_names(), literal)
    parsers.update(dict.fromkeys(("input_size", "hidden_size", "unroll", "t_max"), int))
    parsers.update(dict.fromkeys(("length", "batch", "lyapunov_k"), int))
    parsers.update(
        cell=_one_of(cells.names()),
        gate=_kernel,
        candidate=_kernel,
        output=_kernel,
        forget_bias=_finite_float,
        init=str,
        remat=_bool,
        dtype=_one_of(lstm.DTYPES),
        loss=_one_of(tuple(gradients.LOSSES)),
        inputs=_one_of(INPUTS),
    )
    return parsers
