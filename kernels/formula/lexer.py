"""Tokens of a formula, after turning the unicode people paste into plain operators.

``−`` (U+2212) and ``–`` are minus, ``×`` ``·`` ``⋅`` are times, ``÷`` is divide, ``≤ ≥ ≠``
compare, ``√`` is sqrt, a run of superscripts (``²``, ``⁻¹``) is a power. Positions in
messages are 1-based positions in the text as the user wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernels.formula.tree import FormulaError

__all__ = ["Tok", "normalise", "tokenise"]

_PLAIN = {
    "−": "-",
    "–": "-",
    "×": "*",
    "·": "*",
    "⋅": "*",
    "∙": "*",
    "÷": "/",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "√": " sqrt ",
    "∧": " and ",
    "∨": " or ",
}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+(?![A-Za-z_]))?)"
    r"|(?P<name>[A-Za-z_σπ][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/^()\[\],;<>=|.'\"{}:@%&~!#$`\\?]))"
)
OPERATORS = frozenset("** <= >= == != - + * / ^ ( ) [ ] , ; < > = |".split())


@dataclass(frozen=True)
class Tok:
    """One token: kind is num, name, op or end; pos is 0-based in the original text."""

    kind: str
    text: str
    pos: int


def normalise(text: str) -> tuple[str, list[int]]:
    """The text with unicode replaced, and for each of its characters the original index.

    Args: text: as the user wrote it. Returns (plain text, original index per char).
    """
    out: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _SUPER:
            j = i
            while j < len(text) and text[j] in _SUPER:
                j += 1
            rep = "^" + "".join(_SUPER[c] for c in text[i:j])
            out.append(rep)
            where += [i] * len(rep)
            i = j
            continue
        rep = _PLAIN.get(ch, ch)
        out.append(rep)
        where += [i] * len(rep)
        i += 1
    return "".join(out), where


def tokenise(text: str, where: list[int]) -> list[Tok]:
    """Tokens of normalised ``text``; ``where`` maps its indices to the original text.

    Args: text: normalised; where: original index per char. Returns the tokens,
    ending with an 'end' token.
    """
    toks, pos = [], 0
    where = [*where, where[-1] + 1 if where else 0]
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            start = len(text[pos:]) - len(text[pos:].lstrip()) + pos
            raise FormulaError(
                f"unexpected character {text[start]!r} at position {where[start] + 1}: "
                "use numbers, z, names, + - * / ^ ( ) | and comparisons"
            )
        kind = m.lastgroup
        toks.append(Tok(kind, m.group(kind), where[m.start(kind)]))
        pos = m.end()
    toks.append(Tok("end", "", where[len(text)] if text else 0))
    return toks
