"""`actgrad check-formula`: does a claimed derivative equal d/dz of a formula?"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from analysis._util.errors import UsageError

HELP = "check a claimed derivative against jax.grad of a formula (exit 0 match, 1 mismatch)"

_PARAM = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)=(.+)$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--f", required=True, metavar="EXPR", help='the function, e.g. "1/(1+exp(-z))"')
    p.add_argument("--df", required=True, metavar="EXPR", help="the claimed derivative d/dz f")
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
    from analysis.checks.formula_parse import FormulaError, parse

    params = _params(args.param)
    lo, hi = args.domain
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError(f"--domain must be finite, got {lo:g} {hi:g}")
    if lo >= hi:
        raise UsageError(f"--domain needs LO < HI, got {lo:g} {hi:g}")
    for flag, text in (("--f", args.f), ("--df", args.df)):
        try:
            parse(text, params)
        except FormulaError as err:
            raise UsageError(f"{flag}: {err}") from None
    if args.json:
        _check_json_path(args.json)
    return params, (lo, hi)


def _g(v: float) -> str:
    return f"{v:.10g}"


def run(args: argparse.Namespace) -> int:
    params, domain = _validate(args)

    from analysis._util.io import atomic_write_json, run_metadata
    from analysis.checks.formula import check_formula

    res = check_formula(args.f, args.df, params, domain)
    lo, hi = res.domain
    if res.matches:
        print(
            f"match: df = d/dz f on [{lo:g}, {hi:g}] at {res.n_compared} points; "
            f"max abs err {res.max_abs_err:.3g}, max rel err {res.max_rel_err:.3g} "
            f"(worst z = {res.worst_z:g})"
        )
    elif res.n_compared == 0:
        print(f"cannot check: nothing is finite on [{lo:g}, {hi:g}]")
    else:
        print(
            f"MISMATCH: df != d/dz f on [{lo:g}, {hi:g}] "
            f"({sum(n for *_, n in res.mismatch_regions)} of {res.n_compared} points wrong)"
        )
        print(f"  {'z':>22} {'claimed df':>22} {'true d/dz f':>22}")
        for z, claimed, true in res.counterexamples:
            print(f"  {_g(z):>22} {_g(claimed):>22} {_g(true):>22}")
        regions = ", ".join(f"[{a:g}, {b:g}]" for a, b, _ in res.mismatch_regions[:5])
        if regions:
            print(f"  wrong on z in {regions}")
    for k in res.kinks:
        print(
            f"kink at z = {k['z']:g}: left {_g(k['left'])}, right {_g(k['right'])}, "
            f"df there {_g(k['claimed'])} -> {k['verdict']}"
            + (" (f jumps)" if k["f_jumps"] else "")
        )
    if res.overflow:
        print(f"overflow (not counted as wrong): {res.overflow_note}")
    if res.unsure:
        z, c, g, fd = res.unsure[0]
        print(
            f"unsure at {len(res.unsure)} point(s) where jax.grad and finite differences "
            f"disagree, e.g. z = {z:g}: df {_g(c)}, jax.grad {_g(g)}, differences {_g(fd)}"
        )
    for note in res.notes:
        print(f"note: {note}")
    print(f"tolerance: {res.tolerance}")
    if args.json:
        atomic_write_json(args.json, {"result": res, **run_metadata()})
    return 0 if res.matches else 1
