"""`actgrad list`: the registered activations, their parameters, properties and kinks."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "list the activation kernels with their properties"

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags: optional kernel names, --json FILE."""
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help='kernels to list (default: all), or "formula:EXPR", e.g. "formula:z/(1+|z|)"',
    )
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")


def check_json_path(path: str | None) -> None:
    """UsageError (exit 2, one line) unless ``path`` can be written; run before any work."""
    if not path:
        return
    from analysis.util.errors import UsageError
    from analysis.util.io import ensure_writable_dir

    p = Path(path)
    try:
        if p.is_dir():
            raise UsageError(f"--json {path!r} is a directory")
        ensure_writable_dir(p.parent)
    except UsageError as err:
        if "is a directory" in str(err):
            raise
        raise UsageError(f"--json {path!r} cannot be written (directory not writable)") from None
    except OSError as err:  # e.g. a file name longer than the file system allows
        raise UsageError(f"--json {path[:60]!r}...: cannot be written ({err.strerror})") from None


def rows(names: list[str] | None = None) -> list[dict]:
    """One dict per kernel of ``names`` (default: every registered one), default params."""
    import kernels

    out = []
    for name in names or kernels.names():
        act = kernels.get(name)
        p = act.properties
        out.append(
            {
                "name": name,
                "params": dict(act.params),
                "range": list(p.range),
                "bounded": p.bounded,
                "monotonic": p.monotonic,
                "zero_centered": p.zero_centered,
                "saturating": p.saturating,
                "saturates_where": p.saturates_where,
                "max_abs_grad": p.max_abs_grad,
                "lipschitz": p.lipschitz,
                "f_prime_at_zero": p.f_prime_at_zero,
                "jax_nn_twin": act.jax_nn is not None,
                "grad_from_output": act.grad_from_output is not None,
                "expression": kernels.expression_of(name),
                "kinks": [
                    {
                        "at": k.at,
                        "order": k.order,
                        "left": k.left,
                        "right": k.right,
                        "convention": k.convention,
                        "jax_nn": k.jax_nn,
                        "reason": k.reason,
                    }
                    for k in act.kinks
                ],
            }
        )
    return out


def _validate(names: list[str]) -> list[str]:
    import kernels
    from analysis.util.errors import UsageError

    for n in names:
        try:
            kernels.get(n)
        except ValueError as err:
            raise UsageError(str(err)) from None
    return list(dict.fromkeys(names))


def run(args: argparse.Namespace) -> int:
    """Print the kernels with their properties; exit 0."""
    check_json_path(args.json)
    names = _validate(getattr(args, "names", []) or [])
    from analysis.util.io import atomic_write_json

    table = rows(names or None)
    print(
        f"{'name':<13} {'params':<22} {'range':<20} {'bounded':<8} {'monotone':<9} "
        f"{'0-centred':<10} {'max|f`|':<8} {'f`(0)':<7} saturates"
    )
    for r in table:
        lo, hi = r["range"]
        rng = f"({lo:.4g}, {hi:.4g})"
        params = ", ".join(f"{k}={v:g}" for k, v in r["params"].items()) or "-"
        print(
            f"{r['name']:<13} {params:<22} {rng:<20} {r['bounded']!s:<8} "
            f"{r['monotonic']!s:<9} {r['zero_centered']!s:<10} {r['max_abs_grad']:<8.4g} "
            f"{r['f_prime_at_zero']:<7.4g} {r['saturates_where']}"
        )
    print("kinks (value used at the point; one-sided limits; jax.nn's value):")
    for r in table:
        for k in r["kinks"]:
            d = "f'" if k["order"] == 1 else "f''"
            jnn = "-" if k["jax_nn"] is None else f"{k['jax_nn']:g}"
            print(
                f"  {r['name']:<13} {d}({k['at']:g}) = {k['convention']:.4g} "
                f"(left {k['left']:.4g}, right {k['right']:.4g}; jax.nn {jnn}): {k['reason']}"
            )
    if args.json:
        from analysis.util.io import run_metadata

        # an object, not a bare list, so that it carries the schema and the versions
        atomic_write_json(args.json, {"kernels": table, **run_metadata()})
    return 0
