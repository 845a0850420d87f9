"""The report's data model: one typed object per run, saved as ``report.json``.

Every number on the page is a field of a `Report`; the templates read fields and format them
through `analysis.report.render`'s formatters, never computing. `summarise` builds a Report
from the stored sweep records, `compare` adds the comparisons, `to_json` / `from_json` round-
trip it (``actgrad report --render DIR`` re-renders a page from a stored report.json).

Intervals are 95% throughout: a median with a percentile-bootstrap interval over seeds, a
median with its interquartile range, or a Wilson interval on a proportion; each `Estimate`
names its method.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

# the value types of every interval on the page (defined with the statistics that make them)
from analysis.checks.properties import Measured
from analysis.util.stats import Estimate, Proportion

__all__ = [
    "SCHEMA",
    "Comparison",
    "DecayRow",
    "Estimate",
    "Family",
    "Figure",
    "FlowRow",
    "GatingRow",
    "LengthCell",
    "LengthRow",
    "LiteratureRow",
    "PropertyRow",
    "Proportion",
    "RateRow",
    "RealRow",
    "RemedyRow",
    "Report",
    "Reproduced",
    "SettingRows",
    "SlotFinding",
    "TrainRow",
    "from_json",
    "to_json",
]

# report.json's layout; `from_json` refuses another. 1 was the page-structure report.json, 2
# the report before each trained cell searched its own learning rate, 3 before the
# reproductions of published results.
SCHEMA = 4


@dataclass(frozen=True)
class DecayRow:
    """Gradient flow at initialisation of one cell (an LSTM variant at a forget bias, or a
    "Why gating?" design): the fitted rate of ln ||dL/dh_t|| per step back, per seed and as a
    median, its half-life, the flow class (`analysis.flow.classify.CLASSES`) and telemetry."""

    variant: str
    forget_bias: float
    T: int
    seeds: int
    rates: tuple[float, ...]  # per seed; the permutation tests read these
    rate: Estimate
    half_life: Estimate
    flow: str
    non_finite_seeds: int  # seeds whose gradient or state went non-finite
    unbounded_state: bool  # max |c| > T
    max_abs_c: float
    r2: float
    rate_c: float
    lyapunov_max: float
    forget_mean: float
    saturated_fraction: float


@dataclass(frozen=True)
class TrainRow:
    """One trained cell at one length: seeds solved, when, and how the others ended."""

    variant: str
    T: int
    solved: Proportion
    steps_to_solve: Estimate  # over the solved seeds
    solved_steps: tuple[int | None, ...]  # per seed
    outcomes: tuple[str, ...]  # per seed, `summarise.OUTCOMES`
    outcome: str  # the most common
    outcome_counts: dict[str, int]  # seeds per outcome, in `summarise.OUTCOMES` order
    final_test_loss: float  # median over seeds
    baseline: float  # the test MSE of always predicting the target's mean
    steps: int  # the budget
    wall_s: float
    lr: float  # the learning rate its search chose


@dataclass(frozen=True)
class RateRow:
    """One trained cell's learning-rate search: each rate of the grid on the held-out seeds
    (`analysis.experiments.tune`), and the rate chosen."""

    variant: str
    T: int
    lrs: tuple[float, ...]
    solved: tuple[int, ...]  # seeds solved at each rate
    seeds: int  # seeds per rate
    final_test_loss: tuple[float, ...]  # median per rate
    chosen: float


@dataclass(frozen=True)
class LengthCell:
    """One length of a `LengthRow`: its training row, or None where it was not trained."""

    T: int
    row: TrainRow | None


@dataclass(frozen=True)
class LengthRow:
    """A variant across lengths: the longest it solves (at least half of its seeds) and the
    first trained length it does not."""

    variant: str
    cells: tuple[LengthCell, ...]
    longest_solved: int | None
    first_fails: int | None


@dataclass(frozen=True)
class FlowRow:
    """Gradient flow during training of one cell: medians over seeds at each snapshot step."""

    variant: str
    T: int
    steps: tuple[int, ...]
    half_life: tuple[Estimate, ...]
    rate: tuple[float, ...]
    flow: tuple[str, ...]
    lyapunov_max: tuple[float, ...]
    max_abs_c: tuple[float, ...]
    seeds_at: tuple[int, ...]


@dataclass(frozen=True)
class GatingRow:
    """One (design, candidate activation) of "Why gating?": its decay at initialisation and,
    where it was trained, its training row."""

    design: str
    cell: str
    note: str
    activation: str
    decay: DecayRow
    train: TrainRow | None
    max_state: float
    search: RateRow | None  # its learning-rate search, where it was trained


@dataclass(frozen=True)
class PropertyRow:
    """One activation of the property set: its label, kernel, the measurement
    (`analysis.checks.properties.Measured`) and the properties in which it differs from tanh."""

    label: str
    kernel: str
    measured: Measured
    differs: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """One test of the page's one rule.

    ``quantity``: "solve rate" (Fisher's exact test on k/n against k/n) or "decay rate"
    (a two-sided permutation test on the per-seed rates, statistic the difference of
    medians). ``effect``: a minus b (solve rates: proportions; decay rates: median ln-norm
    change per step). ``p_adjusted``: Holm within ``family``. ``verdict``: "higher", "lower"
    (a against b, at adjusted p < `compare.ALPHA`), "not distinguishable" or "not tested"
    (too few finite values on a side).
    """

    family: str
    quantity: str
    a: str
    b: str
    setting: str
    effect: float
    p: float
    p_adjusted: float
    verdict: str


@dataclass(frozen=True)
class SettingRows:
    """The training comparison in one further setting (`ReportConfig.train_settings`): its
    rows and searches; its comparisons are the families ``train_{slot}_T{T}_{key}``."""

    key: str
    task: str
    forget_bias: float
    init: str
    training: tuple[TrainRow, ...]
    tuning: tuple[RateRow, ...]

    def train_row(self, variant: str, T: int) -> TrainRow | None:
        """The training row of `variant` at length `T` in this setting, or None."""
        return next((r for r in self.training if r.variant == variant and r.T == T), None)


@dataclass(frozen=True)
class SlotFinding:
    """Which property of tanh carries the training effect in one slot, read from verdicts.

    ``hurt``: the swaps of that slot that solved fewer seeds than the standard LSTM;
    ``unchanged``: those not distinguishable from it; ``separating``: the properties
    (`analysis.checks.properties.PROPERTIES`) in which every hurt swap differs from tanh and
    no unchanged one does (empty: no single property separates them, or nothing hurt).
    """

    slot: str
    T: int
    setting: str  # "" for the main setting, else a `SettingRows.key`
    hurt: tuple[str, ...]
    unchanged: tuple[str, ...]
    separating: tuple[str, ...]


@dataclass(frozen=True)
class Family:
    """A family of comparisons declared in advance, one per question the page asks; Holm's
    adjustment runs within it. ``detectable``: for solve-rate families, the smallest k such
    that k/n against 0/n would be called a difference after the adjustment (0 if none)."""

    key: str
    quantity: str
    size: int
    n_per_side: int
    detectable: int


@dataclass(frozen=True)
class RealRow:
    """One LSTM variant trained on a real data set (`analysis.report.realdata`): its training
    row (seeds solved), the median test accuracy over seeds (bootstrap interval) with each
    seed's, the test split's size, and its learning-rate search."""

    key: str
    task: str
    delay: int
    variant: str
    train: TrainRow
    accuracy: Estimate
    accuracies: tuple[float, ...]
    test_n: int
    search: RateRow


@dataclass(frozen=True)
class RemedyRow:
    """A swap trained with one remedy (`analysis.report.remedies`): its training row at one
    length, its own learning-rate search, and its gradient flow during training."""

    variant: str
    remedy: str
    train: TrainRow
    search: RateRow
    flow: FlowRow | None
    # median over seeds of sigma_max, sigma_min (each a median over steps) and log10 of the
    # long-term Jacobian's condition number: (at initialisation, after training)
    conditioning: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class LiteratureRow:
    """One published result against ours, in the reproduction's own words and numbers:
    ``published`` and ``ours`` as printed (a number, a fraction, "below the baseline"), the
    interval's method, what ours was measured on (``n``: a network size, test sequences or
    seeds), and the reproduction's verdict (None where nothing was published to agree with)."""

    where: str
    summary: str
    published: str
    ours: str
    interval: str
    n: int
    agrees: bool | None


