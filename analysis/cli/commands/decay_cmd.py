"""`actgrad decay`: per-step gradient norms, decay fits and Lyapunov exponents, per variant.

Defaults: hidden 64 and batch 16 (a typical small LSTM; 16 sequences make the per-step norm
smooth), length 256 (long enough that a half-life of ~30 steps, the default tanh LSTM with
b_f = 1, spans several decades on the plot, short enough that a 4-variant x 3-seed sweep
runs in well under a minute on a laptop CPU), 3 seeds (a median and a band).
``--inputs trace|acsf1|digits`` drives the cells with real sequences (a batch of the data
set's train split per seed, T and I the data's) instead of N(0, 1) noise; the results record
the data set (its source, version, file and checksum).
"""

from __future__ import annotations

import argparse
import time

from analysis.cli.device_option import add_device_argument

HELP = "per-step gradient norms ||dL/dh_t||, ||dL/dc_t||, decay fits and plots per variant"

ALIASES = {"hidden": "hidden_size"}  # --compare hidden=... as --hidden

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags: every `DecayConfig` field, plus --seeds, --compare, --out."""
    c = p.add_argument_group("cell")
    c.add_argument("--cell", default="lstm", help="recurrent cell (default lstm; see cells)")
    c.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of a non-LSTM cell, e.g. scale=1.0 for rnn (repeatable)",
    )
    g = p.add_argument_group("slots and LSTM fields (LSTM defaults shown; other cells: their own)")
    g.add_argument("--input-size", type=int, default=1, help="input features I (default 1)")
    g.add_argument(
        "--hidden",
        "--hidden-size",
        dest="hidden_size",
        type=int,
        default=64,
        help="hidden units H (default 64)",
    )
    g.add_argument("--gate", default=None, help="gate activation for i, f, o (default sigmoid)")
    g.add_argument("--candidate", default=None, help="candidate activation g (default tanh)")
    g.add_argument("--output", default=None, help="activation applied to c_t (default tanh)")
    g.add_argument(
        "--forget-bias", type=float, default=None, help="added to b_f at init (default 1)"
    )
    g.add_argument("--init", default=None, help="orthogonal | uniform | chrono (rnn: identity too)")
    g.add_argument("--dtype", default="float32", help="float16 | bfloat16 | float32 | float64")
    g.add_argument("--unroll", type=int, default=None, help="scan steps per iteration (default 1)")
    g.add_argument(
        "--remat",
        action="store_const",
        const=True,
        default=None,
        help="recompute steps in the backward pass",
    )
    g.add_argument("--t-max", type=int, default=None, help="longest dependency, for --init chrono")
    _experiment_arguments(p.add_argument_group("experiment"))
    add_device_argument(p)


def _experiment_arguments(r: argparse._ArgumentGroup) -> None:
    r.add_argument(
        "--length", type=int, default=256, help="sequence length T (default 256; data: theirs)"
    )
    r.add_argument(
        "--inputs",
        default="noise",
        help="noise (N(0, 1), default) or real sequences: digits | trace | acsf1",
    )
    r.add_argument("--batch", type=int, default=16, help="sequences per seed (default 16)")
    r.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant (default 3)")
    r.add_argument(
        "--loss", default="last", help="last: 0.5 mean_b ||h_T||^2 (default); mean: over all steps"
    )
    r.add_argument(
        "--lyapunov-k",
        type=int,
        default=4,
        help="Lyapunov exponents to estimate (default 4; 0 skips)",
    )
    r.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="FIELD=A,B,...",
        help="vary a field (repeatable; several make a grid), e.g. candidate=tanh,relu",
    )
    r.add_argument("--out", default="results/decay", help="output folder (default results/decay)")
    r.add_argument(
        "--fail-on-explosion", action="store_true", help="exit 1 if any variant explodes"
    )


def _normalise_spec(spec: str) -> str:
    name, sep, rest = spec.partition("=")
    name = name.strip().replace("-", "_")
    return f"{ALIASES.get(name, name)}{sep}{rest}"


def _cells(args: argparse.Namespace) -> tuple[dict, dict, list[dict]]:
    """(base cell, --compare grid, every cell), all validated: UsageError before any work."""
    from analysis.cli.commands.train_fields import option_specs
    from analysis.experiments import sweep
    from analysis.experiments.decay_config import FIELDS, DecayConfig, field_parsers
    from analysis.util.errors import UsageError, as_usage_error

    base = {name: getattr(args, name) for name in FIELDS if name != "options"}
    base.update(option_specs(args.option))
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    compare = sweep.parse_compare([_normalise_spec(s) for s in args.compare], field_parsers())
    cells = sweep.expand_grid(base, compare)
    with as_usage_error():
        cells = [DecayConfig.from_dict(cell).to_dict() for cell in cells]
    if base["inputs"] != "noise" and not {"inputs", "length"} & set(compare):
        base["length"] = cells[0]["length"]  # the data's T, as every cell has it
    return base, compare, cells


def _check_memory(cells: list[dict], n_seeds: int) -> None:
    """UsageError (one line) if the cells that may run at once cannot fit in memory."""
    from analysis.cli.commands import memory_check
    from analysis.experiments.decay_config import DecayConfig

    def describe(big: DecayConfig, k: int) -> str:
        return (
            f"decay cell {big.cell} T={big.length}, H={big.hidden_size}, batch {big.batch} x "
            f"{n_seeds} seed(s)" + (f", {k} cells at once" if k > 1 else "")
        )

    configs = [DecayConfig.from_dict(c) for c in cells]
    advice = "reduce --length, --hidden, --batch or --seeds"
    memory_check.check_sweep(configs, n_seeds, describe, advice)


def run(args: argparse.Namespace) -> int:
    """Run the sweep of decay cells, write results.jsonl, decay.json and the figures."""
    from analysis.experiments import decay, sweep
    from analysis.util import io

    t_start = time.perf_counter()
    base, compare, cells = _cells(args)
    _check_memory(cells, args.seeds)
    out_dir = io.ensure_writable_dir(args.out)
    sweep.initialize_distributed()

    import jax

    if any(c["dtype"] == "float64" for c in cells):
        jax.config.update("jax_enable_x64", True)
    seeds = list(range(args.seeds))
    # DEFAULT_COMPILE_WORKERS cells at a time: compiling dominates a decay cell, and it
    # overlaps across threads.
    records = sweep.run(cells, seeds, decay.run_cell, out_dir, desc="decay")
    if jax.process_index() != 0:
        return 0  # process 0 writes the summary and the figures
    rows = _write_outputs(out_dir, base, compare, seeds, records, t_start)
    print(decay.format_table(rows))
    print(f"wrote {out_dir}/decay.json, decay.png/.svg, telemetry.png/.svg, results.jsonl")
    exploded = [r["variant"] for r in rows if r["exploded"]]
    if exploded and args.fail_on_explosion:
        print(f"exploded: {'; '.join(exploded)}")
        return 1
    return 0


def _write_outputs(out_dir, base, compare, seeds, records, t_start) -> list[dict]:
    """decay.png/.svg, telemetry.png/.svg and decay.json; returns the summary rows."""
    from analysis import plot
    from analysis.experiments import decay, sweep
    from analysis.util import io

    fields = list(compare)
    labels = [decay.variant_label(r["config"], fields) for r in records]
    rows = decay.summary_rows(records, fields)
    title = _title(base, fields, seeds)
    config = {"base": base, "compare": compare, "seeds": seeds}
    ax = plot.decay(records, label=labels)
    ax.set_title(title, fontsize=9, wrap=True)
    io.save_figure(ax.figure, out_dir, "decay", config)
    fig = plot.telemetry(records, label=labels)
    fig.suptitle(title, fontsize=9, wrap=True)
    io.save_figure(fig, out_dir, "telemetry", config)
    summary = {
        "command": "decay",
        "config": base,
        "compare": compare,
        "seeds": seeds,
        "variants": rows,
        "definitions": DEFINITIONS,
        "timings": {
            "total_s": time.perf_counter() - t_start,
            "cells_s": [float(r["result"]["seconds"]) for r in records],
        },
        **io.run_metadata(),
    }
    sweep.write_summary(out_dir, "decay", summary)
    return rows


DEFINITIONS = {
    "rate": "least-squares slope of ln||dL/dh_t|| per step back from T, median over seeds",
    "half_life": "ln 2 / -rate steps (inf if rate >= 0)",
    "exploded": "non-finite norm or state, rate > 0, or max|c_t| > length",
    "saturated_fraction": "share of i, f, o gate values < 0.01 or > 0.99",
}


def _title(base: dict, fields: list, seeds: list) -> str:
    skip = {"unroll", "remat", "cell", *fields}
    parts = [f"{k}={v}" for k, v in base.items() if k not in skip and v is not None]
    cell = "cells compared" if "cell" in fields else base.get("cell", "lstm").upper()
    return f"{cell} gradient flow, {len(seeds)} seed(s): " + ", ".join(parts)
