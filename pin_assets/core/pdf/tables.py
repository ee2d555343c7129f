"""Ruled tables: a cheap test for ruling lines, PyMuPDF's `find_tables` on pages that pass it, and the
cells written as a GFM pipe table (or HTML when cells span rows or columns)."""

from __future__ import annotations

import pymupdf

from pin_assets.core.pdf.glyphs import LIGATURES
from pin_assets.core.pdf.model import Unit, cluster


def has_rulings(page: pymupdf.Page) -> bool:
    """Cheap test for ruled tables: three or more horizontal rules and three or more vertical edges,
    counting straight paths only (curved paths are figures).

    `find_tables` costs 50-300 ms a page even when nothing is found, 20 to 100 times the text
    extraction, and its line strategy needs edges in both directions, so other pages skip it.
    """
    rows: set[int] = set()
    verticals = 0
    for path in page.get_cdrawings():
        items = path["items"]
        if any(item[0] == "c" for item in items):
            continue
        for item in items:
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


def ruled_tables(page: pymupdf.Page, textpage: pymupdf.TextPage) -> list[Unit]:
    """Ruled tables as Markdown units; the layout model is off because it costs ~0.5 s a page."""
    found = page.find_tables(use_layout=False).tables
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
        units.append(Unit("table", *table.bbox, markdown=table_markdown(grid)))
    return units


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


def _fill_cells(cells: list, words: list) -> list[tuple[int, int, int, int, str]]:
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


def table_markdown(grid: list[tuple[int, int, int, int, str]]) -> str:
    """A GFM pipe table, or an HTML table when a cell spans rows or columns (GFM cannot express it)."""
    if any(rs > 1 or cs > 1 for _, _, rs, cs, _ in grid):
        return _html_table(grid)
    rows = max(r for r, *_ in grid) + 1
    cols = max(c for _, c, *_ in grid) + 1
    matrix = [[""] * cols for _ in range(rows)]
    for r, c, _, _, text in grid:
        matrix[r][c] = text.replace("|", "\\|")
    lines = ["| " + " | ".join(matrix[0]) + " |", "|" + "---|" * cols]
    lines += ["| " + " | ".join(row) + " |" for row in matrix[1:]]
    return "\n".join(lines)


def _html_table(grid: list[tuple[int, int, int, int, str]]) -> str:
    """An HTML table with rowspan/colspan; the first row is the header row."""
    out = ["<table>"]
    for row in sorted({r for r, *_ in grid}):
        tag = "th" if row == 0 else "td"
        cells = []
        for _, _, rs, cs, text in sorted((g for g in grid if g[0] == row), key=lambda g: g[1]):
            span = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
            cells.append(f"<{tag}{span}>{_html_escape(text)}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html_escape(text: str) -> str:
    """Escape the three characters that matter inside HTML table cells."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
