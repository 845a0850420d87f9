"""`actgrad decay`'s two figures, drawn by `analysis.plot` (`decay` and `telemetry`)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["decay_figure", "telemetry_figure"]


def _title(title: str) -> str:
    return "\n".join(textwrap.wrap(title, 110))


def decay_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """log10 ||dL/dh_t|| against steps back from T, one curve per record (`plot.decay`).

    Args:
        records: decay sweep records; labels: one legend label per record; title: the title.

    Returns:
        matplotlib Figure.
    """
    from analysis import plot

    ax = plot.decay(records, label=list(labels))
    ax.set_title(_title(title), fontsize=9)
    return ax.figure


def telemetry_figure(records: Sequence[Mapping], labels: Sequence[str], title: str) -> Any:
    """max |c_t|, the mean forget gate (and saturated gates where any) along the sequence
    (`plot.telemetry`).

    Args:
        records: decay sweep records; labels: one label per record; title: the title.

    Returns:
        matplotlib Figure.
    """
    from analysis import plot

    fig = plot.telemetry(records, label=list(labels))
    fig.suptitle(_title(title), fontsize=9)
    return fig
