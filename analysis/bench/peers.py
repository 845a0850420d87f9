"""LSTM forward+backward speed against the installed peers, one process per implementation.

Every variant runs in its own `analysis.bench.workers` process (JAX and PyTorch slow each
other down in one process). All workers are started and compiled first (compile time is
reported apart), then timed round-robin: each round asks every worker, in a rotated order,
for one forward+backward, so drift in machine load hits all variants alike. Medians (and
minima) over the rounds; the ratio is to torch.nn.LSTM's median on the same shape.

The task is loss = mean(h_t^2) over all steps, gradients for all parameters, float32,
input size I = H (PyTorch's benchmark convention), xs ~ N(0, 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.bench import table
from analysis.bench.shapes import (
    CPU_SHAPES,
    EXTRAS,
    GPU_SHAPES,
    OURS,
    PEERS,
    SHAPES,
    Implementation,
    Shape,
    installed,
    parse_shapes,
)
from analysis.bench.table import targets, to_markdown
from analysis.util.errors import UsageError


def _worker_cmd(variant: Implementation, shape: Shape, extra: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "analysis.bench.workers",
        *variant.worker_args(),
        "--batch",
        str(shape.batch),
        "--hidden",
        str(shape.hidden),
        "--length",
        str(shape.length),
        "--input",
        str(shape.input_size),
        *extra,
    ]


# T = 100,000 at B = 1, H = 64: long enough that storing every step's activations dominates.
RSS_SHAPE = Shape(1, 64, 100_000)

__all__ = [
    "CPU_SHAPES",
    "GPU_SHAPES",
    "SHAPES",
    "BenchConfig",
    "Implementation",
    "Row",
    "Shape",
    "installed",
    "only",
    "parse_shapes",
    "peak_rss",
    "run_bench",
    "targets",
    "time_shape",
    "to_markdown",
]


class _Worker:
    """A serving worker process: started, compiled, then asked for one timed call per round."""

    def __init__(self, variant: Implementation, shape: Shape, warmup: int) -> None:
        self.variant = variant
        cmd = _worker_cmd(variant, shape, ["--serve", "--repeats", "1", "--warmup", str(warmup)])
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Several JAX workers share one GPU: no worker may grab 75% of its memory up front.
            env={**os.environ, "ACTGRAD_PROGRESS": "0", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"},
        )
        self.info: dict[str, Any] = {}
        self.samples: list[float] = []
        self.error: str | None = None

    def _read(self) -> dict | None:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line:
            return json.loads(line)
        self.proc.wait()
        err = (self.proc.stderr.read() if self.proc.stderr else "").strip().splitlines()
        self.error = err[-1] if err else f"worker exited with code {self.proc.returncode}"
        return None

    def ready(self) -> None:
        """Wait for compile + warm-up; the first timed call counts as a warm-up too."""
        msg = self._read()
        if msg is not None:
            self.info = {k: v for k, v in msg.items() if k not in ("samples_s", "median_s")}

    def run_once(self) -> None:
        if self.error is not None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.write("run 1\n")
        self.proc.stdin.flush()
        msg = self._read()
        if msg is not None:
            self.samples.extend(msg["samples_s"])

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Row:
    """One implementation's timings at one shape: per-round seconds, worker info, error."""

    label: str
    variant_impl: str
    samples_s: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def median_s(self) -> float | None:
        """Median seconds over the rounds (None before any round)."""
        import statistics

        return statistics.median(self.samples_s) if self.samples_s else None

    @property
    def min_s(self) -> float | None:
        """Fastest round in seconds (None before any round)."""
        return min(self.samples_s) if self.samples_s else None


def time_shape(
    shape: Shape, variants: Sequence[Implementation], repeats: int, warmup: int = 1
) -> list[Row]:
    """Time `variants` on `shape`: `repeats` rounds, one call per variant per rotated round."""
    workers = []
    try:
        for v in variants:
            w = _Worker(v, shape, warmup)
            # Compile one at a time so that compile times do not compete with each other.
            w.ready()
            workers.append(w)
        for r in range(repeats):
            k = r % len(workers)
            for w in workers[k:] + workers[:k]:
                w.run_once()
    finally:
        for w in workers:
            w.close()
    return [Row(w.variant.label, w.variant.impl, w.samples, w.info, w.error) for w in workers]


