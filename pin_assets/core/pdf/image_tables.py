"""Tables pasted as pictures whose cells are ruled: the grid found in the picture's pixels, each cell read
on its own.

Tesseract's page layout does not know a table's rulings: where a cell's text wraps over three lines and
the cell beside it over two, it runs lines of both cells together ("ALTULN 5totimesless thanULN" on a
slide's "Instead of / Consider" table) and reads the header's shaded row as nothing. A ruled grid says
where each cell is, so each is read alone and the table comes out as the page shows it, spanned cells
included. Only grids of at least two rows and two columns ruled on every side qualify; anything else is
read as one picture (see :mod:`picture_text`).
"""

from __future__ import annotations

import numpy as np
import pymupdf

from pin_assets.core.pdf.model import Unit
from pin_assets.core.pdf.ocr.regions import grey_pixels
from pin_assets.core.pdf.table_grid import table_markdown

_DARK = 128  # grey level under which a pixel is ink
_LONG = 0.5  # a horizontal ruling crosses at least this share of the picture's width
_SOLID = 0.9  # a ruling is ink along this share of the table's extent (of a row's height, for a cell border)
_THIN = 3.0  # points: a ruling is at most this thick; a thicker dark band is a fill, not a line
_INSET = 2  # pixels left out inside each cell's borders, so no ruling is read as a letter
MAX_CELLS = 60  # a bigger grid is read as one picture: each cell costs a Tesseract call

Cell = tuple[int, int, int, int, pymupdf.Rect]  # row, column, row span, column span, box on the page


def ruled_cells(page: pymupdf.Page, box: pymupdf.Rect, zoom: float) -> list[Cell]:
    """The cells of a table ruled on every side that fills the picture at ``box``, in points on the page;
    empty when the picture holds no such grid."""
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=box, colorspace=pymupdf.csGRAY)
    ink = grey_pixels(pix) < _DARK
    thin = max(1, round(_THIN * zoom))
    across = _lines(np.flatnonzero(ink.mean(axis=1) >= _LONG), thin)
    if len(across) < 3:
        return []
    left = min(np.flatnonzero(ink[across[0][0]:across[0][1] + 1].any(axis=0)), default=0)
    right = max(np.flatnonzero(ink[across[0][0]:across[0][1] + 1].any(axis=0)), default=0)
    top, bottom = across[0][0], across[-1][1]
    body = ink[top:bottom + 1, left:right + 1]
    down = [(a + left, b + left) for a, b in _lines(np.flatnonzero(body.mean(axis=0) >= _SOLID), thin)]
    if len(down) < 3 or down[0][0] - left > 2 * thin or right - down[-1][1] > 2 * thin \
            or bottom - top < 0.5 * pix.height:
        return []  # no outer border on a side, or the grid is a small part of the picture
    cells: list[Cell] = []
    for r, ((_, y0), (y1, _)) in enumerate(zip(across, across[1:], strict=False)):
        inside = ink[y0 + 1:y1, :]
        if inside.shape[0] == 0:
            continue
        borders = [0] + [k for k in range(1, len(down) - 1)
                         if inside[:, down[k][0]:down[k][1] + 1].any(axis=1).mean() >= _SOLID] + [len(down) - 1]
        for start, end in zip(borders, borders[1:], strict=False):
            x0, x1 = down[start][1] + 1 + _INSET, down[end][0] - _INSET
            if x1 - x0 > 2 * _INSET and y1 - y0 > 2 * _INSET:
                rect = pymupdf.Rect(box.x0 + x0 / zoom, box.y0 + (y0 + 1 + _INSET) / zoom,
                                    box.x0 + x1 / zoom, box.y0 + (y1 - _INSET) / zoom)
                cells.append((r, start, 1, end - start, rect))
    return cells if len(cells) <= MAX_CELLS else []


def table_unit(cells: list[Cell], texts: list[str], box: pymupdf.Rect) -> Unit:
    """The table unit of a ruled picture's cells and their readings, at the picture's place."""
    grid = [(r, c, rs, cs, text) for (r, c, rs, cs, _), text in zip(cells, texts, strict=True)]
    return Unit("table", box.x0, box.y0, box.x1, box.y1, markdown=table_markdown(grid))


def _lines(index: np.ndarray, thin: int) -> list[tuple[int, int]]:
    """Runs of consecutive pixel rows (or columns) in ``index``, each at most ``thin`` thick: the rulings."""
    runs: list[list[int]] = []
    for i in index.tolist():
        if runs and i - runs[-1][1] <= 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(a, b) for a, b in runs if b - a + 1 <= thin]
