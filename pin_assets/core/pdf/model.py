"""What the PDF converter's passes hand each other: spans, rows, placed units, Markdown elements, pages
and document-wide style, plus the small geometry helpers every pass shares."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property


@dataclass(frozen=True)
class Span:
    """A run of text with one style; superscripts stay plain so footnote marks do not become bold.
    ``superscript`` and ``subscript`` runs sit above or below their row's baseline (see ``lines``)."""

    text: str
    size: float
    bold: bool
    italic: bool
    mono: bool
    superscript: bool
    x0: float
    x1: float
    subscript: bool = False
    baseline: float | None = None  # y of the run's baseline on the page, where MuPDF gives it

    @property
    def script(self) -> bool:
        """Whether the run is a superscript or a subscript (footnote marks, exponents, indices)."""
        return self.superscript or self.subscript


@dataclass
class Row:
    """One visual line: the PyMuPDF lines sharing a baseline, in reading direction. A ``rotated`` row
    holds lines that run up, down or upside down the page; its box is its extent on the page."""

    spans: list[Span]
    x0: float
    y0: float
    x1: float
    y1: float
    rotated: bool = False

    @cached_property
    def text(self) -> str:
        """The row's text; cached, as every pass asks for it and a row's spans never change."""
        return "".join(s.text for s in self.spans)

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @cached_property
    def size(self) -> float:
        """The size most characters have, so a big initial or a footnote mark does not decide it."""
        sizes: Counter[float] = Counter()
        for s in self.spans:
            if not s.script and s.text.strip():
                sizes[round(s.size * 2) / 2] += len(s.text.strip())
        return sizes.most_common(1)[0][0] if sizes else round(self.spans[0].size * 2) / 2

    def all(self, attr: str) -> bool:
        """Whether every visible character has a style (bold, italic, mono)."""
        visible = [s for s in self.spans if s.text.strip() and not s.script]
        return bool(visible) and all(getattr(s, attr) for s in visible)

    def without_prefix(self, chars: int) -> Row:
        """The row minus its first ``chars`` characters (a list marker or footnote mark that the element
        carries instead), spans emptied by the cut dropped."""
        spans = []
        for span in self.spans:
            cut = min(chars, len(span.text))
            chars -= cut
            if span.text[cut:]:
                spans.append(replace(span, text=span.text[cut:]))
        return Row(spans, self.x0, self.y0, self.x1, self.y1, self.rotated)


@dataclass
class Unit:
    """A block placed on the page: text rows, a table (Markdown ready) or an image occurrence."""

    kind: str  # "text" | "table" | "image" | "footnote" (rows without the mark, which ``markdown`` holds)
    x0: float
    y0: float
    x1: float
    y1: float
    rows: list[Row] = field(default_factory=list)
    markdown: str = ""
    image: dict | None = None


@dataclass
class Element:
    """A Markdown block being built from rows: heading, paragraph, list item, code, table or image."""

    kind: str
    rows: list[Row] = field(default_factory=list)
    marker: str = ""
    level: int = 0
    unit: Unit | None = None
    start_x: float = 0.0  # where a list item's marker starts, to tell continuation lines
    segment: int = 0  # index of the first row after the last column break (a paragraph that flows on)
    continued: bool = False  # a paragraph carrying on the previous page's last one (rendered without a break)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        if self.unit is not None:
            return self.unit.x0, self.unit.y0, self.unit.x1, self.unit.y1
        return (min(r.x0 for r in self.rows), min(r.y0 for r in self.rows),
                max(r.x1 for r in self.rows), max(r.y1 for r in self.rows))


@dataclass(frozen=True)
class Region:
    """A box the layout model found, in the page's reading frame (the coordinates of its rows and units).

    ``kind`` is the model's class: text, title, figure, figure_caption, table, table_caption, header,
    footer, reference or equation. A region is evidence for the passes that read the page (running heads,
    tables without rules, figures drawn as paths, titles, equations, footnote areas), not a block of text.
    """

    kind: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1

    def covers(self, x0: float, y0: float, x1: float, y1: float, share: float = 0.5) -> bool:
        """Whether at least ``share`` of the box (x0, y0, x1, y1) lies inside this region."""
        w = max(0.0, min(x1, self.x1) - max(x0, self.x0))
        h = max(0.0, min(y1, self.y1) - max(y0, self.y0))
        area = max((x1 - x0) * (y1 - y0), 1e-6)
        return w * h >= share * area


@dataclass
class Page:
    """What the first pass learned about one page; ``regions`` are the layout model's boxes (empty when the
    model is off or unavailable)."""

    width: float
    height: float
    units: list[Unit]
    text_chars: int
    image_cover: float
    regions: list[Region] = field(default_factory=list)
    # text read from large pictures (picture_text.py): no part of page furniture or the document's style
    picture_text: list[Unit] = field(default_factory=list)

    def regions_of(self, *kinds: str) -> list[Region]:
        """The layout regions of the given kinds."""
        return [r for r in self.regions if r.kind in kinds]


@dataclass
class Style:
    """Document-wide facts the second pass needs: body size, heading levels, running lines, hyphens."""

    body: float
    levels: dict[float, int]
    running: set[str]
    hyphenated: set[str]


def union_box(boxes: Iterable[tuple]) -> tuple[float, float, float, float]:
    """The box enclosing ``boxes`` (x0, y0, x1, y1 each)."""
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def text_unit(rows: list[Row]) -> Unit:
    """A text unit whose box is the union of its rows."""
    return Unit("text", min(r.x0 for r in rows), min(r.y0 for r in rows),
                 max(r.x1 for r in rows), max(r.y1 for r in rows), rows=rows)


def center_in(row: Row, unit: Unit) -> bool:
    """Whether a row's centre lies inside a unit, used to keep table text out of paragraphs."""
    cx, cy = (row.x0 + row.x1) / 2, (row.y0 + row.y1) / 2
    return unit.x0 <= cx <= unit.x1 and unit.y0 <= cy <= unit.y1


def text_rows(page: Page) -> Iterator[Row]:
    """All text rows of a page, in no particular order."""
    for unit in page.units:
        yield from unit.rows


def cluster(values: list[float], tolerance: float = 1.5) -> list[float]:
    """Collapse coordinates closer than ``tolerance`` points: cell edges are never drawn exactly."""
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > tolerance:
            out.append(v)
    return out


CAPTION_RE = re.compile(
    r"^\s*(\[?(fig(ure)?|table|tab|listing|chart|plate|scheme|photo|image|abbildung|tabelle|표|그림)"
    r"\.?\s*[\dIVX]+|(표|그림)\s*\d)",
    re.IGNORECASE,
)
