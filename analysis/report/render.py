"""The page from a `Report`: Jinja2 templates speak, these formatters print every number.

One source: ``templates/page.md.j2`` renders the Markdown page (report.md); the HTML page
(index.html) is that Markdown rendered by markdown-it-py inside ``templates/shell.html.j2``.
A maintainer changes a sentence by editing a template. The formatters below are the only
place a number becomes text (the templates call them as filters).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FORMATTERS", "render_html", "render_markdown"]


def num(x: Any, digits: int = 3) -> str:
    """`digits` significant digits; "∞", "-∞" and "n/a" for inf and nan."""
    if x is None:
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"


def signed(x: Any, digits: int = 4) -> str:
    """A signed number with `digits` decimals, e.g. "+0.0280"."""
    x = float(x)
    return f"{x:+.{digits}f}" if math.isfinite(x) else num(x)


def ci(est: Any) -> str:
    """An Estimate as "value [low, high]"; "∞ (grows)" for a half-life of a growing gradient."""
    if est is None or math.isnan(float(est.value)):
        return "n/a"
    if math.isinf(est.value) and math.isinf(est.low):
        return "∞ (grows)"
    return f"{num(est.value)} [{num(est.low)}, {num(est.high)}]"


def prop(p: Any) -> str:
    """A Proportion (or a mapping with k, n, low, high) as "k/n [low, high]" (Wilson 95%)."""
    if p is None:
        return "not trained"
    if isinstance(p, dict):
        return f"{p['k']}/{p['n']} [{float(p['low']):.2f}, {float(p['high']):.2f}]"
    return f"{p.k}/{p.n} [{p.low:.2f}, {p.high:.2f}]"


def pval(p: Any) -> str:
    """A p-value: two significant digits (e.g. "0.026", "3e-05"), "–" when not tested."""
    p = float(p)
    if math.isnan(p):
        return "–"
    return f"{p:.2g}"


def per100(rate: Any) -> str:
    """The gradient's factor over 100 steps, e^(100 r), e.g. "×0.031", "×1e+30"."""
    rate = float(rate)
    if math.isnan(rate):
        return "n/a"
    if 100 * rate > 700:
        return f"×1e+{100 * rate / math.log(10):.0f}"
    return f"×{math.exp(100 * rate):.2g}"


def count(x: Any) -> str:
    """An integer with thousands separators; "n/a" for None or nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{round(float(x)):,}"


def seconds(x: Any) -> str:
    """Seconds: one decimal under 100, whole seconds above."""
    x = float(x)
    return f"{x:.1f} s" if x < 100 else f"{x:,.0f} s"


def duration(x: Any) -> str:
    """A long time: seconds under 100, minutes under 100, else hours (one decimal)."""
    x = float(x)
    if not math.isfinite(x):
        return "unknown"
    if x < 100:
        return seconds(x)
    return f"{x / 60:.0f} min" if x < 6000 else f"{x / 3600:.1f} h"


def cell(text: Any) -> str:
    """Text made safe for a Markdown table cell (| escaped, newlines joined)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


FORMATTERS = {
    "num": num,
    "duration": duration,
    "signed": signed,
    "ci": ci,
    "prop": prop,
    "pval": pval,
    "per100": per100,
    "count": count,
    "seconds": seconds,
    "cell": cell,
}


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis.report", "templates"),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the render, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown; the HTML shell escapes what it inserts itself
    )
    env.filters.update(FORMATTERS)
    return env


def render_markdown(report: Any) -> str:
    """report.md: the page in Markdown (GitHub renders its <details> blocks).

    Args:
        report: an `analysis.report.model.Report`.

    Returns:
        the Markdown text.
    """
    return _environment().get_template("page.md.j2").render(r=report)


def render_html(report: Any, markdown: str | None = None) -> str:
    """index.html: the Markdown page rendered by markdown-it-py inside the HTML shell.

    Args:
        report: the Report; markdown: its `render_markdown` text (rendered here if None).

    Returns:
        a self-contained HTML document (figures referenced by relative path).
    """
    from markdown_it import MarkdownIt

    md = render_markdown(report) if markdown is None else markdown
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    return _environment().get_template("shell.html.j2").render(r=report, body=body)
