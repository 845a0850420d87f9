"""The report page's reference sections: seed-claims audit, kernel cost, gallery, kernel
verification, and how the report was made (versions, seeds, stage times, commands)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.report import claims, variants
from analysis.report.config import ReportConfig

__all__ = [
    "claims_section",
    "cost_section",
    "footer_section",
    "gallery_section",
    "variant_flags",
    "verify_section",
]


def _fig(stem: str, caption: str) -> dict:
    return {"kind": "figure", "png": f"{stem}.png", "svg": f"{stem}.svg", "caption": caption}


def claims_section(claim_rows: Sequence[claims.ClaimRow], device: str) -> dict:
    """One row per formula and claim on the seed page.

    Args:
        claim_rows: `claims.audit` rows; device: where the timings ran.

    Returns:
        a page section.
    """
    text = (
        "One row per formula and claim on the seed page (lstm-activations-qa.txt). Formulas "
        "are checked as written by the formula checker (d/dz by jax.grad in float64, "
        f"cross-checked by finite differences); timings ran on {device}."
    )
    return {
        "heading": "Seed claims audit",
        "blocks": [
            {"kind": "text", "text": text},
            {
                "kind": "table",
                "cls": "claims",
                "headers": ["claim (as on the page)", "verdict", "evidence"],
                "rows": [[c.quote, c.verdict, c.evidence] for c in claim_rows],
            },
        ],
    }


def cost_section(costs: Mapping[str, Mapping[str, float]], device: str) -> dict:
    """Elementwise kernel timings against tanh.

    Args:
        costs: `costs.elementwise_costs` output; device: where they ran.

    Returns:
        a page section.
    """
    ref = costs["tanh"]
    rows = [
        [
            name,
            f"{c['ns_per_element_forward']:.3g}",
            f"{c['ns_per_element_fwd_bwd']:.3g}",
            f"{c['forward_s'] / ref['forward_s']:.2f}",
            f"{c['fwd_bwd_s'] / ref['fwd_bwd_s']:.2f}",
        ]
        for name, c in costs.items()
    ]
    first = next(iter(costs.values()))
    text = (
        f"float32, {first['n']:,} values, median of {first['repeats']} interleaved runs, jit, "
        f"compile excluded; device: {device}. Hardware-dependent: on a GPU these elementwise "
        "kernels are memory-bound and cost about the same."
    )
    headers = ["kernel", "ns/element forward", "ns/element fwd+bwd", "forward / tanh"]
    return {
        "heading": "Kernel cost on this machine",
        "blocks": [
            {"kind": "text", "text": text},
            {"kind": "table", "headers": [*headers, "fwd+bwd / tanh"], "rows": rows},
        ],
    }


def gallery_section(figs: Sequence[tuple[str, str]]) -> dict:
    """Every kernel's f, f', f''.

    Args:
        figs: (stem, caption) pairs.

    Returns:
        a page section.
    """
    return {"heading": "Activation gallery", "blocks": [_fig(s, c) for s, c in figs]}


def _kinks(r: Mapping[str, Any]) -> str:
    return (
        "; ".join(
            f"f'({k['at']:g}) := {k['convention']:g} (one-sided {k['left']:g}, {k['right']:g}"
            + (f"; jax.nn gives {k['jax_nn']:g}" if k["jax_nn"] is not None else "")
            + ")"
            for k in r["kinks"]
        )
        or "-"
    )


def verify_section(verify_rows: Sequence[Mapping]) -> dict:
    """Kernel verification summary.

    Args:
        verify_rows: `stages.run_verify` rows.

    Returns:
        a page section.
    """
    rows = [
        [
            r["kernel"],
            "pass" if r["passed"] else "FAIL",
            r["checks"],
            r["worst_check"],
            f"{r['worst_rel_err']:.2g}",
            _kinks(r),
        ]
        for r in verify_rows
    ]
    text = (
        "Hand-written f' and f'' against jax.grad of the textbook formula in float64, finite "
        "differences and jax.nn, in float32 and float64, plus finiteness over every "
        "float16/bfloat16 input (actgrad verify for details)."
    )
    headers = ["kernel", "verdict", "checks", "worst check", "its max rel err", "kinks"]
    return {
        "heading": "Kernel verification",
        "blocks": [
            {"kind": "text", "text": text},
            {"kind": "table", "headers": headers, "rows": rows},
        ],
    }


def footer_section(
    cfg: ReportConfig, meta: Mapping, timings: Mapping, cost: Mapping, commands: list[str]
) -> dict:
    """Versions, device, seeds, stage times, training cost and the commands to reproduce.

    Args:
        cfg: the report; meta: `run_metadata()`; timings: stage -> seconds;
        cost: training cost summary (`build.training_cost`); commands: reproduce lines.

    Returns:
        a page section.
    """
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    items = [
        f"Versions: {versions}",
        f"Device: {meta['device']}",
        f"Seeds: decay {list(range(cfg.decay_seeds))}, training {list(range(cfg.train_seeds))} "
        "(jax.random.key(seed))",
        "Stage times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
        f"Training: {cost['cells']} cells, {cost['seed_steps']:,} seed-steps in "
        f"{cost['train_s']:.1f} s of training programs; gradient-flow snapshots "
        f"{cost['snapshot_s']:.2f} s after their first call ({cost['snapshot_pct']:.1f}% of the "
        f"training time), {cost['snapshot_first_s']:.1f} s in first calls (compiling)",
        f"Compiled programs cached in: {meta.get('compile_cache') or 'off'}",
    ]
    return {
        "heading": "How this was made",
        "blocks": [
            {"kind": "list", "items": items},
            {"kind": "text", "text": "Reproduce every figure and number on this page:"},
            {"kind": "code", "lines": commands},
        ],
    }


def variant_flags(name: str) -> str:
    """--candidate/--output flags of a variant.

    Args:
        name: a `variants` name.

    Returns:
        "--candidate X --output Y".
    """
    v = variants.get(name)
    return f"--candidate {v.candidate} --output {v.output}"
