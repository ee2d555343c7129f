"""Ruled tables: a cheap test for ruling lines, PyMuPDF's `find_tables` on pages that pass it, the cells
filled from the page's words and made regular (see :mod:`table_grid`)."""

from __future__ import annotations

from collections.abc import Iterator

import pymupdf

from pin_assets.core.pdf.glyphs import LIGATURES
from pin_assets.core.pdf.model import Unit, cluster
from pin_assets.core.pdf.table_grid import Grid, regular, table_markdown


def has_rulings(drawings: list[dict]) -> bool:
    """Cheap test for ruled tables: three or more horizontal rules and three or more vertical edges,
    counting straight paths only (curved paths are figures), over ``page.get_cdrawings(extended=True)``.

    `find_tables` costs 50-300 ms a page even when nothing is found, 20 to 100 times the text
    extraction, and its line strategy needs edges in both directions, so other pages skip it.
    """
    rows: set[int] = set()
    verticals = 0
    for item in straight_items(drawings):
        if item[0] == "l":
            (xa, ya), (xb, yb) = item[1], item[2]
            if abs(ya - yb) < 1 and abs(xa - xb) >= 15:
                rows.add(round(ya))
            verticals += abs(xa - xb) < 1 and abs(ya - yb) >= 8
        elif item[0] == "re":
            x0, y0, x1, y1 = item[1]
            if x1 - x0 >= 15:
                rows.update({round(y0), round(y1)})
            if y1 - y0 >= 8:
                verticals += 1 if x1 - x0 < 3 else 2
        if len(rows) >= 3 and verticals >= 3:
            return True
    return False


def straight_items(drawings: list[dict]) -> Iterator[tuple]:
    """The line and rectangle items of the drawn paths that can be rules: clips, groups and any path with
    a curve (a figure's outline) left out."""
    for path in drawings:
        items = path.get("items") or ()
        if path.get("type") in ("clip", "group") or any(item[0] == "c" for item in items):
            continue
        yield from items


Rule = tuple[float, float, float]
"""A horizontal rule as (x0, x1, y): the collinear pieces a table draws between its rows, joined."""


def horizontal_rules(drawings: list[dict], min_length: float = 15.0) -> list[Rule]:
    """The page's horizontal rules: straight lines and thin filled or stroked rectangles (how word
    processors draw cell borders), pieces on the same height that touch joined into one rule, so a rule
    drawn cell by cell counts at its full width. Tables ruled only between their rows (no vertical
    lines) are invisible to ``find_tables``; their rules still say where each row ends."""
    pieces: list[tuple[float, float, float]] = []
    for item in straight_items(drawings):
        if item[0] == "l":
            (xa, ya), (xb, yb) = item[1], item[2]
            if abs(ya - yb) < 1:
                pieces.append((min(xa, xb), max(xa, xb), (ya + yb) / 2))
        elif item[0] == "re":
            x0, y0, x1, y1 = item[1]
            if y1 - y0 < 2.5:
                pieces.append((x0, x1, (y0 + y1) / 2))
    heights: list[list[tuple[float, float, float]]] = []
    for piece in sorted(pieces, key=lambda p: p[2]):
        if heights and piece[2] - heights[-1][0][2] <= 1.0:
            heights[-1].append(piece)
        else:
            heights.append([piece])
    rules: list[Rule] = []
    for same in heights:
        y = same[0][2]
        x0, x1 = None, None
        for a, b, _ in sorted(same):
            if x0 is not None and a <= x1 + 2.0:
                x1 = max(x1, b)
                continue
            if x0 is not None and x1 - x0 >= min_length:
                rules.append((x0, x1, y))
            x0, x1 = a, b
        if x1 - x0 >= min_length:
            rules.append((x0, x1, y))
    return rules


_DRAWING_KEYS = ("closePath", "color", "width", "lineCap", "lineJoin", "dashes", "stroke_opacity", "fill",
                 "fill_opacity", "even_odd")


def as_paths(drawings: list[dict]) -> list[dict]:
    """Drawings of ``get_cdrawings`` in the form ``get_drawings`` gives and ``find_tables(paths=...)`` reads
    (points, rectangles and quads as PyMuPDF objects), so the page's drawings are read once."""
    out = []
    for drawing in drawings:
        items = []
        for item in drawing.get("items") or ():
            if item[0] == "re":
                items.append(("re", pymupdf.Rect(item[1]), *item[2:]))
            elif item[0] == "qu":
                items.append(("qu", pymupdf.Quad(item[1])))
            else:
                items.append((item[0], *(pymupdf.Point(p) for p in item[1:])))
        path = {key: drawing.get(key) for key in _DRAWING_KEYS}
        path.update(items=items, rect=pymupdf.Rect(drawing["rect"]), type=drawing.get("type"),
                    seqno=drawing.get("seqno", 0), layer=drawing.get("layer", ""))
        out.append(path)
    return out


def ruled_tables(page: pymupdf.Page, textpage: pymupdf.TextPage, drawings: list[dict] | None = None) -> list[Unit]:
    """Ruled tables as Markdown units, found among ``drawings`` (``get_cdrawings`` entries; all the page's
    when None); PyMuPDF's layout gate is off because the page's layout regions are already known."""
    paths = as_paths(drawings) if drawings is not None else None
    found = page.find_tables(use_layout=False, paths=paths, clip=_chars_clip(page, paths)).tables
    if not found:
        return []
    words = page.get_text("words", textpage=textpage, sort=False)
    units = []
    for table in found:
        cells = _table_cells(table)
        if table.row_count < 2 or table.col_count < 2 or not cells:
            continue
        if _undersegmented(table, words):
            continue  # rules only above and below: the text-alignment pass reads its rows
        grid = _fill_cells(cells, words)
        if sum(1 for cell in grid if cell[4]) < 2:
            continue
        grid = regular(grid)
        units.append(Unit("table", *table.bbox, markdown=table_markdown(grid)))
    return units


