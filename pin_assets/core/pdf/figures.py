"""Figures drawn as vector paths (matplotlib, TikZ, Excel and most arXiv charts), kept as content images.

Such a figure has no image to extract: it is a few hundred paths and a few dozen text spans (tick
labels, legend, axis titles). Left alone, its paths vanish and its labels come out as prose or as a
table of tick labels. This pass finds the figure's area, hides the text inside it, and asks for the
area to be rendered like an inline image (see :class:`~pin_assets.core.pdf.images.ImageStore`).

Where a figure is comes from the paths themselves, confirmed or grouped by the layout model:

- *marks* are the paths that draw data or pictures: curves, slanted lines, polygons, and filled
  rectangles with no text inside (bars, legend swatches). Straight rules, outlines and cell shading
  are *structure*: a table is made of them. A box around text (a sidebar, a rounded frame) is
  structure too, however it is drawn;
- marks within a few points of each other form a cluster; a cluster big enough to be a picture (not
  a bullet, an icon or a check box) takes in the structure paths touching it (axes, ticks, frames);
- clusters inside one model ``figure`` region are one figure (the panels of a multi-panel plot);
- short text rows inside the area, or next to it (tick labels, axis titles, legend entries), belong
  to the figure; captions never do. An area holding prose (several long lines of words) is a framed
  text box or a form, not a figure, whatever the model says: its text is read, not hidden;
- filled rectangles alone (form fields, shading) make a figure only where the model sees one (a bar
  chart), in a region smaller than the page (on a form the model may call the whole page a figure).

The model's box is not taken as the figure's area by itself: on a map with a title block it covers the
whole page, title block included, and the title block is text a reader reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import pymupdf

from pin_assets.core.content_images import figure_zoom
from pin_assets.core.pdf.model import CAPTION_RE, Region, Row, Unit, union_box
from pin_assets.core.pdf.rotation import turn_box, unturn_box

FIGURE_DPI = 150  # resolution vector figures are rendered at (content images), up to MAX_FIGURE_SIDE px a side
_GAP = 4.0  # marks closer than this (points) belong to one cluster
_SPACING = 12.0  # clusters closer than this are one figure (the bars of a chart, the dots of a scatter plot)
_MIN_SIDE = 32.0  # a figure is at least this wide and tall (icons, bullets and check boxes are smaller)
_MIN_AREA = 2500.0
_MIN_MARKS = 3
_TEXT_BOX = 0.15  # a path whose box is more than this share text rows is a frame around text, not a mark
_SHADED = 0.05  # a filled shape with more of its box under text than this is shading behind text
_BACKGROUND = 0.5  # a single path covering more than this share of the page is a background
_LABEL_WORDS = 8  # text rows next to a figure with at most this many words can be its labels
_LABEL_MARGIN = 42.0  # ... and lie within this many points of its drawing (tick labels, then an axis title)
_PROSE_WORDS = 9  # a row with this many words is prose; a few of them inside an area make it a text box
_PROSE_ROWS = 3
_CELL_MEMBERS = 48  # boxes remembered per grid cell when grouping; a denser cell keeps its latest
_PAGE_SIZED = 0.6  # a model figure region covering this share of the page does not confirm filled boxes
_REACH = 10.0  # text this close to a drawing may be its label
_FOREIGN_WORDS = 5  # ... unless it is a line of this many words lying between two drawings
_PAD = 2.0  # points of margin around a rendered figure, so strokes on its edge are not cut


@dataclass
class Path:
    """One drawing, as much of it as its clip lets show, in the page's reading frame."""

    box: tuple[float, float, float, float]
    mark: bool
    items: int
    shaped: bool = False  # a mark drawn with curves, slanted lines or a polyline, not only rectangles


@dataclass
class Figure:
    """A vector figure: its area, the rows it hides (labels), and whether the layout model agrees."""

    x0: float
    y0: float
    x1: float
    y1: float
    rows: set[int] = field(default_factory=set)
    confirmed: bool = False  # inside a model figure region
    marks: int = 0
    items: int = 0
    shaped: bool = False  # some mark is more than a filled rectangle

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1


