"""Render the report dict as Markdown (for GitHub) and as one HTML page (no server needed).

Both renderings come from the same structure, so they hold the same numbers. Images are
files beside the page, referenced by relative paths; every figure links to its SVG.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["VERDICT_COLOURS", "html_table", "md_table", "render_html", "render_markdown"]

VERDICT_COLOURS = {
    "holds": "#1a7f37",
    "wrong": "#cf222e",
    "depends": "#9a6700",
    "not supported": "#6e7781",
}


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    if v is None:
        return "-"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats with 3 significant digits, "|" escaped.

    Args:
        headers: column names (C,); rows: (R, C) cells.

    Returns:
        the table text.
    """

    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(_cell(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; a cell that is a verdict word is coloured.

    Args:
        headers: column names (C,); rows: (R, C) cells; cls: the table's CSS class.

    Returns:
        the escaped HTML.
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for c in row:
            text = html.escape(_cell(c))
            colour = VERDICT_COLOURS.get(str(c))
            cells.append(
                f'<td><b style="color:{colour}">{text}</b></td>' if colour else f"<td>{text}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def render_markdown(rep: Mapping[str, Any]) -> str:
    """The page as Markdown.

    Args:
        rep: {"title", "subtitle", "sections": [{"heading", "blocks"}]}.

    Returns:
        report.md's text.
    """
    out = [f"# {rep['title']}", "", f"_{rep['subtitle']}_", ""]
    for sec in rep["sections"]:
        out += [f"## {sec['heading']}", ""]
        for block in sec["blocks"]:
            kind = block["kind"]
            if kind == "text":
                out += [block["text"], ""]
            elif kind == "list":
                out += [f"- {item}" for item in block["items"]] + [""]
            elif kind == "table":
                out += [md_table(block["headers"], block["rows"]), ""]
            elif kind == "figure":
                out += [
                    f"![{block['caption']}]({block['png']})",
                    "",
                    f"*{block['caption']}* ([SVG]({block['svg']}))",
                    "",
                ]
            elif kind == "code":
                out += ["```", *block["lines"], "```", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;line-height:1.5;color:#1f2328}
h1{margin-bottom:0}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #d0d7de;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f6f8fa}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#57606a}pre{background:#f6f8fa;padding:.8em;overflow-x:auto}
.sub{color:#57606a}
"""


def render_html(rep: Mapping[str, Any]) -> str:
    """The page as one self-contained HTML file (figures are files beside it).

    Args:
        rep: as `render_markdown`.

    Returns:
        index.html's text.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(rep['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(rep['title'])}</h1>",
        f'<p class="sub">{html.escape(rep["subtitle"])}</p>',
    ]
    for sec in rep["sections"]:
        parts.append(f"<h2>{html.escape(sec['heading'])}</h2>")
        for block in sec["blocks"]:
            kind = block["kind"]
            if kind == "text":
                parts.append(f"<p>{html.escape(block['text'])}</p>")
            elif kind == "list":
                items = "".join(f"<li>{html.escape(i)}</li>" for i in block["items"])
                parts.append(f"<ul>{items}</ul>")
            elif kind == "table":
                parts.append(html_table(block["headers"], block["rows"], block.get("cls", "")))
            elif kind == "figure":
                cap = html.escape(block["caption"])
                parts.append(
                    f'<figure><a href="{html.escape(block["svg"])}">'
                    f'<img src="{html.escape(block["png"])}" alt="{cap}"></a>'
                    f'<figcaption>{cap} (<a href="{html.escape(block["svg"])}">SVG</a>)'
                    "</figcaption></figure>"
                )
            elif kind == "code":
                parts.append("<pre>" + html.escape("\n".join(block["lines"])) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
