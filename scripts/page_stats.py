"""How long a report page is to read: words per section, the longest paragraph, the answer.

    python scripts/page_stats.py report/report.md [old/report.md ...]

Counts prose only: table rows, code blocks, images, captions in italics and HTML tags are
left out (a table is read, not read aloud). Prints one Markdown table per page.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Knobs:
    pages: tuple[Path, ...]


def _prose_paragraphs(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [
            ln
            for ln in block.splitlines()
            if ln.strip()
            and not ln.lstrip().startswith(("|", "![", "<", "#"))
            and not (ln.startswith("*") and ln.rstrip().endswith("*") and not ln.startswith("**"))
        ]
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def page_stats(markdown: str) -> list[tuple[str, int, int]]:
    """(section heading, prose words, longest paragraph in words) per '## ' section."""
    out = []
    for part in re.split(r"\n(?=## )", markdown):
        heading = part.splitlines()[0].lstrip("# ").strip() if part.strip() else ""
        paras = _prose_paragraphs(part.split("\n", 1)[1] if "\n" in part else "")
        words = [len(p.split()) for p in paras]
        out.append((heading, sum(words), max(words, default=0)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pages", nargs="+", type=Path)
    knobs = Knobs(tuple(p.parse_args().pages))
    for page in knobs.pages:
        text = page.read_text()
        rows = page_stats(text)
        total = sum(w for _, w, _ in rows)
        print(f"\n{page}: {len(text.split()):,} words in all, {total:,} of prose\n")
        print("| section | prose words | longest paragraph |\n|---|---|---|")
        for heading, words, longest in rows:
            print(f"| {heading} | {words:,} | {longest} |")


if __name__ == "__main__":
    main()