# Points around the rulings' area. ``find_tables`` reads glyph boxes from the outlines (accurate boxes, no
# quad corrections) and MuPDF clips by the same outlines, so a character touching the area is kept with any
# margin; this one covers rounding and a glyph whose outline is empty (a space, placed by its origin).
_CLIP_MARGIN = 12.0


def _chars_clip(page: pymupdf.Page, paths: list[dict] | None) -> pymupdf.Rect | None:
    """The part of the page whose characters can change what ``find_tables`` finds among ``paths``, or None
    (the whole page) when that cannot be bounded.

    ``find_tables`` turns every character of the page into a Python dictionary before it looks at a line,
    most of its time; it uses them only to ask whether a candidate holds text: a table's box (inside the
    rulings' hull) and a group of joined rectangles, whose box it compares with characters' bottom-up
    coordinates (pdfplumber's convention), so the characters that answer lie in the hull mirrored top to
    bottom. Clipping its text to the hull of both, with a margin, gives the same tables. Only on unrotated
    pages (``find_tables`` turns rotated ones itself) with every path inside the page, whose edge the
    rulings are cut at either way.
    """
    if not paths or page.rotation:
        return None
    xs: list[float] = []
    ys: list[float] = []
    for path in paths:
        for item in [("re", path["rect"]), *path["items"]]:
            for value in item[1:]:
                if isinstance(value, pymupdf.Quad):
                    value = value.rect
                if isinstance(value, pymupdf.Point):
                    xs.append(value.x)
                    ys.append(value.y)
                elif isinstance(value, pymupdf.Rect):
                    xs += (value.x0, value.x1)
                    ys += (value.y0, value.y1)
    page_box = page.rect
    if not xs or min(xs) < page_box.x0 or max(xs) > page_box.x1 or min(ys) < page_box.y0 or max(ys) > page_box.y1:
        return None
    # corners computed by hand: PyMuPDF's Rect union and transform treat a flat (one-rule) hull as empty
    mirror = ~page.transformation_matrix
    corners = [pymupdf.Point(x, y) for x in (min(xs), max(xs)) for y in (min(ys), max(ys))]
    xs += [(c * mirror).x for c in corners]
    ys += [(c * mirror).y for c in corners]
    clip = pymupdf.Rect(min(xs) - _CLIP_MARGIN, min(ys) - _CLIP_MARGIN, max(xs) + _CLIP_MARGIN, max(ys) + _CLIP_MARGIN)
    return clip & page_box


def _undersegmented(table, words: list) -> bool:
    """Whether the ruled grid has far fewer rows than the text lines inside it: booktabs tables rule
    only the header and the foot, so `find_tables` sees one row holding every body line."""
    x0, y0, x1, y1 = table.bbox
    middles = sorted({round((w[1] + w[3]) / 2) for w in words
                      if x0 <= (w[0] + w[2]) / 2 <= x1 and y0 <= (w[1] + w[3]) / 2 <= y1})
    return table.row_count <= 3 and len(cluster(middles, 3.0)) > 2 * table.row_count


def _table_cells(table) -> list[tuple[int, int, int, int]] | None:
    """Cells as (row, col, rowspan, colspan) plus their box, derived from the cell geometry."""
    boxes = [c for row in table.rows for c in row.cells if c is not None]
    xs = cluster(sorted({b[0] for b in boxes}))
    ys = cluster(sorted({b[1] for b in boxes}))
    cells = []
    for x0, y0, x1, y1 in sorted(set(boxes), key=lambda b: (round(b[1]), round(b[0]))):
        col = _index_of(xs, x0)
        row = _index_of(ys, y0)
        colspan = max(1, sum(1 for x in xs if x0 - 1 <= x < x1 - 1))
        rowspan = max(1, sum(1 for y in ys if y0 - 1 <= y < y1 - 1))
        cells.append((row, col, rowspan, colspan, (x0, y0, x1, y1)))
    return cells


def _index_of(edges: list[float], value: float) -> int:
    """Index of the edge nearest to ``value``."""
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def _fill_cells(cells: list, words: list) -> Grid:
    """Put each word into the cell holding its centre; MuPDF's own table text drops spaces and dots."""
    texts: list[list[tuple[str, tuple[int, int]]]] = [[] for _ in cells]
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        for i, (*_, (x0, y0, x1, y1)) in enumerate(cells):
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                texts[i].append((w[4].translate(LIGATURES), (w[5], w[6])))
                break
    return [(r, c, rs, cs, _cell_text(t)) for (r, c, rs, cs, _), t in zip(cells, texts, strict=True)]


def _cell_text(words: list[tuple[str, tuple[int, int]]]) -> str:
    """A cell's words joined with spaces, except that a word hyphenated at the end of a line joins the
    rest of it on the next line ("compa-" + "nies" is "companies", not "compa- nies")."""
    out = ""
    line = None
    for text, where in words:
        if out.endswith("-") and where != line and text[:1].islower() and out[-2:-1].isalpha():
            out = out[:-1] + text
        else:
            out = f"{out} {text}" if out else text
        line = where
    return out

