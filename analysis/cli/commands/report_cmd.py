"""`actgrad report`: the main job; everything with defaults, as one page."""

from __future__ import annotations

import argparse

from analysis.cli.device_option import add_device_argument

HELP = "answer the seed question: decay, training, claims audit, figures -> one report"

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `actgrad report`.

    Args:
        p: the subcommand's parser.
    """
    p.add_argument("--out", default="report", help="output directory (default: report/)")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help="fewer variants, seeds and steps (under a minute once compiled programs are cached)",
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="every variant (gate swaps included) searched and trained at T = 50 to 400, a "
        "7-rate grid, 28 seeds, three more settings (b_f = 3, chrono, the 1997 task), decay at "
        "T = 10,000: up to about 2.5 h of training on a 2-core CPU (a default run's page estimates yours)",
    )
    size.add_argument(
        "--preset",
        choices=("tiny", "quick", "default", "full"),
        default=None,
        help="a preset by name (tiny: a smoke test in seconds)",
    )
    p.add_argument(
        "--render",
        metavar="DIR",
        default=None,
        help="re-render DIR/index.html and report.md from DIR/report.json, measuring nothing "
        "(after a template edit, or for a stored --full run)",
    )
    add_device_argument(p)


def run(args: argparse.Namespace) -> int:
    """Build the report into --out; 0 on success, UsageError (exit 2) on bad input.

    Args:
        args: the parsed flags.

    Returns:
        the exit status.
    """
    from analysis.util.errors import UsageError
    from analysis.util.io import ensure_writable_dir

    if args.render is not None:
        from analysis.report.build import render_dir

        try:
            render_dir(args.render)
        except ValueError as e:
            raise UsageError(str(e)) from None
        print(f"rendered {args.render}/index.html and report.md from its report.json")
        return 0
    # --device was applied and checked by analysis.cli.app.main before this ran
    out = ensure_writable_dir(args.out)
    from analysis.report import build as report
    from analysis.runtime import compile_cache

    compile_cache.enable()
    name = args.preset or ("quick" if args.quick else "full" if args.full else "default")
    built = report.build(report.preset(name), out)
    t = built.timings_s["total"]
    print(f"wrote {out}/index.html, report.md, report.json and figures in {t:.0f} s")
    return 0
