"""The reproductions `actgrad reproduce` knows: each paper's setting, what is compared, how ours
differs, and the function that runs it."""

from __future__ import annotations

import dataclasses
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
        -> result, whose "rows" each hold "where", "summary", "published", "ours", "ours_n",
        "tolerance", "agrees", and "published_text", "ours_text", "low", "high", "interval"
        (the comparison in words, for a table: a number with its tolerance, a rate with its
        Wilson or exact binomial interval, "at the baseline"; "agrees" None where nothing was
        published), plus "se" where ours is a mean with a standard error; steps: (preset) -> the progress bar's total; figure:
        result -> a matplotlib Axes; report_differences: the differences of the "report"
        preset; report_s: its seconds on a 2-core CPU, cold compile included; float64: whether
        it needs jax_enable_x64 (the caller enables it).
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
    report_differences: tuple[str, ...] = ()
    report_s: float = 15.0
    float64: bool = False


PRESETS = ("tiny", "report", "default", "full")
# The "report" preset: the generated report runs every reproduction at it (about 10-15 s each,
# cold compile included), so its numbers are a check of the pipeline and a first look; the
# default preset is the reproduction, --full the paper's budget.


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
        "report": Setting(sizes=(32, 64), seeds=2, t_burn=200, t_obs=400),
        "default": Setting(),
        "full": Setting(sizes=(128, 256, 512), seeds=5, t_obs=4000),
    }[preset]


def _lyapunov_steps(preset: str) -> int:
    s = _lyapunov_setting(preset)
    from analysis.reproduce.lyapunov_rnn import PUBLISHED

    return len(PUBLISHED) * len(s.sizes) * s.seeds


def _setting(module: str, preset: str) -> Any:
    import importlib

    return importlib.import_module(f"analysis.reproduce.{module}").PRESET_SETTINGS[preset]


def _runner(module: str) -> Callable[[str, Any], dict]:
    def run(preset: str, bar: Any) -> dict:
        import importlib

        setting = _setting(module, preset)
        got = importlib.import_module(f"analysis.reproduce.{module}").compare(setting, bar)
        return {"setting": dataclasses.asdict(setting), **got}

    return run


def _figure(name: str) -> Callable[[dict], Any]:
    def draw(result: dict) -> Any:
        from analysis.reproduce import figures

        return getattr(figures, name)(result)

    return draw


def _units(module: str, count: Callable[[Any], int]) -> Callable[[str], int]:
    return lambda preset: count(_setting(module, preset))


# Seconds of each "report" preset, cold (a fresh `actgrad reproduce NAME --report`, compile
# included), measured on this 2-core CPU at a load near 3.5 from other sessions (near 7 they
# took 6.5, 21, 32 and 53 s). The training ones are mostly XLA compiling (parity: 4 variants,
# two programs each): a caller short of time runs fewer variants through
# `parity_deletang.compare(Setting(variants=...))`.
REPORT_S = {
    "lyapunov-random-rnn": 6.5,
    "copy-arjovsky": 8.0,
    "adding-hochreiter": 17.0,
    "parity-deletang": 20.0,
}

_TINY = ("--tiny: a smoke test at toy sizes; its numbers reproduce nothing",)

