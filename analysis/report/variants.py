"""The LSTM variants the report compares: which activation sits in which slot.

The candidate and output slots are separate (Keras and Flax tie them), so "ReLU in the
candidate only" and "ReLU in the output only" are different experiments. NIAF and NOAF are
Greff et al. (2017)'s no-input-activation and no-output-activation variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = ["QUICK_VARIANTS", "VARIANTS", "Variant", "get", "lookup", "names", "slots"]


class Variant(NamedTuple):
    """One LSTM variant: its name "candidate/output", the kernels per slot and a note."""

    name: str
    gate: str
    candidate: str
    output: str
    note: str


VARIANTS: tuple[Variant, ...] = (
    Variant("tanh/tanh", "sigmoid", "tanh", "tanh", "the standard LSTM"),
    Variant("relu/tanh", "sigmoid", "relu", "tanh", "ReLU in the candidate only"),
    Variant("tanh/relu", "sigmoid", "tanh", "relu", "ReLU in the output only"),
    Variant("relu/relu", "sigmoid", "relu", "relu", "ReLU in both slots"),
    Variant("hard_tanh/hard_tanh", "sigmoid", "hard_tanh", "hard_tanh", "hard tanh in both slots"),
    Variant(
        "leaky_relu/leaky_relu", "sigmoid", "leaky_relu", "leaky_relu", "leaky ReLU in both slots"
    ),
    Variant("sigmoid/tanh", "sigmoid", "sigmoid", "tanh", "sigmoid as the candidate"),
    Variant("identity/tanh", "sigmoid", "identity", "tanh", "NIAF: no candidate activation"),
    Variant("tanh/identity", "sigmoid", "tanh", "identity", "NOAF: no output activation"),
)

QUICK_VARIANTS: tuple[str, ...] = ("tanh/tanh", "relu/tanh", "tanh/relu", "relu/relu")


def names() -> tuple[str, ...]:
    """Every variant name, in the report's order.

    Returns:
        tuple of "candidate/output" names.
    """
    return tuple(v.name for v in VARIANTS)


def get(name: str) -> Variant:
    """The variant called `name`.

    Args:
        name: "candidate/output", e.g. "relu/tanh".

    Returns:
        the Variant; ValueError listing the valid names if unknown.
    """
    return lookup(VARIANTS, name, "variant")


def lookup(catalogue: Sequence[Any], name: str, what: str) -> Any:
    """The entry of `catalogue` whose ``.name`` is `name` (variants here, designs in `gating`).

    Args:
        catalogue: named entries; name: the one wanted; what: its kind, for the message.

    Returns:
        the entry; ValueError listing the valid names if none has that name.
    """
    for entry in catalogue:
        if entry.name == name:
            return entry
    valid = ", ".join(e.name for e in catalogue)
    raise ValueError(f"unknown {what} {name!r}; valid: {valid}")


def slots(v: Variant) -> dict[str, str]:
    """The LSTMConfig fields a variant sets.

    Args:
        v: the variant.

    Returns:
        {"gate", "candidate", "output"} kernel names.
    """
    return {"gate": v.gate, "candidate": v.candidate, "output": v.output}
