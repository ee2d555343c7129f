"""Inline text of a block: rows joined across line ends (hyphenation repaired), emphasis and code
markers, and escaping so plain text is not read as Markdown syntax."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pin_assets.core.pdf.model import Row, Style

_HYPHENS = "-\u2010\u00ad"


def plain_text(rows: list[Row], style: Style) -> str:
    """Row text joined across line ends, without emphasis markers."""
    return "".join(text for text, *_ in _joined_segments(rows, style))


def inline_text(rows: list[Row], style: Style) -> str:
    """Row text joined across line ends with **bold**, *italic* and `code` runs."""
    runs: list[list] = []
    for text, bold, italic, mono in _joined_segments(rows, style):
        if runs and (not text.strip() or runs[-1][1:] == [bold, italic, mono]):
            runs[-1][0] += text
        else:
            runs.append([text, bold, italic, mono])
    return "".join(_emphasize(*run) for run in runs).strip()


def _joined_segments(rows: list[Row], style: Style) -> Iterator[tuple[str, bool, bool, bool]]:
    """Span texts with styles, joining rows with a space or, for a word hyphenated at the line end,
    with nothing (keeping the hyphen when the document spells the word with one elsewhere)."""
    previous = ""
    for i, row in enumerate(rows):
        spans = [s for s in row.spans if s.text]
        if i:
            joiner, drop = _line_join(previous, row.text.lstrip(), style)
            if drop:
                yield "\x00", False, False, False  # marks the hyphen to remove
            if joiner:
                yield joiner, False, False, False
        for j, span in enumerate(spans):
            text = span.text.lstrip() if j == 0 else span.text
            text = text.rstrip() if j == len(spans) - 1 else text
            plain = span.superscript or not re.search(r"[^\W\d_]", text)
            yield text, span.bold and not plain, span.italic and not plain, span.mono and not span.superscript
        previous = row.text.rstrip()


def _line_join(previous: str, following: str, style: Style) -> tuple[str, bool]:
    """How to join two lines: the separator and whether the trailing hyphen must go."""
    match = re.search(r"(\w+)[" + _HYPHENS + r"]$", previous)
    nxt = re.match(r"\w+", following)
    if not match or not nxt:
        return " ", False
    if previous.endswith("\u00ad") or (
        nxt.group(0)[0].islower() and f"{match.group(1)}-{nxt.group(0)}".lower() not in style.hyphenated
    ):
        return "", True
    return "", False


def _emphasize(text: str, bold: bool, italic: bool, mono: bool) -> str:
    """Wrap a run in Markdown emphasis, keeping surrounding spaces outside the markers."""
    text = _remove_hyphen_marks(text)
    core = text.strip()
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    if mono and not (bold or italic):
        tick = "``" if "`" in core else "`"
        return f"{lead}{tick}{core}{tick}{trail}"
    core = _escape(core)
    mark = "***" if bold and italic else "**" if bold else "*" if italic else ""
    return f"{lead}{mark}{core}{mark}{trail}"


def _remove_hyphen_marks(text: str) -> str:
    """Drop the hyphen that precedes a removal mark inserted by `_joined_segments`."""
    return re.sub(r"[" + _HYPHENS + r"]\s*\x00", "", text).replace("\x00", "")


def _escape(text: str) -> str:
    """Escape characters that would turn plain text into emphasis, code or raw HTML."""
    text = re.sub(r"([\\`*_])", r"\\\1", text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def escape_start(text: str) -> str:
    """Keep a paragraph that begins like a heading, quote or list item from being read as one."""
    return re.sub(r"^([#>+]|\d{1,3}[.)]\s|[-*]\s)", r"\\\1", text)
