"""Writing source text into Markdown safely, shared by the converters that walk a markup tree.

Text from HTML or JATS must read back as the same text: inline markers are escaped, ``<`` never opens
an HTML tag (so ``p<0.05`` survives), and a paragraph that happens to start like a heading or a list
item keeps its block type.
"""

from __future__ import annotations

import re

_INLINE_MARKER = re.compile(r"([\\`*]|(?<!\w)_|_(?!\w))")
_LEADING_MARK = re.compile(r"^(#{1,6}\s|[-+>]\s|\d{1,9}[.)]\s|={3,}|-{3,})")
_DIGITS = re.compile(r"\d+")


def md_text(text: str) -> str:
    """Escape CommonMark's inline markers and ``<`` in plain text."""
    return _INLINE_MARKER.sub(r"\\\1", text).replace("<", "&lt;")


def escape_leading(text: str) -> str:
    """Escape a paragraph's leading ``#``, ``-``, ``>``, ``1.`` or rule so it stays a paragraph."""
    if not _LEADING_MARK.match(text):
        return text
    digits = _DIGITS.match(text)
    if digits:
        return text[: digits.end()] + "\\" + text[digits.end() :]
    return "\\" + text
