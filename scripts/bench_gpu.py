"""GPU half of the LSTM benchmark: G1 (B=64,H=512,T=1000), G2 (B=256,H=1024,T=500), G3 (B=1,H=128,
T=10000) against cuDNN's torch.nn.LSTM, in one call of under 8 minutes; prints the table last.

    python scripts/bench_gpu.py [--repeats 5] [--json gpu.json] [--out BENCHMARKS.gpu.md]
    python scripts/bench_gpu.py --tiny     # tiny shapes, runs on CPU (the test uses this)

Rows: torch (cuDNN, tanh only), flax, ours (lstm.apply), fused (lstm.vjp, unroll 1), and the
fused path with unroll 8 (fewer launches per step for the latency-bound G3).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from analysis.bench import peers as bench
from analysis.util.io import atomic_write_json, atomic_write_text

ROWS = (
    bench.Implementation("torch", "torch"),
    bench.Implementation("flax", "flax"),
    bench.Implementation("ours", "ours"),
    bench.Implementation("fused", "fused"),
    bench.Implementation("fused-u8", "fused", unroll=8),
)
EXTRAS = (bench.Implementation("fused-relu", "fused", candidate="relu", output="relu"),)


@dataclass(frozen=True)
class Config:
    tiny: bool = False
    repeats: int = 5
    out: str | None = None
    json: str | None = None


def parse(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny shapes (CPU smoke test)")
    p.add_argument("--repeats", type=int, default=Config.repeats)
    p.add_argument("--out", default=None, help="also write the markdown section here")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error("--repeats must be >= 1")
    return Config(a.tiny, a.repeats, a.out, a.json)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    shapes = ("tiny",) if cfg.tiny else bench.GPU_SHAPES
    bcfg = bench.BenchConfig(
        shapes=shapes,
        repeats=cfg.repeats,
        extras_on=shapes[:1],
        peers=(),
        ours=ROWS,
        extras=EXTRAS,
        rss_shape=None,
    )

    def save(result: dict) -> str:
        text = bench.to_markdown(result, title="LSTM forward+backward speed (GPU)")
        if cfg.out:
            atomic_write_text(cfg.out, text + "\n")
        if cfg.json:
            atomic_write_json(cfg.json, result)
        return text

    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    print(save(bench.run_bench(bcfg, progress=log, on_shape=save)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