TRAINING_REPRODUCTIONS: tuple[Reproduction, ...] = (
    Reproduction(
        name="copy-arjovsky",
        paper=(
            'M. Arjovsky, A. Shah & Y. Bengio, "Unitary evolution recurrent neural networks", '
            "ICML 2016 (code: github.com/amarshah/complex_RNN, memory_problem.py at 938c263)"
        ),
        setting=(
            "copy task: 10 symbols from 8, T - 1 blanks, a delimiter, 10 blanks; cross-entropy "
            "over all T + 20 steps; LSTM with 40 hidden units (recalled); RMSProp (decay 0.9) at "
            "1e-3 after clipping each gradient entry to [-1, 1]; batch 20; T = 100, 200, 300, "
            "500 (recalled); finding: the LSTM stays at the memoryless baseline 10 ln 8 / "
            "(T + 20) except at T = 100, where it slowly goes below it"
        ),
        compared=(
            "per delay, the final test cross-entropy over the baseline (each seed): below 0.9 "
            "is 'below', else at (to 1.1) or above it; agrees when every seed is below where "
            "the paper's LSTM is, and no seed where it is not"
        ),
        differences=(
            "T = 100 and 200 only; 2,000 steps (the script's default is 20,000: 10%); 2 seeds",
            "with 2,000 steps the LSTM has only just reached the baseline at T = 100 (about "
            "1,750 steps): this run confirms 'stays at the baseline' for its budget, and cannot "
            "confirm the T = 100 exception, which the paper shows only after longer training",
            "our LSTM: orthogonal recurrent weights, forget bias 1, zero initial states, no "
            "output-gate connection from c_t; theirs: Glorot-uniform weights, forget bias 1, "
            "learned initial h and c, the output gate reads c_t through a full matrix",
            "optax.rmsprop: r starts at 0 with epsilon 1e-8; theirs starts at 1e-3, no epsilon",
            "fresh batches every step and 1,000 test sequences; theirs: 100,000 fixed training "
            "and 10,000 test sequences",
            "10 output classes (blank, 8 symbols, delimiter); theirs 9 (no delimiter)",
        ),
        full_differences=(
            "T = 100, 200, 300 and 500; 20,000 steps (the script's default); 2 seeds",
            "our LSTM: orthogonal recurrent weights, forget bias 1, zero initial states, no "
            "output-gate connection from c_t; theirs: Glorot-uniform weights, forget bias 1, "
            "learned initial h and c, the output gate reads c_t through a full matrix",
            "optax.rmsprop: r starts at 0 with epsilon 1e-8; theirs starts at 1e-3, no epsilon",
            "fresh batches every step and 1,000 test sequences; theirs: 100,000 fixed training "
            "and 10,000 test sequences",
            "10 output classes (blank, 8 symbols, delimiter); theirs 9 (no delimiter)",
        ),
        expected_s=(55.0, 3400.0),
        runner=_runner("copy_arjovsky"),
        steps=_units("copy_arjovsky", lambda s: len(s.delays)),
        figure=_figure("copy"),
        report_differences=(
            "--report: T = 100 only, 300 steps, 1 seed, 200 test sequences: the LSTM has not "
            "yet reached the baseline; a check of the pipeline, not of the finding",
        ),
        report_s=REPORT_S["copy-arjovsky"],
    ),
    Reproduction(
        name="adding-hochreiter",
        paper=(
            'S. Hochreiter & J. Schmidhuber, "Long short-term memory", Neural Computation 9(8), '
            "1997, Experiment 4 (adding problem)"
        ),
        setting=(
            "pairs (u, m), u uniform in [-1, 1]; X1 one of the first 10 pairs, X2 one of the "
            "first T/2 - 1 unmarked; target 0.5 + (X1 + X2) / 4; correct when |error| < 0.04; "
            "T = 100 (lengths T to 1.1 T); 2 memory-cell blocks of 2 cells, no forget gate, "
            "truncated online gradients, learning rate 0.5 (recalled); result: 1 wrong of 2,560 "
            "test sequences, success after 74,000 training sequences (recalled)"
        ),
        compared=(
            "the fraction of 2,560 fresh test sequences (per seed, pooled) with |error| >= 0.04, "
            "exact binomial 95% interval; agrees when it overlaps the paper's (1/2,560); and the "
            "training sequences until every held-out sequence is within 0.04, shown beside "
            "their 74,000 (different stopping rules: not compared); for two initialisations of "
            "actgrad's LSTM: chrono (b_f ~ ln U[1, 99], b_i = -b_f: large forget and negative "
            "input biases, the modern form of their negative input-gate biases against state "
            "drift) and actgrad's default (orthogonal, forget bias 1)"
        ),
        differences=(
            "every sequence has length T = 100 (theirs: uniform in [100, 110])",
            "actgrad's LSTM (16 units, a forget gate) with chrono or forget-bias-1 biases; theirs: "
            "2 blocks of 2 cells, input gates with negative initial biases, no forget gate, "
            "93 weights",
            "full backpropagation through time with Adam (rate 0.1, global-norm clipping at 1, "
            "batches of 16); theirs: truncated gradients, online updates at rate 0.5",
            "3,000 steps = 48,000 sequences (65% of the 74,000 the paper needed); 3 seeds",
            "stopping rule: every one of the 2,560 held-out sequences within 0.04, checked every "
            "100 steps; theirs: mean training error < 0.01 and the last 2,000 training "
            "sequences correct",
            "with this budget a run that never succeeds shows a failure within 48,000 "
            "sequences, not that it cannot learn the task",
        ),
        full_differences=(
            "every sequence has length T = 100 (theirs: uniform in [100, 110])",
            "actgrad's LSTM (16 units, a forget gate) with chrono or forget-bias-1 biases; theirs: "
            "2 blocks of 2 cells, no forget gate, 93 weights",
            "full backpropagation through time with Adam (rate 0.1, clipping at 1, batches of "
            "16); theirs: truncated gradients, online updates at rate 0.5",
            "20,000 steps = 320,000 sequences (4.3 x the paper's 74,000); 5 seeds",
            "stopping rule: every held-out sequence within 0.04; theirs: mean training error "
            "< 0.01 and the last 2,000 training sequences correct",
        ),
        expected_s=(32.0, 600.0),
        runner=_runner("adding_hochreiter"),
        steps=_units("adding_hochreiter", lambda s: len(s.initializers)),
        figure=_figure("adding"),
        report_differences=(
            "--report: chrono only, 1 seed, 1,200 steps = 19,200 sequences (the paper needed "
            "74,000; our seeds succeed after 16,000-20,000): one seed's test errors, not the "
            "fraction of seeds",
        ),
        report_s=REPORT_S["adding-hochreiter"],
    ),
    Reproduction(
        name="parity-deletang",
        paper=(
            'G. Delétang et al., "Neural networks and the Chomsky hierarchy", ICLR 2023 (code: '
            "github.com/google-deepmind/neural_networks_chomsky_hierarchy)"
        ),
        setting=(
            "parity of a bit string; one length in 1..40 per batch of 128, then an output token; "
            "relu(h) W + b; Adam after global-norm clipping at 1; score = accuracy averaged over "
            "test lengths 41..500 (512 strings each); reported: the maximum over 10 seeds and 3 "
            "learning rates (1e-4, 3e-4, 5e-4), 1,000,000 steps, 256 units (recalled): tanh RNN "
            "100.0%, LSTM 100.0%"
        ),
        compared=(
            "the paper's statistic (maximum score over runs; Wilson 95% over the test strings) "
            "and the fraction of seeds that score >= 90% at the best learning rate (Wilson 95% "
            "over seeds); agrees when our maximum reaches 90% as theirs does; new axis: the "
            "LSTM with a ReLU or hard-tanh candidate (no published number)"
        ),
        differences=(
            "1,500 steps (0.15% of their 1,000,000), 32 units (theirs 256), one learning rate "
            "3e-3 (theirs 1e-4, 3e-4, 5e-4: too slow for this budget), 3 seeds (theirs 10)",
            "test lengths 41..200 on 256 strings (theirs 41..500 on 512); every prefix of one "
            "string is a test string, so lengths share bits",
            "a short budget can show that a variant generalises, not that it cannot: a variant "
            "below 90% here may still generalise with the paper's budget",
        ),
        full_differences=(
            "10,000 steps (1% of their 1,000,000), 64 units (theirs 256), learning rates 1e-3 "
            "and 3e-3 (theirs 1e-4, 3e-4, 5e-4), 5 seeds (theirs 10): their budget would take "
            "weeks on this CPU (a step of 20 runs at 64 units took 0.72 s here; theirs has 16 "
            "times the work per step and 100 times the steps)",
            "test lengths 41..500 on 512 strings, as theirs; every prefix of one test string "
            "is a test string, so lengths share bits",
            "a variant below 90% here may still generalise with the paper's budget",
        ),
        expected_s=(97.0, 12000.0),
        runner=_runner("parity_deletang"),
        steps=_units("parity_deletang", lambda s: len(s.variants) * s.chunks),
        figure=_figure("parity"),
        report_differences=(
            "--report: 16 units, 400 steps, 2 seeds, test lengths 41..100 on 128 strings: a "
            "check of the pipeline; a variant below 90% here says nothing about the finding",
        ),
        report_s=REPORT_S["parity-deletang"],
    ),
)


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
        report_differences=(
            "--report: N = 32 and 64, 2 networks per size, 200 burn-in and 400 averaged steps "
            "(the default: N = 128 and 256, 3 networks, 500 + 1,000): a check of the pipeline; "
            "the finite-size allowance grows accordingly",
            "h <- tanh(W h): conjugate to his x <- J tanh(x) through h = tanh(x), same exponents",
            "float64 on a CPU; his file does not state the GPU's precision",
        ),
        report_s=REPORT_S["lyapunov-random-rnn"],
        float64=True,
    ),
    *TRAINING_REPRODUCTIONS,
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
        name: one of `names`; preset: "default", "full" (the larger setting), "report" (the
            report's cut, `Reproduction.report_s` seconds) or "tiny" (a smoke test of seconds,
            numbers meaningless); bar: a progress bar (``update(1)``)
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
        "report": r.report_differences,
        "tiny": _TINY,
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
