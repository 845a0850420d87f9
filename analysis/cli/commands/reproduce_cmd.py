"""`actgrad reproduce`: rerun a published result with actgrad's code and say whether it agrees.

``actgrad reproduce --list`` names them; ``actgrad reproduce NAME [--full | --report |
--tiny] [--out DIR]`` prints the paper's setting, the published numbers, ours with their
tolerance or interval, whether they agree, the seeds, and every way our setting differs, and
writes DIR/NAME.json and DIR/NAME.png / .svg.
"""

from __future__ import annotations

import argparse

HELP = "rerun a published result (--list names them) and compare with the paper's numbers"

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags: NAME, --list, --full, --report or --tiny, --out."""
    from analysis.reproduce import REPRODUCTIONS

    times = "; ".join(
        f"{r.name}: about {r.expected_s[0]:.0f} s, --full {r.expected_s[1] / 60:.0f} min"
        for r in REPRODUCTIONS
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the reproduction (see --list)")
    p.add_argument("--list", action="store_true", help="name every reproduction and stop")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--full", action="store_true", help=f"the paper's larger setting (on 2 cores: {times})"
    )
    size.add_argument(
        "--tiny", action="store_true", help="a smoke test in seconds (numbers meaningless)"
    )
    reports = "; ".join(f"{r.name}: about {r.report_s:.0f} s" for r in REPRODUCTIONS)
    size.add_argument(
        "--report",
        action="store_true",
        help=f"the generated report's cut, a check of the pipeline ({reports})",
    )
    p.add_argument("--out", default="reproduce", help="output folder (default reproduce/)")


def run(args: argparse.Namespace) -> int:
    """List, or run one reproduction; 0 on success, UsageError (exit 2) on bad input."""
    from analysis import reproduce
    from analysis.util.errors import UsageError
    from analysis.util.io import ensure_writable_dir

    if args.list:
        for r in reproduce.REPRODUCTIONS:
            print(f"{r.name}: {r.paper}")
        return 0
    if args.name is None:
        raise UsageError(f"name a reproduction; valid: {', '.join(reproduce.names())}")
    try:
        r = reproduce.get(args.name)
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = ensure_writable_dir(args.out)
    import jax

    if r.float64:  # the spectra are float64 (this process only); training runs in float32
        jax.config.update("jax_enable_x64", True)
    from analysis.util.progress import progress

    preset = "full" if args.full else "tiny" if args.tiny else "default"
    preset = "report" if args.report else preset
    with progress(total=r.steps(preset), desc=r.name, unit="run") as bar:
        got = reproduce.run(r.name, preset, bar=bar)
    _write(out, got, r.figure)
    _print(got)
    return 0


def _write(out, got: dict, figure) -> None:
    from analysis.util.io import atomic_write_json, save_figure

    atomic_write_json(out / f"{got['name']}.json", got)
    save_figure(figure(got["result"]).figure, out, got["name"])


def _agrees(value: bool | None) -> str:
    return "n/a" if value is None else "yes" if value else "NO"


def _print_rows(rows: list[dict]) -> None:
    if all("se" in row for row in rows):  # numbers with a standard error and a tolerance
        print("  where    summary            published   ours (N)              tolerance  agrees")
        for row in rows:
            print(
                f"  {row['where']:<8} {row['summary']:<18} {row['published']:>+10.4f}  "
                f"{row['ours']:>+9.4f} ± {2 * row['se']:.4f} ({row['ours_n']})  "
                f"{row['tolerance']:>9.4f}  {_agrees(row['agrees'])}"
            )
        return
    # any other comparison: each row says its own published value and interval in words
    print("  where | summary | published | ours [interval] | agrees")
    for row in rows:
        print(
            f"  {row['where']} | {row['summary']} | {row['published_text']} | "
            f"{row['ours_text']} | {_agrees(row['agrees'])}"
        )
    methods = sorted({row["interval"] for row in rows})
    print(f"  intervals: {'; '.join(methods)}")


def _print(got: dict) -> None:
    print(f"{got['name']}: {got['paper']}")
    print(f"  paper's setting: {got['setting']}")
    print(f"  compared: {got['compared']}")
    _print_rows(got["result"]["rows"])
    seeds = got["result"].get("seeds")
    if seeds is not None:
        print(f"  seeds: {', '.join(str(s) for s in seeds)}")
    print("  how our setting differs:")
    for d in got["differences"]:
        print(f"    - {d}")
