"""The reproductions `actgrad reproduce` knows: each paper's setting, what is compared, how ours
differs, and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESETS", "REPRODUCTIONS", "Reproduction", "get", "names", "run"]


@dataclass(frozen=True)
class Reproduction:
    """One published result and how actgrad reruns it.

    Attributes:
        name: the command's name for it; paper: the citation; setting: the paper's setting;
        compared: what is compared, and the rule for "agrees"; differences: every way our
        default setting differs from the paper's; full_differences: the same for ``--full``;
        expected_s: (default, --full) seconds measured on a 2-core CPU; runner: (preset, bar)
        -> result, whose "rows" each hold "where", "summary", "published", "ours", "se",
        "ours_n", "tolerance", "agrees"; steps: (preset) -> the progress bar's total; figure:
        result -> a matplotlib Axes.
    """

    name: str
    paper: str
    setting: str
    compared: str
    differences: tuple[str, ...]
    full_differences: tuple[str, ...]
    expected_s: tuple[float, float]
    runner: Callable[[str, Any], dict]
    steps: Callable[[str], int]
    figure: Callable[[dict], Any]


PRESETS = ("tiny", "default", "full")


def _lyapunov(preset: str, bar: Any) -> dict:
    from analysis.reproduce import lyapunov_rnn as lr

    setting = _lyapunov_setting(preset)
    got = lr.compare(setting, bar)
    return {"setting": setting.__dict__, **got}


def _lyapunov_figure(result: dict) -> Any:
    from analysis import plot
    from analysis.reproduce.lyapunov_rnn import PUBLISHED

    spectra = {float(g): s for g, s in result["spectra"].items()}
    ax = plot.lyapunov_spectra(spectra, PUBLISHED)
    n = result["rows"][0]["ours_n"]
    ax.set_title(f"random tanh RNN, N = {n} (ours) against N = 4,096 (published)", fontsize=9)
    return ax


def _lyapunov_setting(preset: str) -> Any:
    from analysis.reproduce.lyapunov_rnn import Setting

    return {
        "tiny": Setting(sizes=(8, 16), seeds=2, t_burn=20, t_obs=40),
        "default": Setting(),
        "full": Setting(sizes=(128, 256, 512), seeds=5, t_obs=4000),
    }[preset]


def _lyapunov_steps(preset: str) -> int:
    s = _lyapunov_setting(preset)
    from analysis.reproduce.lyapunov_rnn import PUBLISHED

    return len(PUBLISHED) * len(s.sizes) * s.seeds


REPRODUCTIONS: tuple[Reproduction, ...] = (
    Reproduction(
        name="lyapunov-random-rnn",
        paper=(
            'D. G. Clark, "Lyapunov spectrum of random neural networks" '
            "(data: github.com/davidclark1/rnn-lyapunov, data/network/map_g*_delta1_N4096_seed0"
            ".json at commit 41ba738)"
        ),
        setting=(
            "x <- J tanh(x) (his map at delta = 1), J_ij ~ N(0, g^2/N), N = 4,096, one network "
            "(seed 0), the full spectrum by QR every step after 300 (g = 1.5: 1,000) + 200 "
            "burn-in steps, averaged over 4,000 (g = 3: 6,000) steps, on a GPU"
        ),
        compared=(
            "the largest exponent, the mean exponent and the unstable fraction at g = 1.5, 2, 3; "
            "agrees when ours at the largest N is within |f(N/2) - f(N)| + 2 SE (seeds) of his"
        ),
        differences=(
            "h <- tanh(W h): conjugate to his x <- J tanh(x) through h = tanh(x), same exponents",
            "N = 128 and 256, not 4,096 (the finite-size allowance in the rule)",
            "3 networks per size, not one",
            "500 burn-in steps (state and frame together) and 1,000 averaged, not 4,000-6,000",
            "float64 on a CPU; his file does not state the GPU's precision",
        ),
        full_differences=(
            "h <- tanh(W h): conjugate to his x <- J tanh(x) through h = tanh(x), same exponents",
            "N = 128, 256 and 512, not 4,096 (the finite-size allowance in the rule)",
            "5 networks per size, not one",
            "500 burn-in steps (state and frame together) and 4,000 averaged",
            "float64 on a CPU; his file does not state the GPU's precision",
        ),
        expected_s=(95.0, 1500.0),
        runner=_lyapunov,
        steps=_lyapunov_steps,
        figure=_lyapunov_figure,
    ),
)


def names() -> tuple[str, ...]:
    """Every reproduction's name, in catalogue order."""
    return tuple(r.name for r in REPRODUCTIONS)


def get(name: str) -> Reproduction:
    """The reproduction called `name`; ValueError listing the valid names if none is."""
    for r in REPRODUCTIONS:
        if r.name == name:
            return r
    raise ValueError(f"unknown reproduction {name!r}; valid: {', '.join(names())}")


def run(name: str, preset: str = "default", bar: Any = None) -> dict:
    """Run one reproduction.

    Args:
        name: one of `names`; preset: "default", "full" (the larger setting) or "tiny" (a
            smoke test of seconds, numbers meaningless); bar: a progress bar (``update(1)``)
            of `Reproduction.steps` units, or None.

    Returns:
        {"name", "paper", "setting", "compared", "differences", "preset", "result"}.
    """
    r = get(name)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    diffs: Sequence[str] = {
        "full": r.full_differences,
        "default": r.differences,
        "tiny": ("--tiny: a smoke test at toy sizes; its numbers reproduce nothing",),
    }[preset]
    return {
        "name": r.name,
        "paper": r.paper,
        "setting": r.setting,
        "compared": r.compared,
        "differences": list(diffs),
        "preset": preset,
        "result": r.runner(preset, bar),
    }
