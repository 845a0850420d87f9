"""`actgrad check-formula`: does a claimed derivative equal d/dz of a formula?"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from analysis.util.errors import UsageError

HELP = "check a claimed derivative exactly, in 50+ digits (exit 0 match, 1 mismatch)"
# Options whose value is a formula: "--df -1/z^2" is the formula -1/z^2, not an option.
RAW_VALUE_OPTIONS = ("--f", "--df", "--d2f")

__all__ = ["HELP", "RAW_VALUE_OPTIONS", "add_arguments", "run"]

_PARAM = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)=(.+)$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags: --f, --df, --d2f, --param, --domain, --points, --dtype, --json."""
    p.add_argument("--f", required=True, metavar="EXPR", help='the function, e.g. "1/(1+exp(-z))"')
    p.add_argument("--df", required=True, metavar="EXPR", help="the claimed derivative d/dz f")
    p.add_argument("--d2f", metavar="EXPR", help="a claimed second derivative, checked too")
    p.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="dtype of the numerical-safety lines (default float32; --json holds both)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a named constant used in the formulas, e.g. k=0.01 (repeatable)",
    )
    p.add_argument(
        "--domain",
        nargs=2,
        type=float,
        default=(-20.0, 20.0),
        metavar=("LO", "HI"),
        help="interval of z to check (default -20 20)",
    )
    p.add_argument(
        "--points",
        type=int,
        default=24_001,
        metavar="N",
        help="grid and random test points (default 24001; special points come on top)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")


def _params(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        m = _PARAM.match(item.strip())
        if m is None:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE, e.g. k=0.01")
        name, text = m.groups()
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"--param {name}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise UsageError(f"--param {name}: value must be finite, got {text}")
        if name in out:
            raise UsageError(f"--param {name} given twice")
        out[name] = value
    return out


def _check_json_path(path: str) -> None:
    try:
        _check_json_target(path)
    except OSError as err:  # e.g. a file name longer than the file system allows
        raise UsageError(f"--json {path[:60]!r}...: cannot be written ({err.strerror})") from None


def _check_json_target(path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--json {path!r} is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"--json {path!r} cannot be written: {str(parent)!r} is not a writable directory"
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"--json {path!r} cannot be written: permission denied")


def _validate(args: argparse.Namespace) -> tuple[dict[str, float], tuple[float, float]]:
    from kernels.formula import FormulaError, parse

    params = _params(args.param)
    lo, hi = args.domain
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError(f"--domain must be finite, got {lo:g} {hi:g}")
    if lo >= hi:
        raise UsageError(f"--domain needs LO < HI, got {lo:g} {hi:g}")
    if args.points < 100:
        raise UsageError(f"--points must be >= 100, got {args.points}")
    for flag, text in (("--f", args.f), ("--df", args.df), ("--d2f", args.d2f)):
        if text is None:
            continue
        try:
            parse(text, params)
        except FormulaError as err:
            raise UsageError(f"{flag}: {err}") from None
    if args.json:
        _check_json_path(args.json)
    return params, (lo, hi)


def _g(v: float) -> str:
    return f"{v:.10g}"


def _print_verdict(res, label: str = "df", what: str = "d/dz f") -> None:
    lo, hi = res["domain"]
    if res["matches"]:
        print(
            f"match: {label} = {what} on [{lo:g}, {hi:g}] at {res['n_compared']} points "
            f"(50-digit oracle); max abs err {res['max_abs_err']:.3g}, max rel err "
            f"{res['max_rel_err']:.3g} (worst z = {res['worst_z']:g})"
        )
    elif res["n_compared"] == 0:
        print(f"cannot check {label}: nothing is finite on [{lo:g}, {hi:g}]")
    else:
        n_wrong = sum(n for *_, n in res["mismatch_regions"])
        print(
            f"MISMATCH: {label} != {what} on [{lo:g}, {hi:g}] "
            f"({n_wrong} of {res['n_compared']} points wrong)"
        )
        print(f"  {'z':>22} {'claimed ' + label:>22} {'true ' + what:>22}")
        for z, claimed, true in res["counterexamples"]:
            print(f"  {_g(z):>22} {_g(claimed):>22} {_g(true):>22}")
        regions = ", ".join(f"[{a:g}, {b:g}]" for a, b, _ in res["mismatch_regions"][:5])
        if regions:
            print(f"  wrong on z in {regions}")
    for k in res["kinks"]:
        print(
            f"kink at z = {k['z']:g}: left {_g(k['left'])}, right {_g(k['right'])}, "
            f"{label} there {_g(k['claimed'])} -> {k['verdict']}"
            + (" (f jumps)" if k["f_jumps"] else "")
        )
    if res["unsure"]:
        z, c, t = res["unsure"][0]
        print(
            f"unsure at {len(res['unsure'])} point(s) where 800 digits do not settle the "
            f"values, e.g. z = {z:g}: {label} {_g(c)}, true {_g(t)}"
        )


def _print_cross(res, dtype: str) -> None:
    for row in res.cross_checks.values():
        off = f"; off by > 1e-8 for {row['off_where']}" if row["n_off"] else ""
        print(
            f"cross-check {row['method']} (float64) vs exact: max rel err "
            f"{row['max_rel_err']:.3g} at z = {row['worst_z']:g}{off}"
        )
    for line in res.safety_text(dtype):
        print(f"safety ({dtype}): {line}")


def run(args: argparse.Namespace) -> int:
    """Check df (and d2f) against f exactly; exit 0 match, 1 mismatch, 2 bad input."""
    params, domain = _validate(args)

    from analysis.checks.formula import check_formula
    from analysis.util.io import atomic_write_json, run_metadata

    res = check_formula(args.f, args.df, params, domain, d2f=args.d2f, n_points=args.points)
    first = {k: getattr(res, k) for k in (
        "domain", "matches", "n_compared", "max_abs_err", "max_rel_err", "worst_z",
        "counterexamples", "mismatch_regions", "kinks", "unsure")}  # fmt: skip
    first["matches"] = res.df_matches
    _print_verdict(first)
    if res.second is not None:
        _print_verdict({**res.second, "domain": res.domain}, "d2f", "d2/dz2 f")
    for note in res.readings:
        print(f"read: {note}")
    if res.overflow:
        print(f"overflow in float64 (not counted as wrong): {res.overflow_note}")
    _print_cross(res, args.dtype)
    for note in res.notes:
        print(f"note: {note}")
    print(f"tolerance: {res.tolerance}")
    if args.json:
        atomic_write_json(args.json, {"result": res, **run_metadata()})
    return 0 if res.matches else 1
