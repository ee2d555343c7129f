"""Markdown blocks from ordered rows: which rows continue a paragraph or list item and which start a new
paragraph, list item or code block.

A paragraph also continues across a column break, past a figure or table set between its halves, and
across a page break (see :func:`flows_on`), when the text says so: the last line before the break is full
and ends without closing punctuation, and the first line after it is set in the same size and weight and
starts in mid-sentence (a small letter, or after a comma or a hyphen).
"""

from __future__ import annotations

import re
import statistics

from pin_assets.core.pdf.cjk import CJK_RE
from pin_assets.core.pdf.headings import DATE_RE, classify_headings
from pin_assets.core.pdf.model import Element, Row, Style, Unit

_BULLET_RE = re.compile(r"^\s*([•◦▪▫‣●○■□►▸➢➤✓✔·\uf0b7\uf0a7\uf0d8\uf076\uf0fc]\s*|[-–]\s+)")
_NUMBER_RE = re.compile(r"^\s*(\d{1,3})([.)])\s+")
_LABEL_RE = re.compile(r"^\s*(\(\d{1,3}\)|\(?[a-z]\)|\(?[ivx]{1,4}\))\s+")


def build_elements(units: list[Unit], style: Style) -> list[Element]:
    """Group ordered rows into Markdown blocks; tables and images pass through as they are."""
    elements: list[Element] = []
    rows = [r for u in units for r in u.rows if not r.rotated]
    gap = _typical_gap(rows)
    line = line_width(rows, style)
    current: Element | None = None
    for unit in units:
        if unit.kind == "footnote":  # rows without their mark, which the unit carries
            elements.append(Element("footnote", list(unit.rows), marker=unit.markdown))
            current = None
            continue
        if unit.kind != "text":
            elements.append(Element(unit.kind, unit=unit))
            current = None
            continue
        for row in unit.rows:
            if current is not None and _continues(current, row, style, gap, line):
                current.rows.append(row)
                continue
            broken = _last_paragraph(elements)
            if broken is not None and flows_on(broken, row, style, line):
                _resume(broken, row)
                current = broken
                continue
            current = _start_element(row)
            elements.append(current)
    classify_headings(elements, style)
    return elements


_CLOSED_RE = re.compile(r"[.!?:;…。！？][\"'”’»)\]]*$")
_OPEN_RE = re.compile(r"[,\-\u2010–(\[]$")


def _last_paragraph(elements: list[Element]) -> Element | None:
    """The paragraph a row could resume: the last text element, when only figures, tables and footnotes
    follow it."""
    for element in reversed(elements):
        if element.kind in ("image", "table", "footnote"):
            continue
        return element if element.kind == "para" else None
    return None


def _resume(paragraph: Element, row: Row) -> None:
    """Append ``row`` to ``paragraph``; figures and tables set between its halves now follow it."""
    paragraph.rows.append(row)
    paragraph.segment = len(paragraph.rows) - 1


def flows_on(element: Element, row: Row, style: Style, line: float) -> bool:
    """Whether ``row``, which does not continue ``element`` where it stands (it opens another column,
    follows a figure, or starts the next page), carries on its sentence.

    The paragraph's last line must be full (as wide as the paragraph's other lines, or as a body line)
    and end open (no closing punctuation); ``row`` must be body text of the same size and weight as that
    line, not a list item or code, and start in mid-sentence: a small letter, or anything after a line
    that ended with a comma, a hyphen or an opening bracket.
    """
    if element.kind != "para" or not element.rows:
        return False
    prev = element.rows[-1]
    if row.rotated or prev.rotated or row.all("mono") or _list_marker(row.text) is not None:
        return False
    if prev.size in style.levels or abs(row.size - prev.size) > 0.6 or row.all("bold") != prev.all("bold"):
        return False
    before, after = prev.text.rstrip(), row.text.lstrip()
    if not before or not after or _CLOSED_RE.search(before):
        return False
    segment = element.rows[element.segment:]
    widest = max(r.x1 - r.x0 for r in segment)
    if prev.x1 - prev.x0 < 0.85 * (widest if len(segment) > 1 else max(line, widest)):
        return False  # a short last line ends its paragraph, whatever its last character
    first = after[0]
    caseless = first.isalpha() and not first.isupper() and not first.islower()  # Han, kana, Hangul, Arabic...
    return first.islower() or caseless or (bool(_OPEN_RE.search(before)) and (first.isalnum() or first == "("))


