"""`actgrad list`: the registered activations and their declared properties."""

from __future__ import annotations

import argparse

HELP = "list the activation kernels with their properties"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")


def run(args: argparse.Namespace) -> int:
    import kernels
    from analysis.io import atomic_write_json

    rows = []
    for name in kernels.names():
        act = kernels.get(name)
        p = act.properties
        rows.append(
            {
                "name": name,
                "params": dict(act.params),
                "range": list(p.range),
                "bounded": p.bounded,
                "monotonic": p.monotonic,
                "zero_centered": p.zero_centered,
                "saturating": p.saturates_where,
                "max_abs_grad": p.max_abs_grad,
                "f_prime_at_zero": p.f_prime_at_zero,
                "kinks": [
                    {"at": k.at, "left": k.left, "right": k.right, "convention": k.convention}
                    for k in act.kinks
                ],
            }
        )
    header = f"{'name':<14} {'range':<16} {'bounded':<8} {'monotone':<9} {'0-centred':<10} {'max|f`|':<8} saturates"
    print(header)
    for r in rows:
        lo, hi = r["range"]
        rng = f"({lo:g}, {hi:g})"
        print(
            f"{r['name']:<14} {rng:<16} {r['bounded']!s:<8} {r['monotonic']!s:<9} "
            f"{r['zero_centered']!s:<10} {r['max_abs_grad']:<8.4g} {r['saturating']}"
        )
    if args.json:
        atomic_write_json(args.json, rows)
    return 0
