"""CPU benchmark of LSTM forward+backward against the installed peers -> a BENCHMARKS.md section.

python scripts/bench_lstm.py [--shapes S1,S2,S3] [--repeats 7] [--out BENCHMARKS.lstm.md]
                             [--json bench.json] [--no-rss]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from analysis.bench import peers as bench
from analysis.util.io import atomic_write_json, atomic_write_text


@dataclass(frozen=True)
class Config:
    shapes: tuple[str, ...] = bench.CPU_SHAPES
    repeats: int = 7
    out: str = "BENCHMARKS.lstm.md"
    json: str | None = None
    rss: bool = True


def parse(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default=",".join(Config.shapes))
    p.add_argument("--repeats", type=int, default=Config.repeats)
    p.add_argument("--out", default=Config.out)
    p.add_argument("--json", default=None)
    p.add_argument("--no-rss", action="store_true")
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error("--repeats must be >= 1")
    try:
        shapes = bench.parse_shapes(a.shapes)
    except ValueError as err:
        p.error(str(err))
    return Config(shapes, a.repeats, a.out, a.json, not a.no_rss)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    bcfg = bench.BenchConfig(
        shapes=cfg.shapes,
        repeats=cfg.repeats,
        rss_shape=bench.BenchConfig.rss_shape if cfg.rss else None,
    )
    result = bench.run_bench(bcfg, progress=lambda m: print(m, file=sys.stderr, flush=True))
    text = bench.to_markdown(result, title="LSTM forward+backward speed (CPU)")
    atomic_write_text(cfg.out, text + "\n")
    if cfg.json:
        atomic_write_json(cfg.json, result)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
