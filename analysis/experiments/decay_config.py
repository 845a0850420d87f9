"""`DecayConfig`: one `actgrad decay` cell, validated on construction like `LSTMConfig`.

A cell is the LSTM (every `LSTMConfig` field except ``fused``, which only switches the
backward of `lstm.apply`; decay measures through its own one-pass perturbation scan) plus how
it is measured: ``length`` T, ``batch`` B, the ``loss`` and ``lyapunov_k`` exponents. The
sweep store keeps a cell as ``DecayConfig.to_dict()``, so the field list is written once, here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from analysis.cells import lstm
from analysis.flow import gradients

__all__ = ["FIELDS", "LSTM_FIELDS", "RUN_FIELDS", "DecayConfig", "field_parsers"]

# `fused` is a backward-pass switch of lstm.apply; it never changes a decay measurement.
LSTM_FIELDS = tuple(f.name for f in dataclasses.fields(lstm.LSTMConfig) if f.name != "fused")
RUN_FIELDS = ("length", "batch", "loss", "lyapunov_k")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"DecayConfig: {name} must be an integer >= 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class DecayConfig:
    """One decay cell: an LSTM and how its gradient flow is measured.

    The LSTM fields are those of `lstm.LSTMConfig` (defaults as there, except ``hidden_size``
    64); ``length`` T (default 256), ``batch`` B sequences per seed (default 16), ``loss``
    "last" (``0.5 mean_b ||h_T||^2``) or "mean" (over all steps), ``lyapunov_k`` exponents
    (0 skips; at most 2H, the size of the carry (h, c)).

    Raises:
      ValueError / TypeError: naming the bad field, on construction.
    """

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

    def __post_init__(self) -> None:
        self.lstm_config()  # every LSTM field validated by LSTMConfig itself
        _positive_int("length", self.length)
        _positive_int("batch", self.batch)
        if self.loss not in gradients.LOSSES:
            raise ValueError(
                f"DecayConfig: unknown loss {self.loss!r}; valid: {', '.join(gradients.LOSSES)}"
            )
        k, limit = self.lyapunov_k, 2 * self.hidden_size
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= limit:
            raise ValueError(
                f"DecayConfig: lyapunov_k must be an integer in [0, {limit}], got {k!r}"
            )

    def lstm_config(self) -> lstm.LSTMConfig:
        """The `LSTMConfig` of the cell (``fused`` False: decay needs forward-mode AD)."""
        return lstm.LSTMConfig(**{k: getattr(self, k) for k in LSTM_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-able: the cell's record in ``results.jsonl``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, cell: Mapping[str, Any]) -> DecayConfig:
        """A config from a record; ValueError naming unknown fields (valid ones listed)."""
        unknown = sorted(set(cell) - set(FIELDS))
        if unknown:
            raise ValueError(f"DecayConfig: unknown field(s) {unknown}; valid: {', '.join(FIELDS)}")
        return cls(**cell)


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


def field_parsers() -> dict[str, Callable[[str], Any]]:
    """``--compare FIELD=...`` value parser for every field of `DecayConfig`.

    Returns:
      field name -> a function from the text of one value to the typed value (ValueError
      with the reason when the text is not a valid value of that field).
    """
    by_type = {"int": int, "float": _finite_float, "bool": _bool, "int | None": int}
    parsers = {f.name: by_type.get(str(f.type), str) for f in dataclasses.fields(DecayConfig)}
    parsers.update(
        gate=_kernel,
        candidate=_kernel,
        output=_kernel,
        init=_one_of(lstm.INITS),
        dtype=_one_of(lstm.DTYPES),
        loss=_one_of(tuple(gradients.LOSSES)),
    )
    return parsers
