"""The `actgrad` command line (also `python -m analysis`).

Each subcommand lives in `analysis/cli/commands/<name>.py` with ``HELP``, ``add_arguments(p)``
and ``run(args) -> int``. A user's mistake (UsageError, or an argparse error) becomes one
line on stderr and exit code 2, before any work starts; a bug keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analysis.runtime import configure_xla
from analysis.runtime.devices import use_device
from analysis.runtime.lock import output_lock
from analysis.util.errors import UsageError

__all__ = ["COMMANDS", "OneLineParser", "build_parser", "join_raw_values", "main"]

# command name -> module under analysis.cli.commands
COMMANDS = {
    "list": "list_cmd",
    "verify": "verify_cmd",
    "check-formula": "check_formula_cmd",
    "decay": "decay_cmd",
    "train": "train_cmd",
    "report": "report_cmd",
    "bench": "bench_cmd",
    "reproduce": "reproduce_cmd",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one stderr line and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Exit 2 with ``actgrad ...: error: MESSAGE`` as the only line."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _available_commands() -> dict[str, object]:
    mods = {}
    for name, module in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"analysis.cli.commands.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"analysis.cli.commands.{module}":
                raise
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """The `actgrad` parser with one subparser per command, and command name -> module."""
    parser = OneLineParser(
        prog="actgrad",
        description="Measure why LSTMs use sigmoid gates and tanh cells, and what swaps do.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    mods = _available_commands()
    for name, mod in mods.items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
    return parser, mods


def join_raw_values(argv: Sequence[str], mods: dict[str, object]) -> list[str]:
    """``--df -1/z^2`` -> ``--df=-1/z^2`` for the options a command lists in
    ``RAW_VALUE_OPTIONS`` (argparse would take a value starting with '-' for an option)."""
    argv = list(argv)
    cmd = next((i for i, tok in enumerate(argv) if tok in mods), None)
    if cmd is None:
        return argv
    raw = getattr(mods[argv[cmd]], "RAW_VALUE_OPTIONS", ())
    out, i = argv[: cmd + 1], cmd + 1
    while i < len(argv):
        if argv[i] in raw and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (2 for a user's mistake, 130 interrupted).

    Args:
      argv: the arguments after ``actgrad`` (default: ``sys.argv[1:]``).
    """
    # first, before anything can start JAX: XLA reads its flags once (analysis.runtime)
    configure_xla()
    parser, mods = build_parser()
    argv = join_raw_values(sys.argv[1:] if argv is None else argv, mods)
    # argparse (3.11) drops a "--" value of `--seeds=--` and stores [] as the option's value
    empty = next((a for a in argv if a.startswith("--") and a.endswith("=--")), None)
    if empty is not None:
        parser.error(f"argument {empty[:-3]}: expected one value, got '--'")
    args = parser.parse_args(argv)
    try:
        from analysis.runtime import pool

        pool.default_processes()  # a malformed $ACTGRAD_PROCESSES is refused before any work
    except ValueError as err:
        print(f"actgrad {args.command}: error: {err}", file=sys.stderr)
        return 2
    try:
        if getattr(args, "device", None) is not None:
            # before any work: a platform this machine lacks is the user's mistake (exit 2)
            use_device(args.device)
    except UsageError as err:
        print(f"actgrad {args.command}: error: {err}", file=sys.stderr)
        return 2
    try:
        # One run per --out (a lock file; a killed run's lock is taken over) and a full
        # disk as one line: analysis.runtime.lock (issue 14).
        with output_lock(args):
            return int(mods[args.command].run(args) or 0)
    except UsageError as err:
        print(f"actgrad {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("actgrad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `actgrad list | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
