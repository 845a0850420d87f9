"""MkDocs hook: the site's generated pages, so that nothing is written twice.

* the guide: README.md split at its ``## `` headings, one page per section (the text before
  the first section and "Quick start" are the home page), links into docs/ made relative;
* the examples: examples/*.ipynb as Markdown (their Markdown cells as they are, code cells as
  Python blocks, stored outputs if any), never executed here: `make test` executes them;
* the API reference: one page per public module (``analysis.PUBLIC_MODULES`` and
  ``kernels``), each rendered by mkdocstrings from the docstrings.

The navigation follows the README's order. Nothing is fetched: no remote inventories.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
HOME = "Quick start"  # the README's sections up to and including this one form the home page


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _sections() -> list[tuple[str, str]]:
    """(title, markdown) of the README's ``## `` sections, the intro first as ("", text)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = text.replace("](docs/", "](../")  # docs/headline.png seen from a page in guide/
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return [("", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]


def _guide() -> tuple[dict[str, str], list[dict[str, str]]]:
    """{path: markdown} of the guide pages, and their nav entries."""
    pages, nav = {}, []
    sections = _sections()
    titles = [t for t, _ in sections]
    cut = titles.index(HOME) + 1 if HOME in titles else 1
    home = "".join(body if not t else f"## {t}\n{body}" for t, body in sections[:cut])
    pages["index.md"] = home.replace("](../", "](")
    for i, (title, body) in enumerate(sections[cut:], start=1):
        path = f"guide/{i:02d}-{_slug(title)}.md"
        pages[path] = f"# {title}\n{body}"
        nav.append({title: path})
    return pages, nav


def _notebook_markdown(path: Path) -> str:
    """A notebook as Markdown: Markdown cells as they are, code cells as Python blocks."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = [f"*Run it: `jupyter lab examples/{path.name}` (or upload it to Colab).*\n"]
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            out.append(source)
        elif cell["cell_type"] == "code":
            out.append(f"```python\n{source}\n```")
            for o in cell.get("outputs", []):
                text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
                if text:
                    out.append(f"```text\n{text}\n```")
    # the notebook's own title first (its file name if it has none), then the run note
    head, _, rest = out[1].partition("\n") if len(out) > 1 else ("", "", "")
    if not head.startswith("# "):
        head, rest = f"# {path.stem}", out[1] if len(out) > 1 else ""
    return "\n\n".join([head, out[0], rest, *out[2:]]) + "\n"


def _examples() -> tuple[dict[str, str], list[dict[str, str]]]:
    pages, nav = {}, []
    for nb in sorted((ROOT / "examples").glob("*.ipynb")):
        md = _notebook_markdown(nb)
        path = f"examples/{nb.stem}.md"
        pages[path] = md
        title = md.splitlines()[0].lstrip("# ").split(":")[0].replace("`", "")
        nav.append({title: path})
    return pages, nav


def _api() -> tuple[dict[str, str], list[dict[str, str]]]:
    import analysis

    modules = {"kernels": "kernels", **analysis.PUBLIC_MODULES}
    pages, nav = {}, []
    for short, module in sorted(modules.items()):
        path = f"api/{short}.md"
        name = short if short == "kernels" else f"analysis.{short}"
        pages[path] = f"# `{name}`\n\n`{module}`\n\n::: {module}\n"
        nav.append({name: path})
    return pages, nav


def _all() -> tuple[dict[str, str], list[Any]]:
    guide, guide_nav = _guide()
    examples, examples_nav = _examples()
    api, api_nav = _api()
    nav = [
        {"Home": "index.md"},
        {"Guide": guide_nav},
        {"Examples": examples_nav},
        {"API reference": api_nav},
        {"About these docs": "about.md"},
    ]
    return {**guide, **examples, **api}, nav


def on_config(config: Any) -> Any:
    config["nav"] = _all()[1]
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, content in _all()[0].items():
        files.append(File.generated(config, path, content=content))
    return files
