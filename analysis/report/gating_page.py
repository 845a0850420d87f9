"""The "Why gating?" section of the report page: the table, what each design choice buys, the
figure and the commands.

Every comparison sentence is built from two rows of `gating_rows` and says a difference only
where the intervals separate (half-life: bootstrap 95% over seeds; solve rate: Wilson 95%);
otherwise it says "not distinguishable at n = N" with N the seeds behind that number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from analysis._util import stats
from analysis.flow import classify
from analysis.report import gating
from analysis.report import gating_rows as G
from analysis.report.config import ReportConfig

__all__ = ["compare", "findings", "gating_section"]

_GATED = ("lstm", "slstm", "gru")


def _ci(ci: Sequence[float] | None) -> str:
    if ci is None or math.isnan(ci[0]):
        return "n/a"
    est, lo, hi = ci
    if math.isinf(est) and math.isinf(lo):
        return "inf (grows)"
    return f"{stats.fmt(est)} [{stats.fmt(lo)}, {stats.fmt(hi)}]"


def _solved(r: Mapping) -> str:
    if r.get("solved") is None:
        return "not trained"
    _, lo, hi = r["solve_rate_ci"]
    return f"{r['solved']}/{r['n']} [{lo:.2f}, {hi:.2f}]"


def _name(r: Mapping) -> str:
    return f"{r['design']} ({r['activation']})"


def _decay_words(a: Mapping, b: Mapping) -> str:
    n = min(a["decay_seeds"], b["decay_seeds"])
    word = {
        1: "more gradient reaches distant steps",
        -1: "less gradient reaches distant steps",
        0: f"not distinguishable at n = {n}",
    }[G.differs(a, b, "rate_ci")]
    if math.isfinite(a["half_life"]) and math.isfinite(b["half_life"]):
        what = f"half-life {_ci(a['half_life_ci'])} vs {_ci(b['half_life_ci'])} steps"
    else:  # a growing gradient has no half-life: compare the rates themselves
        what = f"rate/step {_rate(a['rate_ci'])} vs {_rate(b['rate_ci'])}"
    return f"{a['flow']} vs {b['flow']}, {what}, {word}"


def _rate(ci: Sequence[float]) -> str:
    return f"{ci[0]:+.3g} [{ci[1]:+.3g}, {ci[2]:+.3g}]"


def compare(a: Mapping, b: Mapping) -> str:
    """One sentence comparing two gating rows on decay and on training.

    Formula: decay: a difference when the bootstrap 95% intervals of the per-seed rates r
    (ln ||dL/dh_t|| per step back) separate, "more gradient reaches distant steps" for the
    higher r, else "not distinguishable at n = decay seeds"; half-lives shown where both are
    finite (ln 2 / -r is monotone in r, so the order is the same), rates otherwise. Training:
    "more"/"fewer seeds" solved when the Wilson 95% intervals separate, else "not
    distinguishable at n = training seeds".

    Args:
        a, b: rows of `gating_rows.gating_rows`.

    Returns:
        e.g. "lstm (tanh) against rnn (tanh): vanishing vs vanishing, half-life 12 [10, 14] vs
        2.7 [2.5, 2.9] steps, more gradient reaches distant steps; solved 8/8 [0.68, 1.00] vs
        0/8 [0.00, 0.32], more seeds".
    """
    text = f"{_name(a)} against {_name(b)}: {_decay_words(a, b)}"
    if a.get("solved") is None or b.get("solved") is None:
        return text + "; training: not trained"
    sv = G.differs(a, b, "solve_rate_ci")
    n_t = min(a["n"], b["n"])
    sv_word = {1: "more seeds", -1: "fewer seeds", 0: f"not distinguishable at n = {n_t}"}[sv]
    return text + f"; solved {_solved(a)} vs {_solved(b)}, {sv_word}"


def _pairs(rows: Sequence[Mapping], pairs: Sequence[tuple[str, str, str, str]]) -> list[str]:
    out = []
    for da, aa, db, ab in pairs:
        a, b = G.find(rows, da, aa), G.find(rows, db, ab)
        if a is not None and b is not None:
            out.append(compare(a, b))
    return out


def _bullet(head: str, clauses: Sequence[str], tail: str = "") -> list[str]:
    return [f"{head} {'; '.join(clauses)}.{tail}"] if clauses else []


def _squash(rows: Sequence[Mapping], acts: Sequence[str]) -> list[str]:
    other = "lstm-noout" if G.find(rows, "lstm-noout", acts[0]) else "gru"
    caveat = (
        ""
        if other == "lstm-noout"
        else " The GRU differs from the LSTM in more than the squash: this is the comparison "
        "these designs allow, not an ablation."
    )
    hmax = [f"{_name(r)} {stats.fmt(r['h_max'])}" for r in rows if r["design"] in ("lstm", other)]
    tail = f" Largest |h_t| at initialisation: {', '.join(hmax)}.{caveat}" if hmax else ""
    return _bullet(
        f"The output squash (tanh on c) against none ({other}):",
        _pairs(rows, [("lstm", a, other, a) for a in acts]),
        tail,
    )


def _gate_range(cfg: ReportConfig, rows: Sequence[Mapping]) -> list[str]:
    relu = [r for r in rows if r["activation"] == "relu"]
    classes = "; ".join(f"{r['design']} {r['flow_text']}" for r in relu)
    tail = f" Gradient flow with ReLU in the candidate: {classes}." if relu else ""
    return _bullet(
        "The gate range, read from the swap (only slstm changes a gate's range, in the next "
        "bullet), tanh -> ReLU in each design's candidate (the recurrent activation of rnn and "
        "irnn):",
        _pairs(rows, [(d, "relu", d, "tanh") for d in cfg.gating_designs]),
        tail,
    )


def _exponential(rows: Sequence[Mapping], acts: Sequence[str]) -> list[str]:
    fin = [r for r in rows if r["design"] == "slstm"]
    tail = ""
    if fin:
        bad = [_name(r) for r in fin if not r["finite"]]
        tail = (
            f" Non-finite gradient or state in {', '.join(bad)}."
            if bad
            else f" Every sLSTM seed stayed finite at T = {fin[0]['T_decay']}"
        )
        tail += " (max |state| " + ", ".join(f"{_name(r)} {stats.fmt(r['max_state'])}" for r in fin)
        tail += ")."
    return _bullet(
        "The exponential input gate with its stabiliser (slstm against lstm):",
        _pairs(rows, [("slstm", a, "lstm", a) for a in acts]),
        tail,
    )


def findings(cfg: ReportConfig, rows: Sequence[Mapping]) -> list[str]:
    """What each design choice buys, one bullet per choice, from the measured rows only.

    Choices: the additive cell path (lstm, slstm, gru against rnn), an identity init instead
    of gates (irnn), the output squash (lstm against lstm-noout, else gru), the gate range
    (tanh -> ReLU within each design, and each design's class with ReLU), the exponential
    input gate with its stabiliser (slstm against lstm). Each comparison is `compare`'s.

    Args:
        cfg: the report (designs, activations); rows: `gating_rows.gating_rows`.

    Returns:
        bullets (a choice is left out when the designs it needs were not run).
    """
    acts = cfg.gating_activations
    out = _bullet(
        "The additive (gated) cell path, same orthogonal init and same activation:",
        _pairs(rows, [(g, a, "rnn", a) for a in acts for g in _GATED]),
    )
    out += _bullet(
        "An identity recurrent init instead of gates (IRNN):",
        _pairs(rows, [("irnn", "relu", "rnn", "relu"), ("irnn", "relu", "lstm", "tanh")]),
    )
    return out + _squash(rows, acts) + _gate_range(cfg, rows) + _exponential(rows, acts)


def _table(rows: Sequence[Mapping]) -> dict:
    body = [
        [
            r["design"],
            r["activation"],
            _ci(r["half_life_ci"]),
            f"{r['rate']:+.4f}",
            classify.per_100_steps(r["rate"]),
            r["flow"],
            stats.fmt(r["max_state"]),
            _solved(r),
            _ci(r["steps_to_solve"]),
            r["outcome"] or "-",
        ]
        for r in rows
    ]
    headers = ["design", "candidate", "half-life (steps) [95% CI]", "rate/step"]
    headers += ["per 100 steps", "gradient flow", "max |state|", "solved [Wilson 95%]"]
    headers += ["steps to solve: median [IQR]", "outcome"]
    return {"kind": "table", "headers": headers, "rows": body}


def _intro(cfg: ReportConfig, measured: Mapping) -> str:
    reused = measured.get("reused", {})
    notes = "; ".join(f"{n}: {gating.design(n).note}" for n in cfg.gating_designs)
    return (
        f"The same swap, tanh -> ReLU in the candidate slot, in each cell design ({notes}). "
        f"Decay at initialisation: T = {cfg.gating_decay_length}, H = {cfg.decay_hidden}, batch "
        f"{cfg.decay_batch}, {cfg.decay_seeds} seeds, loss 0.5 mean ||h_T||^2; classes as "
        f"stated above. Training: the adding problem at T = {cfg.gating_length} with the "
        f"training section's budget ({cfg.train_seeds} seeds, at most {cfg.train_steps} steps, "
        f"lr {cfg.train_lr:g}, batch {cfg.train_batch}, H = {cfg.train_hidden}); the forget "
        f"bias b_f = {cfg.train_forget_bias:g} goes to the gate that keeps the old state (LSTM "
        "and sLSTM forget gate, GRU update gate). The LSTM rows are the decay and training "
        f"stages' own cells where they measured them ({reused.get('decay', 0)} decay and "
        f"{reused.get('train', 0)} training cells reused, none run twice). A difference is "
        "claimed only where the 95% intervals separate. This section's stage took "
        f"{measured.get('seconds', math.nan):.1f} s."
    )


def _flags(cfg: ReportConfig, d: gating.Design) -> str:
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


def _commands(cfg: ReportConfig) -> list[str]:
    acts = ",".join(cfg.gating_activations)
    designs = [gating.design(n) for n in cfg.gating_designs]
    lines = [
        f"actgrad decay {_flags(cfg, d)} --length {cfg.gating_decay_length} --hidden "
        f"{cfg.decay_hidden} --batch {cfg.decay_batch} --seeds {cfg.decay_seeds} "
        f"--lyapunov-k {cfg.lyapunov_k} --compare candidate={acts}"
        for d in designs
    ]
    common = (
        f"--steps {cfg.train_steps} --batch {cfg.train_batch} --hidden {cfg.train_hidden} "
        f"--lr {cfg.train_lr:g} --eval-every {cfg.train_eval_every} "
        f"--test-batch {cfg.train_test_batch} --seeds {cfg.train_seeds} --stop-when-solved"
    )
    lines.append("")
    lines += [
        f"actgrad train --task adding --length {cfg.gating_length} {_flags(cfg, d)} {common} "
        f"--snapshots {gating.snapshots(cfg, d)} --compare candidate={acts}"
        for d in designs
    ]
    return lines


def gating_section(cfg: ReportConfig, measured: Mapping, figs: Sequence[tuple[str, str]]) -> dict:
    """The "Why gating?" section.

    Args:
        cfg: the report; measured: {"rows": `gating_rows.gating_rows`, "reused":
            `gating.run_gating`'s {"decay": k, "train": k}, "seconds": the stage's time};
            figs: [(stem, caption)] of the gating figure.

    Returns:
        {"heading", "blocks"}: intro text, the table, the findings list, the figure, the
        decay commands.
    """
    rows = measured["rows"]
    blocks = [{"kind": "text", "text": _intro(cfg, measured)}, _table(rows)]
    blocks.append({"kind": "list", "items": findings(cfg, rows)})
    # the page's figure block (page.figure_block), built here: page imports this module
    blocks += [
        {"kind": "figure", "png": f"{s}.png", "svg": f"{s}.svg", "caption": c} for s, c in figs
    ]
    blocks.append({"kind": "code", "lines": _commands(cfg)})
    return {"heading": "Why gating? The same swap in other cell designs", "blocks": blocks}
