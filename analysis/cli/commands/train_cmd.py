"""`actgrad train`: optax training of a recurrent cell on a long-range task (or a sweep of them).

The cell is the LSTM by default, or any cell of `analysis.cells` (``--cell gru``, options by
``--option NAME=VALUE``; ``--init`` is its initializer, ``--gate/--candidate/--output/
--forget-bias`` its slots and options where it has them, and only when given: `train_fields`).
``--compare cell=lstm,gru,rnn`` compares cells. Writes OUT/results.jsonl (one line per finished
variant, its config `TrainConfig.to_dict()`: the cell and all its options; a rerun resumes),
OUT/train.json (config, versions, device, per-step metrics per seed, final_test_loss,
solved_step, diverged_at, flow_snapshots, wall time), OUT/train.png|svg (test loss, task
baseline, band over seeds) and OUT/grad_norm.png|svg. A diverging run is a result: one line on
stderr, exit 0. ``--task digits|trace|acsf1`` classifies real sequences (`analysis.data`; T is
the data's, ``--delay`` adds blank steps to digits): each seed's test accuracy on the whole
test split, with its Wilson 95% interval, is in train.json and printed.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from analysis.cli.commands.train_fields import (
    ALIASES,
    COMPARE_FIELDS,
    add_cell_arguments,
    add_floss_arguments,
    base_record,
    clip_value,
    label,
)
from analysis.cli.device_option import add_device_argument

HELP = (
    "train an LSTM variant (or any cell: --cell gru) on the adding or copy task, or on real "
    "sequences (digits, trace, acsf1), with optax"
)

__all__ = [
    "COMPARE_FIELDS",
    "DEFAULT_OUT",
    "DEFAULT_SNAPSHOTS",
    "HELP",
    "add_arguments",
    "run",
    "settle_snapshots",
    "train_variant",
]

DEFAULT_OUT = "results/train"
DEFAULT_SNAPSHOTS = 20


def _task_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--task",
        default="adding",
        help="adding | adding1997 | copy; real data: digits | trace | acsf1 (default adding)",
    )
    p.add_argument(
        "--length", type=int, default=100, help="sequence length T (copy: delay; real data: theirs)"
    )
    p.add_argument(
        "--delay",
        type=int,
        default=None,
        help="digits only: blank steps after the image before the label (T = 64 + delay)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `actgrad train`, added to its parser p."""
    _task_arguments(p)
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
    add_cell_arguments(p)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01)")
    p.add_argument(
        "--clip",
        type=clip_value,
        default=None,
        help="gradient clipping threshold; none, off or 0: no clipping (default)",
    )
    p.add_argument(
        "--clip-by",
        dest="clip_by",
        default=None,
        help="global_norm (optax.clip_by_global_norm, default) | value (optax.clip, each entry)",
    )
    p.add_argument("--optimizer", default="adam", help="adam | rmsprop | sgd (default adam)")
    add_floss_arguments(p)
    p.add_argument("--seeds", type=int, default=1, help="number of seeds 0..N-1 (default 1)")
    p.add_argument("--eval-every", type=int, default=None, help="steps between test losses")
    p.add_argument("--test-batch", type=int, default=None, help="held-out batch size")
    p.add_argument(
        "--snapshots",
        type=int,
        default=None,
        help=f"gradient-flow snapshots during training, evenly spaced over the evaluation steps "
        f"(every --eval-every steps, and the last); default {DEFAULT_SNAPSHOTS}, or one at each "
        "evaluation step when there are fewer; more than there are is refused; 0: none",
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
        help=f"sweep a field (repeatable); fields: {', '.join(COMPARE_FIELDS)}, cell, and "
        "any slot or option of a cell",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    add_device_argument(p)


def _normalise(spec: str) -> str:
    name, sep, rest = spec.partition("=")
    name = name.strip().replace("-", "_")
    return f"{ALIASES.get(name, name)}{sep}{rest}"


def run(args: argparse.Namespace) -> int:
    """Validate every cell (exit 2 on a bad one), then train them; 0 on completion.

    Args:
        args: the parsed flags.

    Returns:
        the exit status.
    """
    from analysis.util.errors import UsageError, as_usage_error
    from analysis.util.io import ensure_writable_dir

    with as_usage_error():
        from analysis.cli.commands.train_fields import compare_fields
        from analysis.experiments import sweep
        from analysis.experiments.train import TrainConfig

        if args.seeds < 1:
            raise UsageError(f"--seeds must be a positive integer, got {args.seeds}")
        compare = sweep.parse_compare([_normalise(s) for s in args.compare], compare_fields())
        grid = sweep.expand_grid(base_record(args, TrainConfig()), compare)
        # Each run's canonical record: what results.jsonl keys and train.json shows.
        cells = [TrainConfig.from_dict(cell).to_dict() for cell in grid]
        given = args.snapshots is not None or "snapshots" in compare
        cells = [settle_snapshots(cell, given) for cell in cells]
        _check_memory(cells, args.seeds)
        out = ensure_writable_dir(args.out)
        sweep.initialize_distributed()
    from analysis.runtime import compile_cache

    compile_cache.enable()
    seeds = list(range(args.seeds))
    compared = list(compare)
    return _work(cells, seeds, compared, out)


def settle_snapshots(cell: dict, given: bool) -> dict:
    """A variant's snapshot count: the user's, if training has that many evaluation steps
    to take them at; else, not given, `DEFAULT_SNAPSHOTS` or as many as there are.

    Snapshots are taken where training stops to evaluate (`snapshots.schedule`): every
    ``eval_every`` steps and at the end, so 200 steps at eval_every 50 have 5 such points.

    Args:
        cell: a `TrainConfig.to_dict()` record; given: the user set ``snapshots``.

    Returns:
        the record with its ``snapshots`` settled.

    Raises:
        UsageError: more snapshots were asked for than there are evaluation steps.
    """
    from analysis.experiments.snapshots import schedule
    from analysis.experiments.train import TrainConfig
    from analysis.util.errors import UsageError

    def count(n: int) -> int:
        return len(schedule(TrainConfig.from_dict({**cell, "snapshots": n})))

    if given:
        n, got = cell["snapshots"], count(cell["snapshots"])
        if got < n:
            every = min(cell["eval_every"], cell["steps"])
            raise UsageError(
                f"--snapshots {n}: snapshots are taken where training stops to evaluate, and "
                f"{cell['steps']} steps at --eval-every {every} have {got} such points; ask "
                f"for at most {got}, or give a smaller --eval-every"
            )
        return cell
    n = DEFAULT_SNAPSHOTS
    while n > 0 and count(n) < n:  # the largest count up to the default that is honoured
        n -= 1
    return TrainConfig.from_dict({**cell, "snapshots": n}).to_dict()


def _check_memory(cells: list[dict], n_seeds: int) -> None:
    """UsageError (one line) if the variants that may train at once cannot fit in memory.

    Args:
        cells: the variants' `TrainConfig.to_dict()` records; n_seeds: seeds per variant.
    """
    from analysis.cli.commands import memory_check
    from analysis.experiments.train import TrainConfig

    def describe(big: TrainConfig, k: int) -> str:
        task = big.task_spec()
        return (
            f"train variant {big.cell} on {big.task} T={task.length}, "
            f"H={big.hidden_size}, batch {big.batch} (test {task.test_size or big.test_batch}) "
            f"x {n_seeds} seed(s)" + (f", {k} variants at once" if k > 1 else "")
        )

    configs = [TrainConfig.from_dict(c) for c in cells]
    advice = "reduce --length, --delay, --hidden, --batch, --test-batch, --steps or --seeds"
    memory_check.check_sweep(configs, n_seeds, describe, advice)


def train_variant(cell: dict, seeds: list[int], compared: tuple[str, ...] = ()) -> dict:
    """Train one variant (a sweep cell) and say on stderr where a seed's loss went non-finite.

    Args:
        cell: a `TrainConfig.to_dict()` record; seeds: trained together; compared: the
            ``--compare`` fields (for the label).

    Returns:
        `train.train`'s result without "config".
    """
    from analysis.experiments.train import TrainConfig, train

    name = label(cell, list(compared))
    result = train(TrainConfig.from_dict(cell), seeds, desc=name)
    result.pop("config")
    where = [
        f"step {s['diverged_at']} (seed {s['seed']})"
        for s in result["per_seed"]
        if s["diverged_at"] is not None
    ]
    if where:
        print(
            f"actgrad train: {name}: non-finite loss, training stopped at "
            f"{', '.join(where)}; metrics up to it are kept",
            file=sys.stderr,
        )
    return result


def _work(cells: list[dict], seeds: list[int], compared: list[str], out: Any) -> int:
    import time

    from analysis import plot
    from analysis.experiments import sweep
    from analysis.util import io
    from analysis.util.constants import DEFAULT_COMPILE_WORKERS

    t0 = time.perf_counter()
    # A module-level function: on CPU, variants train in two worker processes (sweep.run).
    run_cell = functools.partial(train_variant, compared=tuple(compared))
    records = sweep.run(
        cells, seeds, run_cell, out, desc="variants", workers=DEFAULT_COMPILE_WORKERS
    )
    import jax

    if jax.process_index() != 0:
        return 0  # process 0 writes the summary and the figures
    variants = [
        {"label": label(r["config"], compared), "config": r["config"], **r["result"]}
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
    figure_config = {"compare": compared, "seeds": seeds}
    io.save_figure(plot.test_loss(variants).figure, out, "train", figure_config)
    io.save_figure(plot.grad_norm(variants).figure, out, "grad_norm", figure_config)
    _print_summary(variants, out)
    return 0


def _accuracy_text(seed: dict) -> str:
    low, high = seed["test_accuracy_ci"]
    return (
        f"{seed['test_accuracy']:.3f} ({seed['test_correct']}/{seed['test_n']}, "
        f"95% CI {low:.3f}-{high:.3f})"
    )


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
        accuracy = [_accuracy_text(s) for s in v["per_seed"] if "test_accuracy" in s]
        if accuracy:
            print(f"{v['label']}: test accuracy per seed {'; '.join(accuracy)}")
    print(f"wrote {out}/train.json, train.png, grad_norm.png")
