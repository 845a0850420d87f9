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

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis._util.errors import UsageError


@dataclass(frozen=True)
class Shape:
    batch: int
    hidden: int
    length: int
    input: int = 0  # 0: same as hidden

    @property
    def input_size(self) -> int:
        return self.input or self.hidden

    def describe(self) -> str:
        return f"B={self.batch}, H={self.hidden}, T={self.length}, I={self.input_size}"


SHAPES = {
    "S1": Shape(32, 128, 1000),
    "S2": Shape(1, 64, 10000),
    "S3": Shape(128, 256, 200),
    "G1": Shape(64, 512, 1000),
    "G2": Shape(256, 1024, 500),
    "G3": Shape(1, 128, 10000),
    "tiny": Shape(2, 8, 5),
    "tiny-long": Shape(1, 8, 40),
}
CPU_SHAPES = ("S1", "S2", "S3")
GPU_SHAPES = ("G1", "G2", "G3")


@dataclass(frozen=True)
class Variant:
    """One row: a worker implementation with its options."""

    label: str
    impl: str
    candidate: str = "tanh"
    output: str = "tanh"
    unroll: int = 1
    remat: bool = False
    checkpoint_every: int | None = None
    threads: int = 0  # torch only; 0 = all cores

    def worker_args(self) -> list[str]:
        args = [self.impl, "--candidate", self.candidate, "--output", self.output]
        args += ["--unroll", str(self.unroll), "--threads", str(self.threads)]
        if self.remat:
            args.append("--remat")
        if self.checkpoint_every is not None:
            args += ["--checkpoint-every", str(self.checkpoint_every)]
        return args


# torch with all cores is the reference; torch-1t (one thread) is there because on a loaded
# machine torch's OpenMP barriers can stall, and a ratio should be against torch at its best.
PEERS = (
    Variant("torch", "torch"),
    Variant("torch-1t", "torch", threads=1),
    Variant("flax", "flax"),
    Variant("equinox", "equinox"),
)
OURS = (Variant("ours", "ours"), Variant("fused", "fused"))
EXTRAS = (
    Variant("norms", "norms"),
    Variant("ours-relu", "ours", candidate="relu", output="relu"),
    Variant("fused-relu", "fused", candidate="relu", output="relu"),
)
MODULE_OF = {
    "torch": "torch",
    "flax": "flax",
    "equinox": "equinox",
    "norms": "analysis.flow.gradients",
}


def installed(variant: Variant) -> bool:
    """Whether the package a variant needs can be imported (peers are optional)."""
    mod = MODULE_OF.get(variant.impl)
    return mod is None or importlib.util.find_spec(mod) is not None


def parse_shapes(text: str) -> tuple[str, ...]:
    """'S1,S3' -> ('S1', 'S3'); UsageError naming the valid shapes otherwise."""
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in names if s not in SHAPES]
    if not names or bad:
        raise UsageError(
            f"unknown shape(s) {', '.join(bad) or repr(text)}; valid shapes: {', '.join(SHAPES)}"
        )
    return names


def _worker_cmd(variant: Variant, shape: Shape, extra: Sequence[str]) -> list[str]:
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


class _Worker:
    """A serving worker process: started, compiled, then asked for one timed call per round."""

    def __init__(self, variant: Variant, shape: Shape, warmup: int) -> None:
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
    label: str
    variant_impl: str
    samples_s: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def median_s(self) -> float | None:
        import statistics

        return statistics.median(self.samples_s) if self.samples_s else None

    @property
    def min_s(self) -> float | None:
        return min(self.samples_s) if self.samples_s else None