def _typical_gap(rows: list[Row]) -> float:
    """Median whitespace between consecutive lines of a column: the page's normal line spacing."""
    gaps = [
        b.y0 - a.y1
        for a, b in zip(rows, rows[1:], strict=False)
        if b.x0 < a.x1 and b.x1 > a.x0 and -0.5 * a.height <= b.y0 - a.y1 <= 1.5 * a.height
    ]
    return statistics.median(gaps) if len(gaps) >= 3 else 0.2 * (rows[0].height if rows else 10)


def line_width(rows: list[Row], style: Style) -> float:
    """How wide a full line of body text is on this page (a column's width): the width most body rows
    reach, so a short line in a heading size can be told from one a title filled and wrapped."""
    widths = sorted(r.x1 - r.x0 for r in rows if abs(r.size - style.body) <= 0.6 and not r.rotated)
    return widths[int(0.8 * (len(widths) - 1))] if widths else 0.0


def _start_element(row: Row) -> Element:
    """Begin a code block, list item or paragraph with this row."""
    if row.all("mono"):
        return Element("code", [row])
    marker = _list_marker(row.text)
    if marker is not None:
        return Element("list", [_without_marker(row)], marker=marker, start_x=row.x0)
    return Element("para", [row])


def _list_marker(text: str) -> str | None:
    """The Markdown marker for a row that starts a list item, or None.

    Bullets become "-", "1." and "1)" stay ordered (CommonMark accepts both delimiters), and letter or
    parenthesised labels, which Markdown cannot number, become "- a)" items keeping their label.
    """
    if _BULLET_RE.match(text) and _BULLET_RE.sub("", text, count=1).strip():
        return "-"
    match = _NUMBER_RE.match(text)
    if match:
        return f"{match.group(1)}{match.group(2)}"
    match = _LABEL_RE.match(text)
    if match:
        return f"- {match.group(1)}"
    return None


def _continues(element: Element, row: Row, style: Style, gap: float, line: float) -> bool:
    """Whether a row continues the current block rather than starting a new one. A row set in a
    heading size continues only a line that was filled: a title wraps, an author or date line under
    it stands alone. (CJK titles are short and wrap anywhere, so only a date stops them.)"""
    prev = element.rows[-1]
    if element.kind == "code":
        return row.all("mono") and 0 <= row.y0 - prev.y1 < 1.5 * prev.height + gap
    if element.kind not in ("para", "list") or row.all("mono") or _list_marker(row.text) is not None:
        return False
    if row.rotated or prev.rotated:
        return False
    if prev.size in style.levels and (DATE_RE.match(row.text) or (
            line and prev.x1 - prev.x0 < 0.6 * line and not CJK_RE.search(prev.text))):
        return False
    if abs(row.size - prev.size) > 0.6 or not (row.x0 < prev.x1 and row.x1 > prev.x0):
        return False
    if not -0.5 * prev.height <= row.y0 - prev.y1 <= gap + 0.5 * min(prev.height, row.height):
        return False
    segment = element.rows[element.segment:]  # the rows since the paragraph last crossed a column break
    left = min(r.x0 for r in segment[1:]) if len(segment) > 1 else segment[0].x0
    if element.kind == "list":
        return row.x0 > element.start_x + 0.3 * row.size
    centered = abs(row.x0 + row.x1 - prev.x0 - prev.x1) < 1.2 * row.size  # a centred title's next line
    if row.x0 > left + 0.6 * row.size and not (prev.size in style.levels and centered):
        return False
    return not _ends_standalone(element, row)


def _ends_standalone(element: Element, row: Row) -> bool:
    """A short fully bold or italic first line followed by plain text is a run-in heading line, and a
    short line ending a sentence closes its paragraph."""
    prev = element.rows[-1]
    text = prev.text.strip()
    emphasized = prev.all("bold") or prev.all("italic")
    plain_next = not (row.all("bold") or row.all("italic"))
    short = len(text) <= 80 and not text.endswith((".", ",", ";"))
    if len(element.rows) == 1 and emphasized and plain_next and short:
        return True
    segment = element.rows[element.segment:]
    right = max(r.x1 for r in segment)
    return len(segment) > 1 and prev.x1 < right - 4 * prev.size and text.endswith((".", "!", "?", ":"))


def _without_marker(row: Row) -> Row:
    """The row minus its bullet or number, which the Markdown list marker now carries."""
    match = _BULLET_RE.match(row.text) or _NUMBER_RE.match(row.text) or _LABEL_RE.match(row.text)
    return row.without_prefix(match.end() if match else 0)