def visible_paths(drawings: list[dict], turn_box, rows: list[Row], page_area: float,
                  text: _TextIndex | None = None) -> list[Path]:
    """Paths from ``page.get_cdrawings(extended=True)``, cut to their clip and turned into the reading
    frame by ``turn_box``; page backgrounds are left out. ``text`` indexes ``rows`` (built when None)."""
    text = text if text is not None else _TextIndex(rows)
    paths = []
    for drawing, box in visible(drawings):
        box = turn_box(box)
        if (box[2] - box[0]) * (box[3] - box[1]) > _BACKGROUND * page_area:
            continue
        items = drawing.get("items") or []
        mark = _is_mark(drawing, items, box, text)
        paths.append(Path(box, mark, len(items), mark and any(it[0] != "re" for it in items)))
    return paths


def visible(drawings: list[dict]) -> Iterator[tuple[dict, tuple[float, float, float, float]]]:
    """Each drawing of ``page.get_cdrawings(extended=True)`` with the part of its box its clip lets show
    (a clip entry applies to the drawings nested below its level), in page coordinates."""
    clips: dict[int, tuple[float, float, float, float]] = {}
    for drawing in drawings:
        level = drawing.get("level", 0)
        kind = drawing.get("type")
        if kind in ("clip", "group"):
            for deeper in [k for k in clips if k >= level]:
                del clips[deeper]
            if kind == "clip" and drawing.get("scissor"):
                clips[level] = tuple(drawing["scissor"])
            continue
        rect = drawing.get("rect")
        if not rect:
            continue
        box = tuple(rect)
        outer = [k for k in clips if k < level]
        if outer:
            box = _intersect(box, clips[max(outer)])
            if box is None:
                continue
        yield drawing, box


def _is_mark(drawing: dict, items: list, box: tuple, text: _TextIndex) -> bool:
    """Whether a path draws data or a picture rather than the structure of a table or a frame.

    Marks are curves, slanted lines, polylines (a staircase of a histogram, a plotted series) and filled
    shapes. Not marks: a box drawn around text (its lines straight, its curves at most four rounded
    corners), filled rectangles holding text (cell shading), white fills (backgrounds), and straight
    rules, however many one path holds (a table's grid drawn as one path is segments, not a line)."""
    width, height = box[2] - box[0], box[3] - box[1]
    if max(width, height) < 1.5:
        return False
    curves = slanted = joined = 0
    end = None
    for item in items:
        if item[0] in ("c", "qu"):
            curves += 1
        elif item[0] == "l":
            (xa, ya), (xb, yb) = item[1], item[2]
            slanted += abs(xa - xb) > 0.5 and abs(ya - yb) > 0.5
            joined += end is not None and abs(end[0] - xa) < 0.01 and abs(end[1] - ya) < 0.01
            end = (xb, yb)
    if curves or slanted:
        framing = not slanted and curves <= 4
        return not (framing and text.share(box) > _TEXT_BOX)
    filled = "f" in (drawing.get("type") or "") and min(width, height) >= 2 and not _white(drawing.get("fill"))
    if filled:
        return text.share(box) <= _SHADED
    return joined >= 5 and text.share(box) <= _TEXT_BOX


def _white(fill) -> bool:
    return fill is not None and len(fill) >= 3 and min(fill[:3]) > 0.97


