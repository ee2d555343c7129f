"""A table's cells as a grid, made regular and written as Markdown.

Table finders build their grid from every rule and every fill edge they see, so a header drawn as
coloured boxes a few points off the body's rules adds columns and rows that hold nothing. Written out,
such a grid shows spans that are not on the page and empty columns, and a reader (or a test of "the cell
under this heading") no longer finds the header above its column. :func:`regular` removes every column
or row boundary that separates no two texts, merging the cells it ran between (a header cell whose fill
spans a grid row or column that holds no text of its own is one cell again; two lines that both hold
text stay two rows). What remains are the page's own spans, written as HTML ``rowspan``/``colspan`` (GFM
has none), else the table is a GFM pipe table. The first row is the header.

A grid is a list of ``(row, col, rowspan, colspan, text)``.
"""

from __future__ import annotations

Grid = list[tuple[int, int, int, int, str]]


def regular(grid: Grid) -> Grid:
    """The grid without boundaries that separate no two texts in any row (or column), every slot covered.
    Merging cells can leave a boundary with the same cell on both sides, so the pass repeats until
    nothing changes."""
    while True:
        before = grid
        grid = _regular_once(grid)
        if grid == before:
            return grid


def _regular_once(grid: Grid) -> Grid:
    if not grid:
        return grid
    rows = max(r + rs for r, _, rs, _, _ in grid)
    cols = max(c + cs for _, c, _, cs, _ in grid)
    owner: list[list[int | None]] = [[None] * cols for _ in range(rows)]
    for i, (r, c, rs, cs, _) in enumerate(grid):
        for rr in range(r, min(r + rs, rows)):
            for cc in range(c, min(c + cs, cols)):
                if owner[rr][cc] is None:
                    owner[rr][cc] = i

    def texted(i: int | None) -> bool:
        return i is not None and bool(grid[i][4].strip())

    def clash(group: list[list[int | None]], line: list[int | None]) -> bool:
        """Whether adding ``line`` to a run of lines already merged would put two texts together."""
        return any(texted(b) and any(texted(a[k]) and a[k] != b for a in group) for k, b in enumerate(line))

    columns = [[owner[r][c] for r in range(rows)] for c in range(cols)]
    col_at = _renumber(columns, clash)
    row_at = _renumber(owner, clash)
    boxes = [[row_at[r], col_at[c], row_at[min(r + rs, rows) - 1], col_at[min(c + cs, cols) - 1], [i]]
             for i, (r, c, rs, cs, _) in enumerate(grid)]
    merged = _merge_overlapping(boxes)
    out: Grid = []
    covered: set[tuple[int, int]] = set()
    for r0, c0, r1, c1, members in merged:
        text = " ".join(t for t in (grid[i][4].strip() for i in sorted(members, key=lambda i: grid[i][:2])) if t)
        out.append((r0, c0, r1 - r0 + 1, c1 - c0 + 1, text))
        covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    out += [(r, c, 1, 1, "") for r in range(row_at[-1] + 1) for c in range(col_at[-1] + 1) if (r, c) not in covered]
    return sorted(out)


def _renumber(lines: list[list[int | None]], clash) -> list[int]:
    """New index of each old row (or column) given as the cells it passes through: consecutive lines
    merge as long as ``clash`` finds no two texts thrown together."""
    index = [0]
    group = [lines[0]]
    for line in lines[1:]:
        if clash(group, line):
            index.append(index[-1] + 1)
            group = [line]
        else:
            index.append(index[-1])
            group.append(line)
    return index


def _merge_overlapping(boxes: list[list]) -> list[list]:
    """Cells whose new ranges overlap become one cell covering both (until none overlap)."""
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    a[0], a[1], a[2], a[3] = min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
                    a[4] = a[4] + b[4]
                    boxes.remove(b)
                    changed = True
                    break
            if changed:
                break
    return boxes


def table_markdown(grid: Grid) -> str:
    """A GFM pipe table, or an HTML table when a cell spans rows or columns (GFM cannot express it) or holds
    a "|" ("RoHS | Exempt"): GFM escapes it as ``\\|``, which many readers of pipe tables (and every
    splitter on "|") take for a column break, shifting the rest of the row one column."""
    if any(rs > 1 or cs > 1 or "|" in text for _, _, rs, cs, text in grid):
        return _html_table(grid)
    rows = max(r for r, *_ in grid) + 1
    cols = max(c for _, c, *_ in grid) + 1
    matrix = [[""] * cols for _ in range(rows)]
    for r, c, _, _, text in grid:
        matrix[r][c] = " ".join(text.split())
    lines = ["| " + " | ".join(matrix[0]) + " |", "|" + "---|" * cols]
    lines += ["| " + " | ".join(row) + " |" for row in matrix[1:]]
    return "\n".join(lines)


def _html_table(grid: Grid) -> str:
    """An HTML table with rowspan/colspan; the first row is the header row (``<th>``)."""
    out = ["<table>"]
    for row in sorted({r for r, *_ in grid}):
        tag = "th" if row == 0 else "td"
        cells = []
        for _, _, rs, cs, text in sorted((g for g in grid if g[0] == row), key=lambda g: g[1]):
            span = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
            cells.append(f"<{tag}{span}>{_html_escape(' '.join(text.split()))}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html_escape(text: str) -> str:
    """Escape the three characters that matter inside HTML table cells."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