def peak_rss(shape: Shape, variant: Implementation) -> dict[str, Any]:
    """One forward+backward in a fresh worker; its peak RSS (MiB) and RSS after setup."""
    cmd = _worker_cmd(variant, shape, ["--mode", "rss"])
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = proc.stderr.strip().splitlines()
        return {"label": variant.label, "error": err[-1] if err else f"exit {proc.returncode}"}
    return {"label": variant.label, **json.loads(lines[-1])}


@dataclass(frozen=True)
class BenchConfig:
    """What `run_bench` measures: shapes, rounds, which extra rows, the memory test."""

    shapes: tuple[str, ...] = CPU_SHAPES
    repeats: int = 7
    warmup: int = 1
    extras_on: tuple[str, ...] = ("S1", "S2")  # shapes that also time norms and relu rows
    peers: tuple[Implementation, ...] = PEERS
    ours: tuple[Implementation, ...] = OURS
    extras: tuple[Implementation, ...] = EXTRAS
    rss_shape: Shape | None = RSS_SHAPE
    rss_variants: tuple[Implementation, ...] = (
        Implementation("torch", "torch"),
        Implementation("ours-remat", "ours", remat=True),
        Implementation("fused", "fused"),
    )


def only(cfg: BenchConfig, labels: str) -> BenchConfig:
    """`cfg` restricted to the rows named in 'torch,fused'; UsageError naming the valid labels."""
    import dataclasses

    wanted = {s.strip() for s in labels.split(",") if s.strip()}
    rows = (*cfg.peers, *cfg.ours, *cfg.extras)
    valid = [v.label for v in rows]
    bad = sorted(wanted - set(valid))
    if not wanted or bad:
        raise UsageError(
            f"unknown row(s) {', '.join(bad) or repr(labels)}; valid rows: {', '.join(valid)}"
        )

    def keep(vs: tuple[Implementation, ...]) -> tuple[Implementation, ...]:
        return tuple(v for v in vs if v.label in wanted)

    return dataclasses.replace(
        cfg,
        peers=keep(cfg.peers),
        ours=keep(cfg.ours),
        extras=keep(cfg.extras),
        rss_variants=keep(cfg.rss_variants),
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def run_bench(cfg: BenchConfig, progress: Any = None, on_shape: Any = None) -> dict[str, Any]:
    """Run every shape and the memory test; a JSON-able dict with rows, ratios and targets.

    ``progress(message)`` is told what starts; ``on_shape(result_so_far)`` is called after each
    shape (a script can save partial results).
    """
    from importlib import metadata

    from analysis.util.io import run_metadata

    out: dict[str, Any] = {"config": cfg, **run_metadata(), "shapes": {}, "rss": []}
    out["peer_versions"] = {}
    for pkg in ("equinox",):
        try:
            out["peer_versions"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    with_extras = set(cfg.extras_on)
    for name in cfg.shapes:
        shape = SHAPES[name]
        variants = [*cfg.peers, *cfg.ours, *(cfg.extras if name in with_extras else ())]
        variants = [v for v in variants if installed(v)]
        if progress:
            progress(f"{name} ({shape.describe()}): {', '.join(v.label for v in variants)}")
        rows = time_shape(shape, variants, cfg.repeats, cfg.warmup)
        torch_rows = [r for r in rows if r.variant_impl == "torch" and r.samples_s]
        torch_row = min(torch_rows, key=lambda r: r.median_s, default=None)
        out["shapes"][name] = {
            "shape": shape,
            "torch_reference": torch_row.label if torch_row else None,
            "rows": [
                {
                    "label": r.label,
                    "median_s": r.median_s,
                    "min_s": r.min_s,
                    "samples_s": r.samples_s,
                    "vs_torch": _ratio(r.median_s, torch_row.median_s if torch_row else None),
                    "vs_torch_min": _ratio(r.min_s, torch_row.min_s if torch_row else None),
                    "info": r.info,
                    "error": r.error,
                }
                for r in rows
            ],
        }
        if on_shape:
            out["targets"] = table.targets(out)
            on_shape(out)
    if cfg.rss_shape is not None:
        for v in cfg.rss_variants:
            if installed(v):
                if progress:
                    progress(f"peak RSS {v.label} ({cfg.rss_shape.describe()})")
                out["rss"].append(peak_rss(cfg.rss_shape, v))
    out["targets"] = table.targets(out)
    return out
