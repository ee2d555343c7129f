"""Footnotes at the foot of a page or column: kept as text, each marked with its mark.

A footnote is small text (set below the body size) in the lower half of the page, with no body text below
it in its column, that starts with a mark: a superscript, a number, a letter or one of ``* † ‡ § ¶``
followed by its text. Lines under it without a mark of their own continue it. Footnotes become units of
their own, kept where they stand in reading order (the foot of their column): a paragraph running from
that column into the next passes over them (see ``blocks``), so the footnotes come right after that
paragraph, and they are not dropped as page furniture. Each is written ``¹ 2020 estimate`` (the mark as a
superscript, the same way the marks in the text are: see :mod:`inline`).
"""

from __future__ import annotations

import re

from pin_assets.core.pdf.model import Element, Row, Style, Unit, text_unit

_MARK_RE = re.compile(r"^\s*([*†‡§¶]{1,3}|\d{1,3}|[a-z])(?:[.)]\s*|\s+|(?=[A-Z]))(?=\S)")  # "1 ", "a) ", "*"
_SMALL = 0.5  # points below the body size
_LOWER = 0.5  # footnotes start in the lower half of the page


def split_footnotes(units: list[Unit], page_height: float, style: Style) -> list[Unit]:
    """The units with footnote rows taken out of their text units into ``footnote`` units (the rows
    without the mark, which the unit carries as its ``markdown``)."""
    rows = [r for u in units if u.kind == "text" for r in u.rows if not r.rotated]
    body = [r for r in rows if r.size >= style.body - _SMALL]
    candidates = [r for r in rows if _at_foot(r, body, page_height, style)]
    notes: list[Element] = []
    taken: set[int] = set()
    for row in sorted(candidates, key=lambda r: r.y0):
        mark = _mark(row)
        if mark is not None:
            marker = mark.group(0).strip().rstrip(".")
            notes.append(Element("footnote", [row.without_prefix(mark.end())], marker=marker))
            taken.add(id(row))
            continue
        owner = next((n for n in reversed(notes) if _below(row, n.rows[-1])), None)
        if owner is not None:
            owner.rows.append(row)
            taken.add(id(row))
    if not notes:
        return units
    kept = []
    for unit in units:
        if unit.kind != "text" or not any(id(r) in taken for r in unit.rows):
            kept.append(unit)
            continue
        rest = [r for r in unit.rows if id(r) not in taken]
        if rest:
            kept.append(text_unit(rest))
    for note in notes:
        box = text_unit(note.rows)
        kept.append(Unit("footnote", box.x0, box.y0, box.x1, box.y1, rows=note.rows, markdown=note.marker))
    return kept


def _at_foot(row: Row, body: list[Row], page_height: float, style: Style) -> bool:
    """Small text in the lower half of the page with no body text below it in its column."""
    if row.size >= style.body - _SMALL or row.y0 < _LOWER * page_height or not row.text.strip():
        return False
    return not any(b.y0 > row.y1 and b.x0 < row.x1 and b.x1 > row.x0 for b in body)


def _mark(row: Row) -> re.Match | None:
    """The footnote mark a row starts with: a superscript first span, or a mark followed by text."""
    first = next((s for s in row.spans if s.text.strip()), None)
    if first is not None and first.superscript:
        return re.match(rf"^\s*({re.escape(first.text.strip())})\s*(?=\S)", row.text)
    return _MARK_RE.match(row.text)


def _below(row: Row, last: Row) -> bool:
    """Whether ``row`` is the next line under ``last`` in the same column."""
    return row.x0 < last.x1 and row.x1 > last.x0 and 0 <= row.y0 - last.y1 < 1.5 * last.height