def time_shape(
    shape: Shape, variants: Sequence[Variant], repeats: int, warmup: int = 1
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


def peak_rss(shape: Shape, variant: Variant) -> dict[str, Any]:
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
    peers: tuple[Variant, ...] = PEERS
    ours: tuple[Variant, ...] = OURS
    extras: tuple[Variant, ...] = EXTRAS
    rss_shape: Shape | None = Shape(1, 64, 100_000)
    rss_variants: tuple[Variant, ...] = (
        Variant("torch", "torch"),
        Variant("ours-remat", "ours", remat=True),
        Variant("fused", "fused"),
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

    def keep(vs: tuple[Variant, ...]) -> tuple[Variant, ...]:
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

    from analysis._util.io import run_metadata

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
            out["targets"] = targets(out)
            on_shape(out)
    if cfg.rss_shape is not None:
        for v in cfg.rss_variants:
            if installed(v):
                if progress:
                    progress(f"peak RSS {v.label} ({cfg.rss_shape.describe()})")
                out["rss"].append(peak_rss(cfg.rss_shape, v))
    out["targets"] = targets(out)
    return out


def _median(result: dict, shape: str, label: str) -> float | None:
    for r in result["shapes"].get(shape, {}).get("rows", []):
        if r["label"] == label:
            return r["median_s"]
    return None


def targets(result: dict) -> list[dict[str, Any]]:
    """The performance issue's goals, each with the measured ratio and whether it is met."""
    out = []

    def add(measure: str, goal: float, value: float | None, note: str) -> None:
        met = None if value is None else bool(value <= goal)
        out.append({"measure": measure, "goal": goal, "value": value, "met": met, "note": note})

    for shape, goal in (("S1", 1.0), ("S2", 0.8), ("S3", 1.0)):
        if shape in result["shapes"]:
            for label in ("fused", "ours"):
                ref = result["shapes"][shape]["torch_reference"]
                add(
                    f"{shape} {label} / torch",
                    goal,
                    _ratio(_median(result, shape, label), ref and _median(result, shape, ref)),
                    f"median time ratio to {ref}",
                )
    for shape in result["shapes"]:
        norms = _median(result, shape, "norms")
        if norms is not None:
            add(f"{shape} norms / ours", 1.1, _ratio(norms, _median(result, shape, "ours")), "")
            add(f"{shape} norms / fused", 1.1, _ratio(norms, _median(result, shape, "fused")), "")
        for label in ("fused", "ours"):
            relu = _median(result, shape, f"{label}-relu")
            if relu is not None:
                add(
                    f"{shape} {label} relu/relu / tanh/tanh",
                    1.05,
                    _ratio(relu, _median(result, shape, label)),
                    "",
                )
    rss = {r["label"]: r.get("peak_rss_mb") for r in result["rss"]}
    if rss.get("torch"):
        for label in ("fused", "ours-remat"):
            if rss.get(label):
                add(f"peak RSS {label} / torch", 1.0, rss[label] / rss["torch"], "T=100,000")
    return out


def _fmt(x: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "—" if x is None else f"{x * scale:.{digits}g}"


def to_markdown(result: dict, title: str = "LSTM forward+backward speed") -> str:
    """The result as a markdown section: machine, versions, one table per shape, targets, RSS."""
    v = dict(result["versions"])
    v.update(result.get("peer_versions", {}))
    lines = [
        f"## {title}",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
        f"device: {result['device']}.",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Task: loss = mean(h_t²) over all steps, gradients for all parameters, float32, "
        "I = H, compile excluded (reported apart). Each implementation in its own process, "
        f"{result['config'].repeats} alternating rounds; median and min of the rounds.",
        "",
    ]
    for name, block in result["shapes"].items():
        lines += [
            f"### {name} ({block['shape'].describe()})",
            "",
            f"Ratios are to the faster torch row ({block['torch_reference'] or 'none'}).",
            "",
            "| impl | median ms | min ms | vs torch (median) | vs torch (min) | compile s | backend |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in block["rows"]:
            if r["error"]:
                lines.append(f"| {r['label']} | failed: {r['error']} | | | | | |")
                continue
            info = r["info"]
            lines.append(
                f"| {r['label']} | {_fmt(r['median_s'], 1e3)} | {_fmt(r['min_s'], 1e3)} | "
                f"{_fmt(r['vs_torch'])} | {_fmt(r['vs_torch_min'])} | "
                f"{_fmt(info.get('compile_s', info.get('first_call_s')), 1, 2)} | "
                f"{info.get('backend', '')} |"
            )
        lines.append("")
    if result["rss"]:
        shape = result["config"].rss_shape
        lines += [
            f"### Peak RSS ({shape.describe()})",
            "",
            "| impl | peak RSS MiB | RSS after setup MiB |",
            "| --- | ---: | ---: |",
        ]
        for r in result["rss"]:
            if "error" in r:
                lines.append(f"| {r['label']} | failed: {r['error']} | |")
            else:
                lines.append(
                    f"| {r['label']} | {_fmt(r['peak_rss_mb'], 1, 4)} | "
                    f"{_fmt(r['rss_setup_mb'], 1, 4)} |"
                )
        lines.append("")
    if result["targets"]:
        lines += [
            "### Targets",
            "",
            "| measure | goal | measured | met | note |",
            "| --- | ---: | ---: | --- | --- |",
        ]
        for t in result["targets"]:
            met = {True: "yes", False: "no", None: "—"}[t["met"]]
            lines.append(
                f"| {t['measure']} | ≤ {t['goal']:g} | {_fmt(t['value'])} | {met} | {t['note']} |"
            )
        lines.append("")
    return "\n".join(lines)
