"""Split page-less Markdown into pages, the way PIN's ``f_page`` does for text sources.

Sources without pages (JATS, HTML, text) still get one overall image per page, so their Markdown needs
page boundaries. The rule is a line budget, computed from the Markdown alone so it is cheap,
deterministic and independent of fonts:

* the document is cut into blocks at blank lines (a block owns the blank lines that follow it);
* a text line costs ``ceil(len / chars_per_line)`` wrapped lines (at least 1), each image costs
  ``lines_per_image``, each blank line costs 1;
* a page holds at most ``max_lines``; a block that does not fit on the current page starts a new page;
* a block longer than a whole page is split at line boundaries, and a single line longer than a page is
  split at the last whitespace before the page's character budget.

Page boundaries are character offsets, so ``[md[a:b] for a, b in zip(offsets, offsets[1:] + [len(md)])]``
re-joins to the document exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MAX_LINES = 50
CHARS_PER_LINE = 80
PAGE_CHARS = MAX_LINES * CHARS_PER_LINE  # what one compiled page holds by the default rule


@dataclass(frozen=True)
class _Piece:
    """A line (or a slice of an over-long line) with its offset and its cost in wrapped lines."""

    offset: int
    cost: int
    blank: bool


def paginate(
    markdown: str, *, max_lines: int = MAX_LINES, chars_per_line: int = CHARS_PER_LINE, lines_per_image: int = 12
) -> list[int]:
    """Return page start offsets into ``markdown`` (the first is always 0) by the module's line rule."""
    if min(max_lines, chars_per_line, lines_per_image) < 1:
        raise ValueError("max_lines, chars_per_line and lines_per_image must be positive")
    starts = [0]
    used = 0
    for block in _blocks(markdown, max_lines, chars_per_line, lines_per_image):
        content = sum(p.cost for p in block if not p.blank)
        total = sum(p.cost for p in block)
        if used and used + content > max_lines:
            starts.append(block[0].offset)
            used = 0
        if content <= max_lines:
            used += total
            continue
        for piece in block:
            if used and used + piece.cost > max_lines and not piece.blank:
                starts.append(piece.offset)
                used = 0
            used += piece.cost
    return starts


def split_pages(markdown: str, offsets: list[int]) -> list[str]:
    """The page texts for ``offsets``; joining them gives ``markdown`` back."""
    ends = offsets[1:] + [len(markdown)]
    return [markdown[a:b] for a, b in zip(offsets, ends, strict=True)]


def _blocks(markdown: str, max_lines: int, chars_per_line: int, lines_per_image: int) -> list[list[_Piece]]:
    """Group lines into blocks: a run of non-blank lines plus the blank lines after it."""
    blocks: list[list[_Piece]] = []
    current: list[_Piece] = []
    offset = 0
    for line in markdown.splitlines(keepends=True):
        blank = not line.strip()
        if not blank and current and current[-1].blank:
            blocks.append(current)
            current = []
        current.extend(_pieces(line, offset, max_lines, chars_per_line, lines_per_image))
        offset += len(line)
    if current:
        blocks.append(current)
    return blocks


def _pieces(
    line: str, offset: int, max_lines: int, chars_per_line: int, lines_per_image: int
) -> list[_Piece]:
    """One piece per line, or several when one line alone would overflow a page."""
    if not line.strip():
        return [_Piece(offset, 1, True)]
    cost = _line_cost(line, chars_per_line, lines_per_image)
    if cost <= max_lines or _IMAGE.search(line):
        return [_Piece(offset, cost, False)]
    budget = max_lines * chars_per_line
    pieces: list[_Piece] = []
    start = 0
    while len(line) - start > budget:
        cut = line.rfind(" ", start + 1, start + budget + 1)
        cut = cut + 1 if cut > start else start + budget
        pieces.append(
            _Piece(offset + start, _line_cost(line[start:cut], chars_per_line, lines_per_image), False)
        )
        start = cut
    pieces.append(_Piece(offset + start, _line_cost(line[start:], chars_per_line, lines_per_image), False))
    return pieces


def _line_cost(line: str, chars_per_line: int, lines_per_image: int) -> int:
    """Wrapped-line count of the text plus ``lines_per_image`` per inline image."""
    images = len(_IMAGE.findall(line))
    text = _IMAGE.sub("", line).strip()
    text_cost = math.ceil(len(text) / chars_per_line) if text else 0
    return max(1, text_cost + images * lines_per_image)
