"""Running headers, footers and page numbers: margin rows that repeat across pages or look like page
numbers are dropped before reading order is decided."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from pin_assets.core.pdf.model import Page, Row, Style, Unit, text_rows, text_unit

_PAGE_NUMBER_RE = re.compile(
    r"^\W*((page|p\.|seite|página|страница)\s*)?(\d{1,4}([-–.]\d{1,4})?|[ivxlc]{1,6})"
    r"(\s*(/|of|von|de|из)\s*\d{1,4})?\W*$",
    re.IGNORECASE,
)
_EDGE_NUMBER_RE = re.compile(r"^\d{1,4}\s\s*\S|\S\s*\s\d{1,4}$")


def _margin_rows(page: Page, share: float = 0.14) -> Iterator[Row]:
    """Rows in the top or bottom share of the page, where running headers and footers live."""
    for row in text_rows(page):
        if row.y1 < share * page.height or row.y0 > (1 - share) * page.height:
            yield row


def _running_key(text: str) -> str:
    """Compare running lines without their page numbers and spacing."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def running_lines(pages: list[Page]) -> set[str]:
    """Margin lines that repeat on at least half the pages (and at least two) are running headers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_running_key(r.text) for r in _margin_rows(page)})
    need = max(2, (len(pages) + 1) // 2)
    return {key for key, n in seen.items() if n >= need}


def drop_running(page: Page, style: Style) -> list[Unit]:
    """Remove running headers/footers and page numbers, then drop units left empty."""
    rows = [r for r in text_rows(page)]
    top = min((r.y0 for r in rows), default=0.0)
    bottom = max((r.y1 for r in rows), default=0.0)
    margin = {id(r) for r in _margin_rows(page)}
    margin |= {id(r) for r in _margin_rows(page, 0.25) if abs(r.y0 - top) < 1 or abs(r.y1 - bottom) < 1}
    units = []
    for unit in page.units:
        if unit.kind != "text":
            units.append(unit)
            continue
        kept = [r for r in unit.rows if id(r) not in margin or not _is_running(r, style, top, bottom)]
        if kept:
            units.append(text_unit(kept))
    return units


def _is_running(row: Row, style: Style, top: float, bottom: float) -> bool:
    """A margin row is running text if it repeats across pages, is a page number, or is the page's
    outermost row carrying a page number at one end (a header like "Title of the paper   9")."""
    text = " ".join(row.text.split())
    if _running_key(text) in style.running or _PAGE_NUMBER_RE.match(text):
        return True
    outermost = abs(row.y0 - top) < 1 or abs(row.y1 - bottom) < 1
    return outermost and row.size <= style.body and not row.all("bold") and bool(_EDGE_NUMBER_RE.search(text))
