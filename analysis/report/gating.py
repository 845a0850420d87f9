"""The report's "Why gating?" stage: one tanh -> ReLU swap across recurrent cell designs.

Each design of ``cfg.gating_designs`` (`DESIGNS`) gets every ``cfg.gating_activations`` in its
candidate slot, and each (design, activation) is measured twice: gradient decay at
initialisation (the decay stage's sweep, T = ``gating_decay_length``) and training on the
adding problem (the training stage's budget, T = ``gating_length``). The LSTM cells are the
report's own: a cell whose config equals one the decay or training stage already measured is
taken from that stage's records, never run twice. Everything else goes through
`analysis.experiments.sweep` under ``out/gating_decay`` and ``out/gating_train`` (resumable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from analysis.report import stages, variants
from analysis.report.config import ReportConfig

__all__ = [
    "DESIGNS",
    "Design",
    "commands",
    "decay_cells",
    "design",
    "run_gating",
    "snapshots",
    "train_cells",
]


class Design(NamedTuple):
    """One cell design: its report name, `analysis.cells` name, fixed options and a note.

    ``bias`` names the option that takes the report's forget bias (``train_forget_bias``:
    the LSTM's b_f, the sLSTM's forget bias, the GRU's update-gate bias, the gate that keeps
    h_{t-1} in PyTorch's convention), or "" for a design without such a gate.
    """

    name: str
    cell: str
    options: tuple[tuple[str, Any], ...]
    bias: str
    note: str


DESIGNS: tuple[Design, ...] = (
    Design("rnn", "rnn", (("initializer", "orthogonal"),), "", "Elman RNN, orthogonal U"),
    Design(
        "irnn",
        "rnn",
        (("initializer", "identity"), ("scale", 1.0)),
        "",
        "Elman RNN, U = I (IRNN, Le et al. 2015)",
    ),
    Design("gru", "gru", (), "update_bias", "GRU: h a convex combination, no output activation"),
    Design("lstm", "lstm", (("output", "tanh"),), "forget_bias", "LSTM: additive c, tanh on c"),
    Design(
        "lstm-noout",
        "lstm",
        (("output", "identity"),),
        "forget_bias",
        "LSTM without the output squash (NOAF)",
    ),
    Design(
        "slstm",
        "slstm",
        (("forget", "sigmoid"),),
        "forget_bias",
        "sLSTM: exponential input gate, stabiliser m, normaliser n (Beck et al. 2024)",
    ),
)


def design(name: str) -> Design:
    """The design called `name`.

    Args:
        name: one of `DESIGNS`' names.

    Returns:
        the Design; ValueError listing the valid names if unknown.
    """
    return variants.lookup(DESIGNS, name, "design")


def _fields(cfg: ReportConfig, d: Design, activation: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"cell": d.cell, **dict(d.options), "candidate": activation}
    if d.bias:
        fields[d.bias] = float(cfg.train_forget_bias)
    return fields


def decay_cells(cfg: ReportConfig) -> list[dict]:
    """The stored decay config of every (design, activation), design-major.

    The fields of `stages.decay_cell` (input size 1, ``decay_hidden``, ``decay_batch``, loss
    "last", ``lyapunov_k``) at T = ``gating_decay_length``, so an LSTM cell equals the decay
    stage's own when that stage measured it.

    Args:
        cfg: the report.

    Returns:
        `DecayConfig.to_dict()` records, len(designs) * len(activations).
    """
    from analysis.experiments.decay_config import DecayConfig

    run = {
        "input_size": 1,
        "hidden_size": cfg.decay_hidden,
        "length": cfg.gating_decay_length,
        "batch": cfg.decay_batch,
        "loss": "last",
        "lyapunov_k": cfg.lyapunov_k,
    }
    return [
        DecayConfig.from_dict({**_fields(cfg, design(n), a), **run}).to_dict()
        for n in cfg.gating_designs
        for a in cfg.gating_activations
    ]


def snapshots(cfg: ReportConfig, d: Design) -> int:
    """Gradient-flow snapshots per training run of design `d`: the training stage's count for
    an LSTM (so that its cells can be that stage's own), else none: the section reads none
    (its flow column is the decay at initialisation), and a cell's snapshot program compiled
    in 6-11 s to run in under 1 s (default report, cold: 48 of the stage's 279 training
    cell-seconds).

    Args:
        cfg: the report; d: the design.

    Returns:
        the count.
    """
    return cfg.train_snapshots if d.cell == "lstm" else 0


def train_cells(cfg: ReportConfig, lr: float) -> list[dict]:
    """The stored training config of every (design, activation) at rate `lr`, design-major.

    An LSTM design whose slots are a report variant is `stages.train_cell` itself (the training
    stage's exact config, so its records are reused where the rates agree); every other design
    gets the same task, length, budget, clipping and evaluation through
    ``TrainConfig.from_dict``, with `snapshots`' count.

    Args:
        cfg: the report; lr: the learning rate (each cell's search replaces it).

    Returns:
        `TrainConfig.to_dict()` records, len(designs) * len(activations).
    """
    from analysis.experiments.train import TrainConfig

    budget = {
        "task": "adding",
        "length": int(cfg.gating_length),
        "steps": cfg.steps_at(cfg.gating_length),
        "batch": cfg.train_batch,
        "hidden_size": cfg.train_hidden,
        "lr": float(lr),
        "clip": cfg.train_clip,
        "eval_every": cfg.train_eval_every,
        "test_batch": cfg.train_test_batch,
        "stop_when_solved": True,
    }
    cells = []
    for n in cfg.gating_designs:
        d = design(n)
        for a in cfg.gating_activations:
            variant = f"{a}/{dict(d.options).get('output')}"
            if d.cell == "lstm" and variant in variants.names():
                cells.append(stages.train_cell(cfg, variant, cfg.gating_length, lr))
            else:
                fields = {**_fields(cfg, d, a), **budget, "snapshots": snapshots(cfg, d)}
                cells.append(TrainConfig.from_dict(fields).to_dict())
    return cells


def run_gating(
    cfg: ReportConfig,
    out: Path,
    decay_records: Sequence[Mapping] = (),
    train_records: Sequence[Mapping] = (),
) -> dict:
    """Measure every (design, activation): decay at initialisation and training.

    Args:
        cfg: the report; out: the report directory.
        decay_records, train_records: the decay and training stages' records (reused where
            a gating cell has the same config and seeds).

    Returns:
        {"decay": records, "tune": search records, "train": records} aligned with
        `decay_cells` / `train_cells` (design-major, activations inner), "reused":
        {"decay": k, "train": k}. Training follows the training stage's protocol
        (`stages.fair_training`): each (design, activation) searches its own rate at
        ``gating_length``.
    """
    from analysis.experiments import decay

    drecs, d_reused = stages.reuse_or_run(
        decay_cells(cfg),
        decay_records,
        range(cfg.decay_seeds),
        decay.run_cell,
        out / "gating_decay",
        "gating decay",
    )
    # one search per (design, activation), in `train_cells` order; its evaluation is the same
    # cell at the rate it chose
    names = [f"{n} ({a})" for n in cfg.gating_designs for a in cfg.gating_activations]
    searches = dict(zip(names, train_cells(cfg, cfg.lr_grid[0]), strict=True))

    def evaluations(name: str, lr: float) -> list[dict]:
        return [train_cells(cfg, lr)[names.index(name)]]

    tuned, trecs = stages.fair_training(
        cfg, searches, evaluations, out / "gating", "gating training", known=train_records
    )
    t_reused = sum(any(r is k for k in train_records) for r in trecs)
    return {
        "decay": drecs,
        "tune": tuned,
        "train": trecs,
        "reused": {"decay": d_reused, "train": t_reused},
    }


def _flags(cfg: ReportConfig, d: Design) -> str:
    """The cell flags of `actgrad decay` / `actgrad train` for one design."""
    flags = [f"--cell {d.cell}"]
    for k, v in d.options:
        if k == "initializer":
            flags.append(f"--init {v}")
        elif k == "output":  # an LSTM slot with its own flag
            flags.append(f"--output {v}")
        else:
            flags.append(f"--option {k}={v}")
    if d.bias == "forget_bias":
        flags.append(f"--forget-bias {cfg.train_forget_bias:g}")
    elif d.bias:
        flags.append(f"--option {d.bias}={float(cfg.train_forget_bias)!r}")
    return " ".join(flags)


def commands(cfg: ReportConfig, rates: Sequence[float]) -> list[str]:
    """The `actgrad decay` and `actgrad train` lines that make this stage's cells.

    Args:
        cfg: the report; rates: each (design, activation)'s chosen learning rate, in
            `train_cells` order.

    Returns:
        one decay line per design, a blank line, one train line per (design, activation) at
        its chosen rate (the search itself: ``actgrad report``).
    """
    acts = ",".join(cfg.gating_activations)
    designs = [design(n) for n in cfg.gating_designs]
    lines = [
        f"actgrad decay {_flags(cfg, d)} --length {cfg.gating_decay_length} --hidden "
        f"{cfg.decay_hidden} --batch {cfg.decay_batch} --seeds {cfg.decay_seeds} "
        f"--lyapunov-k {cfg.lyapunov_k} --compare candidate={acts}"
        for d in designs
    ]
    common = (
        f"--steps {cfg.steps_at(cfg.gating_length)} --batch {cfg.train_batch} --hidden "
        f"{cfg.train_hidden} --clip {cfg.train_clip:g} --eval-every {cfg.train_eval_every} "
        f"--test-batch {cfg.train_test_batch} --seeds {cfg.train_seeds} --stop-when-solved"
    )
    lines.append("")
    pairs = [(d, a) for d in designs for a in cfg.gating_activations]
    for i, ((d, a), lr) in enumerate(zip(pairs, rates, strict=True)):
        snaps = train_cells(cfg, lr)[i]["snapshots"]
        lines.append(
            f"actgrad train --task adding --length {cfg.gating_length} {_flags(cfg, d)} "
            f"--candidate {a} --lr {lr!r} {common} --snapshots {snaps}"
        )
    return lines