class _TextIndex:
    """The page's text in a grid of cells, so that a page of thousands of paths asks each path only of its
    neighbours: the boxes of visible spans (how much of a path's box is text) and the lines of several
    words (text lying between two drawings). Both are built on first use: most pages ask neither (no
    curves, fills or polylines among their drawings)."""

    CELL = 64.0

    def __init__(self, rows: list[Row]):
        self.rows = rows

    @cached_property
    def wordy(self) -> list[Row]:
        return [r for r in self.rows if _words(r, 2) >= 2]

    @cached_property
    def cells(self) -> dict[tuple[int, int], list[tuple[float, float, float, float]]]:
        cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
        for row in self.rows:
            for span in row.spans:
                if span.text.strip() and span.x1 > span.x0:
                    box = (span.x0, row.y0, span.x1, row.y1)
                    for key in self._keys(box):
                        cells.setdefault(key, []).append(box)
        return cells

    def _keys(self, box: tuple) -> list[tuple[int, int]]:
        c = self.CELL
        return [(x, y) for x in range(math.floor(box[0] / c), math.floor(box[2] / c) + 1)
                for y in range(math.floor(box[1] / c), math.floor(box[3] / c) + 1)][:2500]

    def foreign(self, a: tuple, b: tuple, owners: int = 2, lines: int = 3) -> bool:
        """Whether the box joining ``a`` and ``b`` holds text near neither that is more than labels: a
        line of several words, or ``lines`` lines of words (a title block, a paragraph), not tick labels.
        With ``owners`` 1 only text near ``a`` is its own (``b`` is a frame or rule that owns none)."""
        joint = union_box((a, b))
        if joint in (a, b)[:owners]:
            return False
        near = [(x0 - _REACH, y0 - _REACH, x1 + _REACH, y1 + _REACH) for x0, y0, x1, y1 in (a, b)[:owners]]
        found = 0
        for row in self.wordy:
            if _center_in(row, joint) and not any(_center_in(row, box) for box in near):
                found += 1
                if found >= lines or _words(row) >= _FOREIGN_WORDS:
                    return True
        return False

    def share(self, box: tuple) -> float:
        """Share of the box covered by text."""
        area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)
        seen = {span for key in self._keys(box) for span in self.cells.get(key, ())}
        covered = 0.0
        for x0, y0, x1, y1 in seen:
            w = min(x1, box[2]) - max(x0, box[0])
            h = min(y1, box[3]) - max(y0, box[1])
            if w > 0 and h > 0:
                covered += w * h
        return covered / area


def find_figures(paths: list[Path], rows: list[Row], regions: list[Region], page_area: float,
                 text: _TextIndex | None = None) -> list[Figure]:
    """Vector figures on a page (see the module docstring), with the rows each one hides. ``text`` indexes
    ``rows`` (built when None)."""
    marks = [p for p in paths if p.mark]
    if len(marks) < 2:
        return []
    model = [r for r in regions if r.kind == "figure" and r.score >= 0.5]
    tables = [r for r in regions if r.kind == "table" and r.score >= 0.5]
    text = text if text is not None else _TextIndex(rows)
    structure = [p for p in paths if not p.mark]
    clusters = [(union_box(m.box for m in group), group)
                for group in _groups([m.box for m in marks], marks, _GAP, text)]
    figures = []
    for group in _groups([box for box, _ in clusters], clusters, _SPACING, text):
        members = [m for _, ms in group for m in ms]
        box = _with_structure(union_box(b for b, _ in group), structure, text)
        figures.append(Figure(*box, marks=len(members), items=sum(m.items for m in members),
                              shaped=any(m.shaped for m in members)))
    for figure in figures:
        region = next((r for r in model if _inside_share(figure.box, r.box) >= 0.5), None)
        figure.confirmed = region is not None and _area(region.box) < _PAGE_SIZED * page_area
    kept = []
    for figure in _merged(figures, model, text):
        if not _big(figure.box) or (figure.marks < _MIN_MARKS and figure.items < 8):
            continue
        if not figure.shaped and not figure.confirmed:
            continue  # filled boxes alone (form fields, shading) make a figure only where the model sees one
        _take_labels(figure, rows, model)
        if _prose(figure, rows) or (not figure.confirmed and any(_inside_share(figure.box, t.box) >= 0.6
                                                                 for t in tables)):
            continue
        kept.append(figure)
    return kept


