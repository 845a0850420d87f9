"""`actgrad verify`: every kernel against jax.grad of its reference, finite differences,
jax.nn and float64, per dtype, with kink conventions. Exit 0 all pass, 1 any fails."""

from __future__ import annotations

import argparse
import math
import sys
import time

HELP = "verify the kernels' derivatives per dtype (exit 1 if any check fails)"
DTYPES = ("float16", "bfloat16", "float32", "float64")

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags: optional kernel names (formula:EXPR too), --json FILE."""
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help='kernels to verify (default: all), or "formula:EXPR", e.g. "formula:z/(1+|z|)"',
    )
    p.add_argument(
        "--dtype",
        action="append",
        choices=DTYPES,
        dest="dtypes",
        help="dtype to check fully (repeatable; default float32 and float64)",
    )
    p.add_argument(
        "--points",
        type=int,
        default=100_000,
        metavar="N",
        help="random points per dtype (default 100000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    p.add_argument("--all-checks", action="store_true", help="print every check, not the worst")


def _validate(args: argparse.Namespace) -> tuple[list[str], tuple[str, ...]]:
    import kernels
    from analysis.cli.commands.list_cmd import check_json_path
    from analysis.util.errors import UsageError

    valid = kernels.names()
    unknown = [n for n in args.names if n not in valid and not n.startswith("formula:")]
    if unknown:
        raise UsageError(
            f"unknown kernel(s) {', '.join(unknown)}; valid: {', '.join(valid)}, or formula:EXPR"
        )
    for n in args.names:
        try:
            kernels.get(n)  # builds a formula kernel; a refused formula is one line
        except ValueError as err:
            raise UsageError(f"{n}: {err}") from None
    if args.points < 1:
        raise UsageError(f"--points must be >= 1, got {args.points}")
    check_json_path(args.json)
    return list(dict.fromkeys(args.names or valid)), tuple(args.dtypes or ("float32", "float64"))


def _fmt(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def run(args: argparse.Namespace) -> int:
    """Verify every named kernel; exit 0 when all pass, 1 on a failure."""
    names, dtypes = _validate(args)

    import kernels
    from analysis.checks import verify
    from analysis.util.io import atomic_write_json, run_metadata
    from analysis.util.progress import progress

    t0 = time.perf_counter()
    reports = [
        verify.verify_activation(
            kernels.get(n), dtypes=dtypes, n_random=args.points, seed=args.seed
        )
        for n in progress(names, desc="verify", total=len(names))
    ]
    seconds = time.perf_counter() - t0

    _print_reports(reports, dtypes, args.all_checks)
    n_fail = sum(not r.passed for r in reports)
    print(f"{len(reports) - n_fail}/{len(reports)} kernels pass in {seconds:.1f} s")
    if args.json:
        atomic_write_json(
            args.json,
            {
                "config": {
                    "names": names,
                    "dtypes": list(dtypes),
                    "points": args.points,
                    "seed": args.seed,
                },
                "seconds": seconds,
                "tolerances": verify.tolerance_text(),
                "passed": n_fail == 0,
                "reports": reports,
                **run_metadata(),
            },
        )
    if n_fail:
        failed = ", ".join(r.kernel for r in reports if not r.passed)
        print(f"actgrad verify: FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


def _print_reports(reports: list, dtypes: tuple[str, ...], all_checks: bool) -> None:
    """The tolerance rules, the worst (or every) row per kernel and dtype, and the kinks."""
    from analysis.checks import verify

    print("tolerances:")
    for k, v in verify.tolerance_text().items():
        print(f"  {k}: {v}")
    head = f"{'kernel':<13} {'dtype':<9} {'check':<34} {'max abs err':>11} {'max rel err':>11} {'worst x':>11} {'atol':>9}  verdict"
    print(head)
    for rep in reports:
        for dtype in dict.fromkeys(r.dtype for r in rep.rows):
            rows = [r for r in rep.rows if r.dtype == dtype]
            shown = rows if all_checks else _worst(rows)
            for r in shown:
                verdict = "pass" if r.passed else "FAIL"
                print(
                    f"{r.kernel:<13} {r.dtype:<9} {r.check:<34} {_fmt(r.max_abs_err):>11} "
                    f"{_fmt(r.max_rel_err):>11} {_fmt(r.worst_x):>11} {_fmt(r.atol):>9}  "
                    f"{verdict}{'  ' + r.note if r.note and not r.passed else ''}"
                )
    print(
        "kinks (derivative at the nearest inputs either side; value used at the point; jax.nn's):"
    )
    for rep in reports:
        for k in rep.kinks:
            if k.dtype != dtypes[-1]:
                continue
            d = "f'" if k.order == 1 else "f''"
            jnn = "-" if k.jax_nn_measured is None else f"{k.jax_nn_measured:g}"
            print(
                f"  {k.kernel:<13} {d}({k.at:g}): left {k.measured_left:.6g} right "
                f"{k.measured_right:.6g} -> {k.value_at_kink:.6g} (jax.nn {jnn})  "
                f"{'ok' if k.ok else 'MISMATCH'}  {k.reason}"
            )


def _worst(rows: list) -> list:
    """Failing rows, or else the numeric check closest to its tolerance."""
    bad = [r for r in rows if not r.passed]
    if bad:
        return bad
    scored = [r for r in rows if not math.isnan(r.worst_ratio)]
    return [max(scored, key=lambda r: r.worst_ratio)] if scored else rows[-1:]
