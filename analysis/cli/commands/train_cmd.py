"""`actgrad train`: optax training of an LSTM variant on a long-range task (or a sweep of them).

Writes OUT/results.jsonl (one line per finished variant; a rerun resumes), OUT/train.json
(config, versions, device, per-step metrics per seed, final_test_loss, solved_step,
diverged_at, flow_snapshots, wall time), OUT/train.png|svg (test loss, task baseline, band over seeds) and
OUT/grad_norm.png|svg. A diverging run is a result: one line on stderr, exit 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "train an LSTM variant on the adding or copy task with optax"

__all__ = ["COMPARE_FIELDS", "DEFAULT_OUT", "HELP", "add_arguments", "run"]

DEFAULT_OUT = "results/train"


def _clip(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return float(text)


def _str(text: str) -> str:
    return text.strip()


# --compare FIELD -> converter of one value; fields are TrainConfig's.
COMPARE_FIELDS = {
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
    "clip": _clip,
    "optimizer": _str,
    "snapshots": int,
}
ALIASES = {"hidden": "hidden_size"}  # --compare hidden=... as spelled by the --hidden flag


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `actgrad train`.

    Args:
        p: the subcommand's parser.
    """
    p.add_argument("--task", default="adding", help="adding | adding1997 | copy (default adding)")
    p.add_argument("--length", type=int, default=100, help="sequence length T (copy: delay)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default 2000)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 64)")
    p.add_argument(
        "--hidden",
        "--hidden-size",
        dest="hidden_size",
        type=int,
        default=None,
        help="hidden units H (default 64)",
    )
    p.add_argument("--gate", default="sigmoid", help="gate activation (i, f, o)")
    p.add_argument("--candidate", default="tanh", help="candidate activation (g)")
    p.add_argument("--output", default="tanh", help="output activation, applied to c_t")
    p.add_argument("--forget-bias", type=float, default=1.0, help="added to b_f at init")
    p.add_argument("--init", default="orthogonal", help="orthogonal | uniform | chrono")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01)")
    p.add_argument(
        "--clip",
        type=_clip,
        default=None,
        help="clip_by_global_norm threshold; none, off or 0: no clipping (default)",
    )
    p.add_argument("--optimizer", default="adam", help="adam | rmsprop | sgd (default adam)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds 0..N-1 (default 1)")
    p.add_argument("--eval-every", type=int, default=None, help="steps between test losses")
    p.add_argument("--test-batch", type=int, default=None, help="held-out batch size")
    p.add_argument(
        "--snapshots",
        type=int,
        default=20,
        help="gradient-flow snapshots during training, evenly spaced (default 20; 0: none)",
    )
    p.add_argument(
        "--stop-when-solved",
        action="store_true",
        default=None,
        help="end a variant once every seed has solved the task (or diverged)",
    )
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="FIELD=A,B",
        help=f"sweep a field (repeatable); fields: {', '.join(COMPARE_FIELDS)}",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")


def _base_config(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict

    from analysis.experiments.train import TrainConfig

    base = asdict(TrainConfig())
    given = {
        "task": args.task,
        "length": args.length,
        "steps": args.steps,
        "batch": args.batch,
        "hidden_size": args.hidden_size,
        "gate": args.gate,
        "candidate": args.candidate,
        "output": args.output,
        "forget_bias": args.forget_bias,
        "init": args.init,
        "lr": args.lr,
        "clip": args.clip,
        "optimizer": args.optimizer,
        "eval_every": args.eval_every,
        "test_batch": args.test_batch,
        "stop_when_solved": args.stop_when_solved,
        "snapshots": args.snapshots,
    }
    base.update({k: v for k, v in given.items() if v is not None})
    return base


def _normalise(spec: str) -> str:
    name, sep, rest = spec.partition("=")
    name = name.strip().replace("-", "_")
    return f"{ALIASES.get(name, name)}{sep}{rest}"


def _label(cell: dict[str, Any], compared: list[str]) -> str:
    fields = compared or ["candidate", "output"]
    return ", ".join(f"{f}={cell[f]}" for f in fields)


def run(args: argparse.Namespace) -> int:
    """Validate every cell (exit 2 on a bad one), then train them; 0 on completion.

    Args:
        args: the parsed flags.

    Returns:
        the exit status.
    """
    from analysis._util.errors import UsageError, as_usage_error
    from analysis._util.io import ensure_writable_dir

    with as_usage_error():
        from analysis.experiments import sweep
        from analysis.experiments.train import TrainConfig

        if args.seeds < 1:
            raise UsageError(f"--seeds must be a positive integer, got {args.seeds}")
        compare = sweep.parse_compare([_normalise(s) for s in args.compare], COMPARE_FIELDS)
        cells = sweep.expand_grid(_base_config(args), compare)
        for cell in cells:
            TrainConfig(**cell)
        out = ensure_writable_dir(args.out)
        sweep.initialize_distributed()
    from analysis.experiments import compile_cache

    compile_cache.enable()
    seeds = list(range(args.seeds))
    compared = list(compare)
    return _work(cells, seeds, compared, out)


def _work(cells: list[dict], seeds: list[int], compared: list[str], out: Any) -> int:
    import time

    from analysis._util import io
    from analysis._util.constants import DEFAULT_COMPILE_WORKERS
    from analysis.experiments import sweep
    from analysis.experiments.train import TrainConfig, train
    from analysis.report import train_plots

    def run_cell(cell: dict, cell_seeds: list[int]) -> dict:
        label = _label(cell, compared)
        result = train(TrainConfig(**cell), cell_seeds, desc=label)
        result.pop("config")
        where = [
            f"step {s['diverged_at']} (seed {s['seed']})"
            for s in result["per_seed"]
            if s["diverged_at"] is not None
        ]
        if where:
            print(
                f"actgrad train: {label}: non-finite loss, training stopped at "
                f"{', '.join(where)}; metrics up to it are kept",
                file=sys.stderr,
            )
        return result

    t0 = time.perf_counter()
    # The next variant compiles while this one trains.
    records = sweep.run(
        cells, seeds, run_cell, out, desc="variants", workers=DEFAULT_COMPILE_WORKERS
    )
    import jax

    if jax.process_index() != 0:
        return 0  # process 0 writes the summary and the figures
    variants = [
        {"label": _label(r["config"], compared), "config": r["config"], **r["result"]}
        for r in records
    ]
    meta = io.run_metadata()
    summary = {
        "command": "train",
        "compare": compared,
        "seeds": seeds,
        **meta,
        "wall_s": time.perf_counter() - t0,
        "variants": variants,
    }
    sweep.write_summary(out, "train", summary)
    train_plots.plot_test_loss(variants, out, {"compare": compared, "seeds": seeds})
    train_plots.plot_grad_norm(variants, out, {"compare": compared, "seeds": seeds})
    _print_summary(variants, out)
    return 0


def _print_summary(variants: list[dict], out: Any) -> None:
    for v in variants:
        solved = [s["solved_step"] for s in v["per_seed"]]
        final = [s["final_test_loss"] for s in v["per_seed"]]
        div = [s["diverged_at"] for s in v["per_seed"]]
        print(
            f"{v['label']}: final test loss {', '.join(f'{float(x):.3g}' for x in final)} "
            f"(baseline {v['baseline']:.3g}); solved at step {solved}; diverged at {div}; "
            f"{v['wall_s']:.1f} s"
        )
    print(f"wrote {out}/train.json, train.png, grad_norm.png")