def _area(box: tuple) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _groups(boxes: list[tuple], things: list, gap: float, text: _TextIndex | None = None) -> list[list]:
    """``things`` grouped where their boxes lie within ``gap`` of each other (union-find over a grid of
    cells, so thousands of scatter marks cost little). With ``text``, two groups whose joint box would
    hold lines of text belonging to neither stay apart (a map and the inset beside its title block)."""
    parent = list(range(len(boxes)))
    extent = list(boxes)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    cell = 48.0
    grid: dict[tuple[int, int], list[int]] = {}
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = (box[0] - gap, box[1] - gap, box[2] + gap, box[3] + gap)
        cells = [(cx, cy) for cx in range(math.floor(x0 / cell), math.floor(x1 / cell) + 1)
                 for cy in range(math.floor(y0 / cell), math.floor(y1 / cell) + 1)]
        for key in cells[:400]:  # a path over hundreds of cells is still found by the cells it starts in
            for j in grid.get(key, ()):
                a, b = find(i), find(j)
                if a == b or not _near(box, boxes[j], gap):
                    continue
                if text is not None and text.foreign(extent[a], extent[b]):
                    continue
                parent[b] = a
                extent[a] = union_box((extent[a], extent[b]))
            members = grid.setdefault(key, [])
            members.append(i)
            if len(members) > _CELL_MEMBERS:  # a dense cell (a map): its older members are joined already
                del members[0]
    grouped: dict[int, list] = {}
    for i, thing in enumerate(things):
        grouped.setdefault(find(i), []).append(thing)
    return list(grouped.values())


def _big(box: tuple) -> bool:
    width, height = box[2] - box[0], box[3] - box[1]
    return width >= _MIN_SIDE and height >= _MIN_SIDE and width * height >= _MIN_AREA


def _with_structure(box: tuple, structure: list[Path], text: _TextIndex) -> tuple[float, float, float, float]:
    """The cluster's box grown by the rules, frames and ticks touching it, if they are not much bigger than
    the cluster (a page rule or a table border running past it is not the figure's) and do not reach
    over text that is not the figure's (the ruling of a title block beside a map)."""
    for _ in range(2):
        grown = box
        width, height = box[2] - box[0], box[3] - box[1]
        for path in structure:
            w, h = path.box[2] - path.box[0], path.box[3] - path.box[1]
            if not _near(path.box, box, _GAP) or _inside_share(path.box, grown) >= 1.0:
                continue
            if w <= 1.3 * width + 12 and h <= 1.3 * height + 12 and not text.foreign(box, path.box, owners=1, lines=1):
                grown = union_box((grown, path.box))
        if grown == box:
            break
        box = grown
    return box


def _merged(figures: list[Figure], model: list[Region], text: _TextIndex) -> list[Figure]:
    """Figures one mostly inside the other become one, and so do figures that touch or lie inside one model
    figure region (the panels of a plot), unless their joint box would hold text that belongs to neither."""
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(figures):
            for b in figures[i + 1:]:
                shared = any(_inside_share(a.box, r.box) >= 0.8 and _inside_share(b.box, r.box) >= 0.8
                             for r in model)
                overlap = max(_inside_share(a.box, b.box), _inside_share(b.box, a.box)) >= 0.5
                if overlap or ((shared or _near(a.box, b.box, 0.0)) and not text.foreign(a.box, b.box)):
                    a.x0, a.y0, a.x1, a.y1 = union_box((a.box, b.box))
                    a.confirmed |= b.confirmed
                    a.shaped |= b.shaped
                    a.marks += b.marks
                    a.items += b.items
                    figures.remove(b)
                    changed = True
                    break
            if changed:
                break
    return figures


