"""Running headers, footers and page numbers, dropped before reading order is decided.

Four kinds of evidence, so that a one-page document is cleaned as well as a long one: repetition
(margin lines that recur on half the pages), patterns (page numbers, "Downloaded from ...", DOIs,
ISSNs, copyright and price lines, journal citation lines such as "Journal of X 310 (2005) 253-265" or
"Proc. R. Soc. Lond. B (2004) 271, 147-152", volume and issue lines, publishers' banners such as
"Electronic Supplementary Material (ESI) for ..."), lines turned along the side edge beside all the text
that carry such a mark or a page number (a landscape page's running head),
position (the outermost lines of the page, set smaller than the body text and standing apart
from it), and the layout model's header and footer regions (journal banners, a manual's title on
every page, "Chapter 17: Programming", which no pattern names). Only lines between the page edge and
the first line of content are candidates: a URL or a DOI in the middle of the text is content.

The model's word is checked against what a running head looks like, because a model trained on papers
also calls a paper's title, a section heading at the top of a page or a slide's heading a header: a
line in a header or footer region must stand in the outer fifth of the page, must not be a caption,
must not be set bigger than the body text (except in the outermost band, and smaller than the page's
biggest text) nor in bold close to the body text, and the lines the model would remove must not be most
of the page's text (a slide or a letter with one line above a picture).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from pin_assets.core.pdf.model import CAPTION_RE, Page, Region, Row, Style, Unit, text_rows, text_unit

_PAGE_NUMBER_RE = re.compile(
    r"^\W*((page|p\.|seite|página|страница)\s*)?(\d{1,5}([-–.]\d{1,5})?|[ivxlc]{1,6})"  # 15725: ACL's pages
    r"(\s*(/|of|von|de|из)\s*\d{1,4})?\W*$",
    re.IGNORECASE,
)
_EDGE_NUMBER_RE = re.compile(r"^\d{1,4}\s\s*\S|\S\s*\s\d{1,4}$")
# Lines that are boilerplate wherever they stand at the page's edge.
_BOILERPLATE_RE = re.compile(
    r"^\W*(downloaded|accessed|retrieved|printed)\s+(from|for|by|on)\b"
    r"|all rights reserved|see front matter|\bissn\b|\bisbn\b|^\s*\d[\d-]{8,}\d/\d\d/\$\d+\.\d\d"
    r"|^\W*(©|\(c\)|copyright|[\uf6d9\uf8e9])\s*\d{4}|^\s*arxiv:\d{4}\.\d{4,5}"  # U+F6D9, U+F8E9: Symbol's ©
    r"|^\W*electronic supplementary (material|information) \(esi\) for\b|^\W*this journal is\s*(©|\(c\))"
    r"|^\W*\d{4,7}\s*-\s*\$\d+\.\d\d\s*usd\b",  # "#176000 - $15.00 USD"
    re.IGNORECASE,
)
# Lines that are boilerplate at the edge when set apart (smaller than the body, or a gap away from it).
_EDGE_LINE_RE = re.compile(
    r"^\s*(url:\s*)?((https?://|www\.)\S+|doi:?\s*10\.\d{4,}/\S+|doi:\s*\S+|\S+\s+doi:\s*\S+)\s*$"
    r"|^[^\W\d][^()]{2,80}\s\d{1,4}\s*(\(\d{1,2}\))?\s*\(\d{4}\)\s*[\d\w]+\s*[-–]\s*[\d\w]+\s*$"
    r"|^[^\W\d][^()]{2,80}\(\d{4}\)\s*\d{1,4},\s*\d+\s*[-–]\s*\d+\b"  # "Proc. R. Soc. B (2004) 271, 147-152"
    r"|[/|]\s*vol(\.|ume)\s*\d+\s*[,/|]?\s*(no\.?|issue)\s*\d+\s*[/|]",  # "2012 / Vol. 3, No. 12 / ..."
    re.IGNORECASE,
)
_EDGE_ZONE = 0.2  # candidates lie within this share of the page height from the top or bottom
_BAND = 0.12  # unpatterned small lines set apart from the body must lie closer still
_FOOTER_ROWS = 4  # rows a footer under the page number holds at most
_FOOT_BAND = 0.07  # closer yet at the foot, where footnotes also stand small and apart
_FOOTNOTE_RE = re.compile(r"^\s*([*†‡§¶]|\d{1,2}\s?[^\d\s.,])")
_SIDE_BAND = 0.12  # a turned running head stands within this share of the page width from a side edge
_MODEL_ZONE = 0.2  # a line in a model's header or footer region must lie within this share of the page edge
_MODEL_BAND = 0.06  # ... and within this share when it is set bigger than the body text
_MODEL_SCORE = 0.5  # header and footer regions less sure than this are no evidence


def _margin_rows(page: Page, share: float = 0.14) -> Iterator[Row]:
    """Rows in the top or bottom share of the page, where running headers and footers live."""
    for row in text_rows(page):
        if row.rotated:  # lines running up or down the page are no running headers or footers
            continue
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
    rows = [r for r in text_rows(page) if not r.rotated]
    top = min((r.y0 for r in rows), default=0.0)
    bottom = max((r.y1 for r in rows), default=0.0)
    margin = {id(r) for r in _margin_rows(page)}
    margin |= {id(r) for r in _margin_rows(page, 0.25) if abs(r.y0 - top) < 1 or abs(r.y1 - bottom) < 1}
    edge = _edge_rows(rows, page, style, from_top=True) | _edge_rows(rows, page, style, from_top=False)
    edge |= _below_page_number(rows, page)
    edge |= _model_rows(rows, page, style) | _side_rows(rows, page)
    edge |= {id(r) for r in rows if id(r) in margin and _is_running(r, style, top, bottom, rows)}
    units = []
    for unit in page.units:
        if unit.kind != "text":
            units.append(unit)
            continue
        kept = [r for r in unit.rows if id(r) not in edge]
        if kept:
            units.append(text_unit(kept))
    return units


def _is_running(row: Row, style: Style, top: float, bottom: float, rows: list[Row]) -> bool:
    """A margin row is running text if it repeats across pages, is a page number, or is the page's
    outermost row carrying a page number at one end (a header like "Title of the paper   9") with some
    white space between it and the text: the first entry of an index column ("deleting, 281") carries a
    page number too, set as close to the entry under it as the rest of the column."""
    text = " ".join(row.text.split())
    if _running_key(text) in style.running or _PAGE_NUMBER_RE.match(text):
        return True
    at_top = abs(row.y0 - top) < 1
    if not (at_top or abs(row.y1 - bottom) < 1) or row.size > style.body or row.all("bold"):
        return False
    if not _EDGE_NUMBER_RE.search(text):
        return False
    ordered = sorted(rows, key=lambda r: r.y0) if at_top else sorted(rows, key=lambda r: -r.y1)
    return _gap_inwards(row, [r for r in ordered if r is not row], at_top) >= 0.5 * row.height


def _edge_rows(rows: list[Row], page: Page, style: Style, from_top: bool) -> set[int]:
    """Rows running from one page edge inwards that are headers or footers, up to the first that is not.

    A row qualifies by a boilerplate pattern, by being a page number, or, when it is small and stands
    apart from the rest of the text (a running title above a gap), by position alone.
    """
    ordered = sorted(rows, key=lambda r: r.y0) if from_top else sorted(rows, key=lambda r: -r.y1)
    found: set[int] = set()
    for index, row in enumerate(ordered):
        distance = row.y0 if from_top else page.height - row.y1
        if distance > _EDGE_ZONE * page.height:
            break
        text = " ".join(row.text.split())
        small = row.size < style.body - 0.5
        apart = small or _gap_inwards(row, ordered[index + 1:], from_top) >= 1.5 * max(style.body, row.height)
        if (_BOILERPLATE_RE.search(text) or _PAGE_NUMBER_RE.match(text)
                or (apart and _EDGE_LINE_RE.search(text))
                or (distance <= (_BAND if from_top else _FOOT_BAND) * page.height and small and apart
                    and not row.all("bold") and not (not from_top and _FOOTNOTE_RE.match(text))
                    and _gap_inwards(row, ordered[index + 1:], from_top) >= 1.5 * style.body)):
            found.add(id(row))
            continue
        if any(abs(other.y0 - row.y0) < 1 for other in ordered[index + 1:index + 3]):
            continue  # another row on the same line (a header's other half) still gets its turn
        break
    return found


def _below_page_number(rows: list[Row], page: Page) -> set[int]:
    """Rows under the page number at the foot of the page: a footer set below it (a proceedings citation
    and its copyright line under an ACL paper's first-page number), which no text of the page follows.
    The number must stand alone on its line, so a table's number cell is no page number, and have a few
    rows under it at most (more are text of the page under a number of its own: an equation's)."""
    found: set[int] = set()
    for row in rows:
        if page.height - row.y1 > _EDGE_ZONE * page.height or not _PAGE_NUMBER_RE.match(" ".join(row.text.split())):
            continue
        if any(o is not row and o.y0 < row.y1 and row.y0 < o.y1 for o in rows):
            continue  # something beside it on its line
        below = [o for o in rows if o.y0 >= row.y1 - 0.2 * row.height]
        if len(below) <= _FOOTER_ROWS:
            found |= {id(row)} | {id(o) for o in below}
    return found


def _side_rows(rows: list[Row], page: Page) -> set[int]:
    """The outermost line running up or down the page on each side, when it stands beside all the
    horizontal text, near the edge and apart from other turned lines, and reads as furniture: a running
    head with its page number ("Transition in Turner syndrome, 2015, Vol. 113   47") set along the edge of
    a landscape page, a copyright or DOI stamp. The rows of a turned table (close together, however far
    out) and side notes without such a mark stay."""
    if not rows:
        return set()
    left, right = min(r.x0 for r in rows), max(r.x1 for r in rows)
    turned = [r for r in text_rows(page) if r.rotated and not (left < r.x1 and r.x0 < right)]
    found = set()
    for side in (-1, 1):
        out = sorted((r for r in turned if (r.x0 >= right if side > 0 else r.x1 <= left)),
                     key=lambda r: -r.x1 if side > 0 else r.x0)
        if not out:
            continue
        row = out[0]
        near = row.x0 >= (1 - _SIDE_BAND) * page.width if side > 0 else row.x1 <= _SIDE_BAND * page.width
        thick = row.x1 - row.x0
        apart = all((row.x0 - r.x1 if side > 0 else r.x0 - row.x1) >= thick for r in out[1:])
        text = " ".join(row.text.split())
        if near and apart and (_BOILERPLATE_RE.search(text) or _PAGE_NUMBER_RE.match(text)
                               or _EDGE_LINE_RE.search(text) or _EDGE_NUMBER_RE.search(text)):
            found.add(id(row))
    return found


def _gap_inwards(row: Row, rest: list[Row], from_top: bool) -> float:
    """White space between a row and the next row towards the middle of the page (rows on its own
    line do not count)."""
    if from_top:
        below = [r.y0 - row.y1 for r in rest if r.y0 >= row.y1 - 0.3 * row.height]
        return min(below, default=float("inf"))
    above = [row.y0 - r.y1 for r in rest if r.y1 <= row.y0 + 0.3 * row.height]
    return min(above, default=float("inf"))


def _model_rows(rows: list[Row], page: Page, style: Style) -> set[int]:
    """Rows the layout model put in a header or footer region that also look like page furniture."""
    regions = [r for r in page.regions_of("header", "footer") if r.score >= _MODEL_SCORE]
    if not regions:
        return set()
    biggest = max((r.size for r in rows), default=0.0)
    found = []
    for row in rows:
        region = next((r for r in regions if r.covers(row.x0, row.y0, row.x1, row.y1)), None)
        if region is not None and _furniture_like(row, region, page, style, biggest):
            found.append(row)
    candidates = {id(r) for r in found}
    body = [r for r in rows if id(r) not in candidates]
    found = [r for r in found if not _heading_like(r, body, page, style)]
    chars = sum(len(r.text.strip()) for r in found)
    tables = sum(len(u.markdown) for u in page.units if u.kind == "table")
    if chars > sum(len(r.text.strip()) for r in rows) + tables - chars:
        return set()  # most of the page's text: a sparse page (a letter's opening, a slide), not furniture
    return {id(r) for r in found}


def _heading_like(row: Row, body: list[Row], page: Page, style: Style) -> bool:
    """A bold line at body size close above (or below) the body text is a title or a heading the model
    took for a header; a running line in bold stands apart from the body or is set smaller."""
    if not row.all("bold") or row.size < style.body - 0.5:
        return False
    top = row.y0 < page.height / 2
    ordered = sorted(body, key=lambda r: r.y0) if top else sorted(body, key=lambda r: -r.y1)
    return _gap_inwards(row, ordered, top) < 1.5 * max(style.body, row.height)


def _furniture_like(row: Row, region: Region, page: Page, style: Style, biggest: float) -> bool:
    """Whether a row in a header or footer region stands where running lines stand and is set like one:
    at most the body size, or bigger only in the outermost band and smaller than the page's title."""
    distance = row.y0 if region.kind == "header" else page.height - row.y1
    if distance > _MODEL_ZONE * page.height or CAPTION_RE.match(row.text):
        return False
    if row.size <= style.body + 0.5:
        return True
    return distance <= _MODEL_BAND * page.height and row.size < biggest - 0.5
