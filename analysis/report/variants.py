"""The LSTM variants the report compares: which activation sits in which slot.

The candidate and output slots are separate (Keras and Flax tie them), so "ReLU in the
candidate only" and "ReLU in the output only" are different experiments. NIAF and NOAF are
Greff et al. (2017)'s no-input-activation and no-output-activation variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = [
    "GATE_VARIANTS",
    "PROPERTY_VARIANTS",
    "QUICK_VARIANTS",
    "VARIANTS",
    "Variant",
    "get",
    "known",
    "lookup",
    "name_of",
    "names",
    "slots",
]


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


def _property_variants() -> tuple[Variant, ...]:
    """Each member of `analysis.checks.properties.PROPERTY_SET` (bar tanh) in the candidate
    slot with a tanh output, then in the output slot with a tanh candidate: one property of
    tanh changed at a time, in one slot at a time."""
    from analysis.checks.properties import PROPERTY_SET

    out = []
    for slot in ("candidate", "output"):
        for label, (kernel, _) in PROPERTY_SET.items():
            if label == "tanh":
                continue
            name = f"{label}/tanh" if slot == "candidate" else f"tanh/{label}"
            cand, outp = (kernel, "tanh") if slot == "candidate" else ("tanh", kernel)
            out.append(Variant(name, "sigmoid", cand, outp, f"{label} in the {slot} slot"))
    return tuple(out)


# The property set, slot by slot (names use the property set's labels, e.g. "tanh(2z)/tanh").
PROPERTY_VARIANTS: tuple[Variant, ...] = _property_variants()
# The gate slot swapped: a hard sigmoid (the same range, piecewise linear) and a gate with
# range [-1, 1] (tanh), which lets the forget gate flip the cell state's sign.
GATE_VARIANTS: tuple[Variant, ...] = (
    Variant("gate=hard_sigmoid", "hard_sigmoid", "tanh", "tanh", "hard sigmoid gates"),
    Variant("gate=tanh", "tanh", "tanh", "tanh", "tanh gates, range [-1, 1]"),
)
_CATALOGUE: tuple[Variant, ...] = (
    *VARIANTS,
    *(v for v in PROPERTY_VARIANTS if v.name not in {u.name for u in VARIANTS}),
    *GATE_VARIANTS,
)


def known() -> frozenset[str]:
    """Every name `get` accepts (the variants, the property set's and the gate swaps)."""
    return frozenset(v.name for v in _CATALOGUE)


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
    return lookup(_CATALOGUE, name, "variant")


def name_of(config: Any) -> str:
    """The variant name of a stored cell config (its gate, candidate and output kernels).

    Args:
        config: a stored config, its cell spec under "cell" with "candidate" and "output" (and
            "gate", default sigmoid); a flat mapping of those fields is read as well.

    Returns:
        the catalogue's name, or "candidate/output" for a combination it does not name.
    """
    from analysis.cells import flat_config

    config = flat_config(config)
    gate = config.get("gate", "sigmoid")
    for v in _CATALOGUE:
        if (v.gate, v.candidate, v.output) == (gate, config["candidate"], config["output"]):
            return v.name
    return f"{config['candidate']}/{config['output']}"


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