def _take_labels(figure: Figure, rows: list[Row], model: list[Region]) -> None:
    """Hide the rows inside the figure and take in the short rows next to it (tick labels, axis
    titles, a legend beside the plot), a row at a time, growing the area as they join, as far as
    ``_LABEL_MARGIN`` from the drawing. With a model region around the figure, labels must lie inside it."""
    zone = next((r.box for r in model if _inside_share(figure.box, r.box) >= 0.5), None)
    m = _LABEL_MARGIN
    limit = (figure.x0 - m, figure.y0 - m, figure.x1 + m, figure.y1 + m)
    for _ in range(6):
        grew = False
        for row in rows:
            if id(row) in figure.rows or CAPTION_RE.match(row.text):
                continue
            if _center_in(row, figure.box):
                figure.rows.add(id(row))
                continue
            words = len(row.text.split())
            reach = 1.2 * max(min(row.height, 14.0), 6.0)
            if words > _LABEL_WORDS or not _near((row.x0, row.y0, row.x1, row.y1), figure.box, reach):
                continue
            if not _center_in(row, limit) or row.all("bold"):
                continue  # far out, or a bold line (a title block's heading) rather than a label
            if zone is not None and _inside_share((row.x0, row.y0, row.x1, row.y1), zone) < 0.5:
                continue
            figure.rows.add(id(row))
            figure.x0, figure.y0 = min(figure.x0, row.x0), min(figure.y0, row.y0)
            figure.x1, figure.y1 = max(figure.x1, row.x1), max(figure.y1, row.y1)
            grew = True
        if not grew:
            break


def _prose(figure: Figure, rows: list[Row]) -> bool:
    """Whether the figure's area holds several lines of running text (rows of many words, not of the
    letters and numbers a map or a hatch pattern repeats): then it is a framed text box or a form."""
    return sum(1 for r in rows if id(r) in figure.rows and _words(r) >= _PROSE_WORDS) >= _PROSE_ROWS


def _words(row: Row, letters: int = 3) -> int:
    """Words of ``letters`` letters or more in a row (not the letters and numbers a map or a hatch repeats)."""
    return sum(1 for w in row.text.split() if sum(c.isalpha() for c in w) >= letters)


def _center_in(row: Row, box: tuple) -> bool:
    cx, cy = (row.x0 + row.x1) / 2, (row.y0 + row.y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _near(a: tuple, b: tuple, gap: float) -> bool:
    return a[0] <= b[2] + gap and b[0] <= a[2] + gap and a[1] <= b[3] + gap and b[1] <= a[3] + gap


def _intersect(a: tuple, b: tuple) -> tuple[float, float, float, float] | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] <= box[2] and box[1] <= box[3] else None


def _inside_share(a: tuple, b: tuple) -> float:
    """Share of box ``a`` inside box ``b``."""
    cut = _intersect(a, b)
    if cut is None:
        return 0.0
    area = max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)
    return (cut[2] - cut[0]) * (cut[3] - cut[1]) / area




def vector_figures(page: pymupdf.Page, drawings: list[dict], turn: tuple[int, int], size: tuple[float, float],
                   rows: list[Row], regions: list[Region]) -> tuple[list[Unit], set[int]]:
    """The page's vector figures as image units to render (boxes in the reading frame, placements in page
    coordinates) and the ids of the text rows they hide. ``turn`` and ``size`` are those the text blocks
    were turned with (see :mod:`rotation`)."""
    width, height = size
    text = _TextIndex(rows)
    paths = visible_paths(drawings, lambda box: turn_box(box, turn, width, height), rows, width * height, text)
    units, hidden = [], set()
    for figure in find_figures(paths, rows, regions, width * height, text):
        figure.x0, figure.y0 = max(figure.x0 - _PAD, 0.0), max(figure.y0 - _PAD, 0.0)
        figure.x1 = min(figure.x1 + _PAD, height if turn[0] == 0 else width)
        figure.y1 = min(figure.y1 + _PAD, width if turn[0] == 0 else height)
        box = unturn_box(figure.box, turn, width, height)
        zoom = figure_zoom(box[2] - box[0], box[3] - box[1], FIGURE_DPI)
        placement = {"bbox": box, "xref": 0, "width": round((box[2] - box[0]) * zoom),
                     "height": round((box[3] - box[1]) * zoom), "page": page.number, "zoom": zoom, "vector": True}
        units.append(Unit("image", *figure.box, image=placement))
        hidden |= figure.rows
    return units, hidden
