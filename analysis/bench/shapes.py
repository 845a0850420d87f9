"""What `actgrad bench` times: the shapes, and the implementations with their options."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from analysis.util.errors import UsageError

__all__ = [
    "CPU_SHAPES",
    "EXTRAS",
    "GPU_SHAPES",
    "MODULE_OF",
    "OURS",
    "PEERS",
    "SHAPES",
    "Implementation",
    "Shape",
    "installed",
    "parse_shapes",
]


@dataclass(frozen=True)
class Shape:
    """A benchmark shape: batch B, hidden H, length T, input size I (0 means I = H)."""

    batch: int
    hidden: int
    length: int
    input: int = 0  # 0: same as hidden

    @property
    def input_size(self) -> int:
        """I, with 0 meaning the same as H."""
        return self.input or self.hidden

    def describe(self) -> str:
        """``B=32, H=128, T=1000, I=128``."""
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
class Implementation:
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
        """The `analysis.bench.workers` command-line arguments of this implementation."""
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
    Implementation("torch", "torch"),
    Implementation("torch-1t", "torch", threads=1),
    Implementation("flax", "flax"),
    Implementation("equinox", "equinox"),
)
OURS = (Implementation("ours", "ours"), Implementation("fused", "fused"))
EXTRAS = (
    Implementation("norms", "norms"),
    Implementation("ours-relu", "ours", candidate="relu", output="relu"),
    Implementation("fused-relu", "fused", candidate="relu", output="relu"),
)
MODULE_OF = {
    "torch": "torch",
    "flax": "flax",
    "equinox": "equinox",
    "norms": "analysis.flow.gradients",
}


def installed(variant: Implementation) -> bool:
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
