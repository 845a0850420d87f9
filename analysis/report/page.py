"""The report page as a structure of sections and blocks (rendered by `report.render`).

Blocks: text, list, table, figure, code. Every figure `figures.write_figures` wrote is placed
in exactly one section, so the page shows every figure written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis._util import stats
from analysis.flow import classify
from analysis.report import answer, gating_page
from analysis.report import rows as R
from analysis.report.config import ReportConfig

__all__ = ["assemble", "command", "figure_block", "reproduce_commands"]


def figure_block(stem: str, caption: str) -> dict:
    """A figure block: PNG shown, SVG linked.

    Args:
        stem: file name without extension; caption: the text under it.

    Returns:
        {"kind": "figure", "png", "svg", "caption"}.
    """
    return {"kind": "figure", "png": f"{stem}.png", "svg": f"{stem}.svg", "caption": caption}


def command(cfg: ReportConfig) -> str:
    """The command that makes this report.

    Args:
        cfg: the report.

    Returns:
        e.g. "actgrad report --quick".
    """
    if cfg.preset == "default":
        return "actgrad report"
    if cfg.preset in ("quick", "full"):
        return f"actgrad report --{cfg.preset}"
    return f"actgrad report --preset {cfg.preset}"


def _ci(ci: Sequence[float]) -> str:
    est, lo, hi = ci
    if math.isnan(est):
        return "n/a"
    if math.isinf(est) and math.isinf(lo):
        return "inf (grows)"
    return f"{stats.fmt(est)} [{stats.fmt(lo)}, {stats.fmt(hi)}]"


def _solve_cell(r: Mapping | None) -> str:
    if r is None:
        return "not trained"
    _, lo, hi = r["solve_rate_ci"]
    return f"{r['solved']}/{r['n']} [{lo:.2f}, {hi:.2f}]"


def _decay_section(cfg: ReportConfig, drows, trows) -> dict:
    table = []
    for r in drows:
        t = R.find(trows, r["variant"], T=cfg.train_length)
        table.append(
            [
                r["variant"],
                r["forget_bias"],
                r["flow"],
                _ci(r["half_life_ci"]),
                f"{r['rate']:+.4f}",
                classify.per_100_steps(r["rate"]),
                f"{r['lyapunov_max']:+.4f}",
                stats.fmt(r["max_abs_c"]),
                _solve_cell(t) if r["forget_bias"] == cfg.train_forget_bias else "-",
            ]
        )
    text = (
        f"{classify.THRESHOLDS_TEXT} Half-life: steps for ||dL/dh_t|| to halve going back from "
        f"T = {cfg.decay_length} (median over {cfg.decay_seeds} seeds, bootstrap 95% interval in "
        "brackets; inf = the gradient grows). Lyapunov: largest exponent of the (h, c) step map "
        f"(positive = perturbations grow). Adding problem: seeds solved at T = {cfg.train_length} "
        "with a Wilson 95% interval on the rate."
    )
    headers = ["candidate/output", "b_f", "gradient flow", "half-life (steps)", "rate/step"]
    headers += ["per 100 steps", "Lyapunov max", "max |c|", "adding problem solved"]
    return {
        "heading": "Gradient flow at initialisation: every variant at every forget bias",
        "blocks": [
            {"kind": "text", "text": text},
            {"kind": "table", "headers": headers, "rows": table},
        ],
    }


def _length_section(cfg: ReportConfig, trows, lrows, figs) -> dict:
    lengths = sorted(cfg.train_lengths)
    table = []
    for lr in lrows:
        cells = [_solve_cell(lr["by_length"][t]) for t in lengths]
        table.append(
            [lr["variant"], *cells, lr["longest_solved"] or "none", lr["first_fails"] or "none"]
        )
    main = []
    for r in trows:
        if r["T"] != cfg.train_length:
            continue
        outcomes = ", ".join(f"{o} {r['outcomes'].count(o)}" for o in dict.fromkeys(r["outcomes"]))
        main.append(
            [
                r["variant"],
                _solve_cell(r),
                _ci(r["steps_to_solve"]),
                outcomes,
                stats.fmt(r["final_test_loss"]),
            ]
        )
    text = (
        f"Adding problem, {cfg.train_seeds} seeds per cell, at most {cfg.train_steps} Adam steps "
        f"(lr {cfg.train_lr:g}, batch {cfg.train_batch}, H = {cfg.train_hidden}, b_f = "
        f"{cfg.train_forget_bias:g}), solved = test MSE < 0.01; k/n [Wilson 95% interval]. A "
        f"variant solves a length when at least {R.SOLVES_AT:.0%} of its seeds do; a longer "
        "length is trained only while the previous one was solved by at least one seed "
        "('not trained' after that)."
    )
    blocks = [{"kind": "text", "text": text}]
    blocks.append(
        {
            "kind": "table",
            "headers": [
                "candidate/output",
                *(f"T = {t}" for t in lengths),
                "longest solved",
                "first fails",
            ],
            "rows": table,
        }
    )
    blocks.append(
        {
            "kind": "table",
            "headers": [
                f"candidate/output (T = {cfg.train_length})",
                "solved [95% CI]",
                "steps to solve: median [IQR]",
                "outcomes",
                "final test MSE (median)",
            ],
            "rows": main,
        }
    )
    blocks += [figure_block(s, c) for s, c in figs.get("training", [])]
    return {"heading": "Training: sequence length as an axis", "blocks": blocks}


def _flow_section(cfg: ReportConfig, frows, figs) -> dict:
    table = []
    for r in frows:
        idx = sorted({0, len(r["steps"]) // 2, len(r["steps"]) - 1})
        hl = "; ".join(
            f"step {r['steps'][i]}: {_ci(r['half_life_ci'][i])} ({r['flow'][i]})" for i in idx
        )
        table.append(
            [
                r["variant"],
                r["T"],
                hl,
                f"{r['lyapunov_max'][0]:+.3f} -> {r['lyapunov_max'][-1]:+.3f}",
                f"{stats.fmt(r['max_abs_c'][0])} -> {stats.fmt(r['max_abs_c'][-1])}",
            ]
        )
    blocks = [
        {
            "kind": "text",
            "text": f"At {cfg.train_snapshots} evenly spaced training steps, on one fixed held-out "
            "batch: ln ||dL/dh_t|| for every t (probe loss 0.5 mean ||h_T||^2), its fitted "
            "half-life, the largest Lyapunov exponent and max |c|. A run that stops early "
            "(solved or diverged) ends with a snapshot of its last state.",
        },
        {
            "kind": "table",
            "headers": [
                "candidate/output",
                "T",
                "half-life [95% CI] (first, middle, last)",
                "Lyapunov max first -> last",
                "max |c| first -> last",
            ],
            "rows": table,
        },
    ]
    blocks += [figure_block(s, c) for s, c in figs.get("flow", [])]
    return {"heading": "Gradient flow during training", "blocks": blocks}


def _summary_section(cfg: ReportConfig, drows, trows, lrows, frows, figs) -> dict:
    blocks: list[dict] = [
        {"kind": "list", "items": answer.one_minute(cfg, drows, trows, lrows, frows)}
    ]
    lengths = [f for f in figs.get("training", []) if f[0] == "lengths"]
    if lengths:
        blocks.append(figure_block(*lengths[0]))
    return {"heading": "In one minute", "blocks": blocks}


def _figures_section(figs: Mapping[str, Sequence[tuple[str, str]]]) -> dict:
    shown = [*figs.get("decay", []), *figs.get("telemetry", [])]
    return {"heading": "Figures", "blocks": [figure_block(s, c) for s, c in shown]}


def assemble(cfg: ReportConfig, meta: Mapping[str, Any], data: Mapping[str, Any]) -> dict:
    """The whole page.

    Args:
        cfg: the report; meta: `run_metadata()` (device, versions, compile_cache).
        data: {"verify", "decay", "training", "lengths", "flow", "gating", "costs", "claims",
            "figures", "timings", "cost"} as `build.build` collects them.

    Returns:
        {"title", "subtitle", "sections": [{"heading", "blocks"}]}.
    """
    from analysis.report import page_audit as A

    d, t, lr, f = data["decay"], data["training"], data["lengths"], data["flow"]
    figs = data["figures"]
    sections = [
        _summary_section(cfg, d, t, lr, f, figs),
        {"heading": "The answer", "blocks": answer.compose_answer(cfg, d, t, lr, f)},
        _decay_section(cfg, d, t),
        _length_section(
            cfg, t, lr, {"training": [x for x in figs["training"] if x[0] != "lengths"]}
        ),
        _flow_section(cfg, f, figs),
        gating_page.gating_section(cfg, data["gating"], figs["gating"]),
        _figures_section(figs),
        A.claims_section(data["claims"], meta["device"]),
        A.cost_section(data["costs"], meta["device"]),
        A.gallery_section(figs["gallery"]),
        A.verify_section(data["verify"]),
        A.footer_section(cfg, meta, data["timings"], data["cost"], reproduce_commands(cfg)),
    ]
    return {
        "title": "Why does an LSTM use sigmoid gates and tanh? Measured.",
        "subtitle": f"{command(cfg)}; {meta['device']}",
        "sections": sections,
    }


def reproduce_commands(cfg: ReportConfig) -> list[str]:
    """Shell lines that reproduce every number (the report, then each decay/train sweep).

    Args:
        cfg: the report.

    Returns:
        lines (blank lines between groups).
    """
    from analysis.report.page_audit import variant_flags

    lines = [f"{command(cfg)} --out report", ""]
    fbs = ",".join(f"{fb:g}" for fb in cfg.forget_biases)
    for v in cfg.decay_variants:
        lines.append(
            f"actgrad decay {variant_flags(v)} --length {cfg.decay_length} --hidden "
            f"{cfg.decay_hidden} --batch {cfg.decay_batch} --seeds {cfg.decay_seeds} "
            f"--lyapunov-k {cfg.lyapunov_k} --compare forget_bias={fbs}"
        )
    lines.append("")
    common = (
        f"--steps {cfg.train_steps} --batch {cfg.train_batch} --hidden {cfg.train_hidden} "
        f"--lr {cfg.train_lr:g} --forget-bias {cfg.train_forget_bias:g} --eval-every "
        f"{cfg.train_eval_every} --snapshots {cfg.train_snapshots} --test-batch "
        f"{cfg.train_test_batch} --seeds {cfg.train_seeds} --stop-when-solved"
    )
    for v in cfg.train_variants:
        lines.append(
            f"actgrad train --task adding --length {cfg.train_length} {variant_flags(v)} {common}"
        )
    others = ",".join(str(t) for t in sorted(cfg.train_lengths) if t != cfg.train_length)
    for v in cfg.length_variants:
        lines.append(
            f"actgrad train --task adding {variant_flags(v)} {common} --compare length={others}"
        )
    lines += [
        "",
        "actgrad verify",
        "actgrad check-formula --f '1/(1+exp(-z))' --df '-exp(-z) / 1 + exp(-z)^2'",
    ]
    return lines
