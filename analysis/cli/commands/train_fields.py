"""`actgrad train`'s cells from its flags: the flat record of each run and its --compare fields.

Only flags the user gave reach a non-LSTM cell: the LSTM's defaults (gate sigmoid, candidate
and output tanh, forget bias 1, init orthogonal) are `TrainConfig`'s own and are never forced
onto a GRU or an RNN, so ``--cell gru`` alone is valid and ``--cell gru --output relu`` is a
usage error naming the GRU's slots (`TrainConfig.from_dict` routes the fields).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = [
    "ALIASES",
    "COMPARE_FIELDS",
    "add_cell_arguments",
    "add_floss_arguments",
    "base_record",
    "clip_value",
    "compare_fields",
    "label",
    "option_specs",
    "options",
]


def clip_value(text: str) -> float | None:
    """``--clip`` text -> threshold: none, off or 0 mean no clipping (None).

    Args:
        text: the flag's value.

    Returns:
        None or float(text) (ValueError for other text).
    """
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return float(text)


def _str(text: str) -> str:
    return text.strip()


# --compare FIELD -> converter of one value: TrainConfig's fields. `compare_fields` adds
# ``cell`` and every slot and option of every cell.
COMPARE_FIELDS: dict[str, Callable[[str], Any]] = {
    "task": _str,
    "length": int,
    "steps": int,
    "batch": int,
    "hidden_size": int,
    "gate": _str,
    "candidate": _str,
    "output": _str,
    "forget_bias": float,
    "init": _str,
    "lr": float,
    "clip": clip_value,
    "clip_by": _str,
    "optimizer": _str,
    "snapshots": int,
    "delay": int,
    "floss": int,
    "floss_target": float,
}
ALIASES = {"hidden": "hidden_size"}  # --compare hidden=... as spelled by the --hidden flag
# flag dest -> record field, for the flags every cell shares and the LSTM's own
_RUN_FLAGS = ("task", "length", "steps", "batch", "hidden_size", "lr", "clip", "clip_by")
_RUN_FLAGS += ("optimizer", "eval_every", "test_batch", "stop_when_solved", "snapshots", "delay")
_RUN_FLAGS += ("floss", "floss_target", "floss_pretrain", "floss_every", "floss_steps")
_RUN_FLAGS += ("floss_bursts",)
_CELL_FLAGS = ("gate", "candidate", "output", "forget_bias", "init", "t_max")


def add_cell_arguments(p: argparse.ArgumentParser) -> None:
    """The cell flags: --cell, --option, and the slots and options every LSTM run has.

    They default to None (not given), so that a non-LSTM cell receives only what the user set.

    Args:
        p: the subcommand's parser.
    """
    p.add_argument("--cell", default="lstm", help="recurrent cell (default lstm; see `list`)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a slot or option of the cell, e.g. scale=0.5 for rnn (repeatable)",
    )
    p.add_argument("--gate", default=None, help="gate activation (LSTM i, f, o; default sigmoid)")
    p.add_argument("--candidate", default=None, help="candidate activation (default tanh)")
    p.add_argument("--output", default=None, help="LSTM output activation on c_t (default tanh)")
    p.add_argument(
        "--forget-bias", type=float, default=None, help="added to b_f at init (default 1)"
    )
    p.add_argument(
        "--init", default=None, help="orthogonal (default) | uniform | chrono; rnn: identity"
    )
    p.add_argument(
        "--t-max",
        dest="t_max",
        type=int,
        default=None,
        help="LSTM chrono init's longest dependency T_max (default: the task's length)",
    )


def add_floss_arguments(p: argparse.ArgumentParser) -> None:
    """The gradient-flossing flags (`TrainConfig.floss*`; defaults: Engelken's code's).

    Args:
        p: the subcommand's parser.
    """
    p.add_argument(
        "--floss",
        type=int,
        default=None,
        metavar="K",
        help="gradient flossing of the K largest Lyapunov exponents (default 0: off)",
    )
    p.add_argument(
        "--floss-target", type=float, default=None, help="the exponents' target (default 0)"
    )
    p.add_argument(
        "--floss-pretrain", type=int, default=None, help="flossing steps before training (50)"
    )
    p.add_argument(
        "--floss-every", type=int, default=None, help="training steps between bursts (10)"
    )
    p.add_argument("--floss-steps", type=int, default=None, help="flossing steps a burst (50)")
    p.add_argument("--floss-bursts", type=int, default=None, help="bursts during training (2)")


def compare_fields() -> dict[str, Callable[[str], Any]]:
    """Every ``--compare`` field: `COMPARE_FIELDS`, ``cell``, and each cell's slots and options.

    Returns:
        field -> converter of one value's text (ValueError naming why a value is bad).
    """
    from analysis import cells
    from analysis.experiments.decay_config import literal

    def cell_name(text: str) -> str:
        if text.strip() not in cells.names():
            raise ValueError(f"valid cells: {', '.join(cells.names())}")
        return text.strip()

    fields: dict[str, Callable[[str], Any]] = {}
    for name in cells.names():
        described = cells.describe(name)
        fields.update(dict.fromkeys(described["slots"], _str))
        fields.update(dict.fromkeys(described["options"], literal))
    del fields["dtype"]  # a run's dtype is TrainConfig's own, not a --compare field here
    fields.update(COMPARE_FIELDS)
    fields["cell"] = cell_name
    return fields


def option_specs(specs: list[str]) -> dict[str, Any]:
    """``--option scale=0.5`` -> {"scale": 0.5} (`actgrad decay` and `train`); UsageError on
    a malformed one.

    Args:
        specs: NAME=VALUE strings.

    Returns:
        name -> typed value (`decay_config.literal`).
    """
    from analysis.experiments.decay_config import literal
    from analysis.util.errors import UsageError

    out = {}
    for spec in specs:
        name, sep, value = (s.strip() for s in spec.partition("="))
        if not sep or not name:
            raise UsageError(f"--option expects NAME=VALUE, got {spec!r}")
        out[name] = literal(value)
    return out


def options(specs: list[str]) -> dict[str, Any]:
    """`option_specs`, refusing a training field given as a cell option.

    Args:
        specs: NAME=VALUE strings.

    Returns:
        name -> typed value.
    """
    from analysis.experiments.train_config import RUN_FIELDS
    from analysis.util.errors import UsageError

    out = option_specs(specs)
    for name in out:
        if name in RUN_FIELDS:
            flag = name.replace("_", "-")
            raise UsageError(f"--option {name}: a training field, not a cell option; use --{flag}")
    return out


def base_record(args: argparse.Namespace, defaults: Any) -> dict[str, Any]:
    """The flat record of the run the flags describe (before --compare).

    Args:
        args: the parsed flags.
        defaults: ``TrainConfig()`` (its run fields fill what was not given).

    Returns:
        {run field: value, "cell": name, and only the cell flags and --option values given}.
    """
    from analysis.experiments.train_config import RUN_FIELDS

    base = {k: getattr(defaults, k) for k in RUN_FIELDS}
    given = {k: getattr(args, k) for k in (*_RUN_FLAGS, *_CELL_FLAGS)}
    base.update({k: v for k, v in given.items() if v is not None})
    base.update(options(args.option))
    return {**base, "cell": args.cell}


def label(record: dict[str, Any], compared: list[str]) -> str:
    """A variant's name: the compared fields, the cell's name first when it is not LSTM.

    Args:
        record: the variant's stored config (`TrainConfig.to_dict`) or its flat fields.
        compared: the --compare fields (empty: candidate and output).

    Returns:
        e.g. "candidate=relu, output=tanh", "cell=gru", "rnn: candidate=relu".
    """
    from analysis.cells import flat_config

    record = flat_config(record)
    fields = compared or ["candidate", "output"]
    text = ", ".join(f"{f}={record[f]}" for f in fields if f in record)
    cell = record.get("cell", "lstm")
    if "cell" in compared or cell == "lstm":
        return text
    return f"{cell}: {text}" if text else cell