@dataclass(frozen=True)
class Reproduced:
    """One reproduction (`analysis.reproduce`) as the report ran it: the paper, its setting,
    what is compared and how, every way this run's setting differs, and the rows."""

    name: str
    paper: str
    setting: str
    compared: str
    preset: str
    differences: tuple[str, ...]
    rows: tuple[LiteratureRow, ...]
    figure: str  # the figure's stem ("" when none was drawn)
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class Figure:
    """A written figure: ``stem``.png and .svg; ``kind`` selects its caption in the template."""

    stem: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Everything the page shows."""

    schema: int
    command: str
    config: dict[str, Any]
    meta: dict[str, Any]
    timings_s: dict[str, float]
    cost: dict[str, float]
    decay: tuple[DecayRow, ...]
    training: tuple[TrainRow, ...]
    tuning: tuple[RateRow, ...]
    neighbours: tuple[TrainRow, ...]  # at the grid's neighbours of each chosen rate
    settings: tuple[SettingRows, ...]
    lengths: tuple[LengthRow, ...]
    flow: tuple[FlowRow, ...]
    gating: tuple[GatingRow, ...]
    gating_reused: dict[str, int]  # gating cells taken from the decay and training stages
    properties: tuple[PropertyRow, ...]
    comparisons: tuple[Comparison, ...]
    families: tuple[Family, ...]
    findings: tuple[SlotFinding, ...]
    claims: tuple[dict[str, Any], ...]
    costs: dict[str, Any]
    verify: tuple[dict[str, Any], ...]
    figures: tuple[Figure, ...]
    reproduce: tuple[str, ...]
    literature: tuple[Reproduced, ...] = ()
    # the catalogue's other reproductions, each (name, seconds alone here): not on this page
    literature_elsewhere: tuple[tuple[str, float], ...] = ()
    remedy_swaps: tuple[str, ...] = ()  # the swaps the remedies were added to
    remedies_elsewhere: tuple[str, ...] = ()  # remedies --full adds, not run here
    remedies: tuple[RemedyRow, ...] = ()
    real: tuple[RealRow, ...] = ()

    # lookups for the templates (they select, never compute)
    def decay_row(self, variant: str, forget_bias: float) -> DecayRow | None:
        """The decay row of `variant` at `forget_bias`, or None if it was not measured."""
        return next(
            (r for r in self.decay if r.variant == variant and r.forget_bias == forget_bias), None
        )

    def train_row(self, variant: str, T: int) -> TrainRow | None:
        """The training row of `variant` at length `T`, or None if it was not trained."""
        return next((r for r in self.training if r.variant == variant and r.T == T), None)

    def neighbour_rows(self, variant: str) -> tuple[TrainRow, ...]:
        """`variant` trained at the grid's neighbours of its chosen rate, by rate."""
        return tuple(
            sorted((r for r in self.neighbours if r.variant == variant), key=lambda r: r.lr)
        )

    def neighbour_comparison(self, variant: str, T: int, lr: float) -> Comparison | None:
        """The test of `variant` at the neighbouring rate `lr` against the standard LSTM."""
        return self.comparison(f"neighbours_T{T}", variant, "tanh/tanh", f"T = {T}, lr = {lr:g}")

    def rate_row(self, variant: str) -> RateRow | None:
        """The learning-rate search of `variant`, or None if it was not trained."""
        return next((r for r in self.tuning if r.variant == variant), None)

    def length_row(self, variant: str) -> LengthRow | None:
        """`variant` across lengths, or None if it was not trained at several."""
        return next((r for r in self.lengths if r.variant == variant), None)

    def comparison(
        self, family: str, a: str, b: str, setting: str | None = None
    ) -> Comparison | None:
        """The test of `a` against `b` in `family` (in `setting`, where a family tests the same
        pair in several), or None if the page made none."""
        return next(
            (
                c
                for c in self.comparisons
                if (c.family, c.a, c.b) == (family, a, b) and setting in (None, c.setting)
            ),
            None,
        )

    def decay_comparison(self, variant: str) -> Comparison | None:
        """The test of `variant`'s decay rate against the standard LSTM's at the training
        forget bias, whichever declared family holds it (the grid's or the property set's)."""
        fb = self.config["train_forget_bias"]
        fams = (f"decay_bf{fb:g}", "property_candidate", "property_output", "gate")
        return next(
            (
                c
                for c in self.comparisons
                if c.family in fams and c.a == variant and c.b == "tanh/tanh"
            ),
            None,
        )

    def train_comparison(self, variant: str, T: int, setting: str = "") -> Comparison | None:
        """The test of `variant`'s solve rate against the standard LSTM's at length `T` (in a
        further `setting`, by its key), whichever slot's family holds it."""
        ending = f"_T{T}_{setting}" if setting else f"_T{T}"
        return next(
            (
                c
                for c in self.comparisons
                if c.family.startswith("train_")
                and c.family.endswith(ending)
                and c.a == variant
                and c.b == "tanh/tanh"
            ),
            None,
        )

    def finding(self, slot: str, T: int) -> SlotFinding | None:
        """What the training verdicts say about `slot` at length `T`, or None."""
        return self.setting_finding(slot, T, "")

    def setting_finding(self, slot: str, T: int, setting: str) -> SlotFinding | None:
        """What the training verdicts say about `slot` at `T` in `setting`, or None."""
        return next(
            (f for f in self.findings if (f.slot, f.T, f.setting) == (slot, T, setting)), None
        )

    def in_family(self, family: str) -> tuple[Comparison, ...]:
        """Every comparison of `family`, in order."""
        return tuple(c for c in self.comparisons if c.family == family)

    def family(self, key: str) -> Family | None:
        """The family called `key`, or None if it was not formed."""
        return next((f for f in self.families if f.key == key), None)

    def remedy_comparison(self, variant: str, remedy: str, T: int) -> Comparison | None:
        """The test of `variant` with `remedy` against `variant` without it, at length `T`."""
        return self.comparison(f"remedies_T{T}", f"{variant} + {remedy}", variant)

    def real_keys(self) -> tuple[str, ...]:
        """The real tasks trained on, in order."""
        return tuple(dict.fromkeys(r.key for r in self.real))

    def real_comparison(self, key: str, variant: str) -> Comparison | None:
        """The test of `variant` against the standard LSTM on real task `key`, or None."""
        return self.comparison(f"real_{key}", variant, "tanh/tanh")

    def real_rows(self, key: str) -> tuple[RealRow, ...]:
        """The rows of real task `key`, in variant order."""
        return tuple(r for r in self.real if r.key == key)

    def literature_agreement(self) -> tuple[int, int]:
        """(published numbers ours agrees with, published numbers compared), every
        reproduction together."""
        rows = [row for rep in self.literature for row in rep.rows if row.agrees is not None]
        return sum(row.agrees for row in rows), len(rows)

    def figures_of(self, kind: str) -> tuple[Figure, ...]:
        """The figures of one kind ("decay", "lengths", ...), in page order."""
        return tuple(f for f in self.figures if f.kind == kind)


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types (non-finite floats are written by `atomic_write_json`)."""
    return dataclasses.asdict(report)


def _load(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _load(args[0], value)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _load(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)})
    if origin is tuple:
        (item, *_) = typing.get_args(tp)
        return tuple(_load(item, v) for v in value)
    if tp is float:
        return float(value)  # "inf", "-inf" and "nan" come back as floats
    return value


def from_json(data: dict[str, Any]) -> Report:
    """A Report from report.json's content.

    Args:
        data: the parsed JSON.

    Returns:
        the Report; ValueError naming both schemas when the file is of another schema.
    """
    if data.get("schema") != SCHEMA:
        raise ValueError(
            f"report.json has schema {data.get('schema')!r}; this actgrad reads schema {SCHEMA}"
            " (run `actgrad report` again to measure it anew)"
        )
    try:
        return _load(Report, data)
    except (KeyError, TypeError, ValueError) as e:  # a field missing or of another shape
        raise ValueError(
            f"report.json does not hold a schema {SCHEMA} report ({type(e).__name__}: {e})"
        ) from None
