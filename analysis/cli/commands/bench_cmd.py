"""`actgrad bench`: LSTM forward+backward speed against the installed peers.

The peers and their worker processes: `analysis.bench.peers`."""

from __future__ import annotations

import argparse
import sys

HELP = (
    "time LSTM forward+backward against torch.nn.LSTM, Flax and Equinox (each in its own process)"
)

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """--shapes, --repeats, --warmup, --out, ..."""
    p.add_argument("--shapes", default="S1,S2,S3", help="comma-separated shapes (default S1,S2,S3)")
    p.add_argument("--repeats", default="7", help="alternating timed rounds (default 7)")
    p.add_argument("--json", metavar="FILE", help="also write every sample and ratio as JSON")
    p.add_argument("--out", metavar="FILE", help="write the markdown section to FILE")
    p.add_argument("--only", metavar="LABELS", help="time only these rows, e.g. torch,fused")
    p.add_argument("--no-rss", action="store_true", help="skip the peak-RSS test at T=100,000")


def _positive_int(name: str, text: str) -> int:
    from analysis.util.errors import UsageError

    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--{name} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise UsageError(f"--{name} must be a positive integer, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Time every installed implementation; write bench.md and bench.json into --out."""
    from pathlib import Path

    from analysis.bench import peers as bench
    from analysis.util.io import atomic_write_json, atomic_write_text, ensure_writable_dir

    shapes = bench.parse_shapes(args.shapes)
    repeats = _positive_int("repeats", args.repeats)
    for path in (args.json, args.out):
        if path:
            ensure_writable_dir(Path(path).resolve().parent)
    cfg = bench.BenchConfig(
        shapes=shapes,
        repeats=repeats,
        rss_shape=None if args.no_rss else bench.BenchConfig.rss_shape,
    )
    if args.only:
        cfg = bench.only(cfg, args.only)
    result = bench.run_bench(cfg, progress=lambda msg: print(msg, file=sys.stderr))
    text = bench.to_markdown(result)
    print(text)
    if args.out:
        atomic_write_text(args.out, text + "\n")
    if args.json:
        atomic_write_json(args.json, result)
    return 0
