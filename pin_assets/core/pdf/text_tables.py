"""Tables without ruling lines, found from how text lines up.

Financial statements and the results tables of papers draw few or no rules: a table is only text set
in columns. This pass groups the page's rows into visual lines, splits each line into cells where
the gap between spans is wider than a word space, and looks for runs of lines whose cells fall into
the same columns. Two things keep it from inventing tables in prose: cells must be short (labels and
figures, not sentences), so two columns of running text or two aligned lists are left alone, and a
table needs at least two lines with the full set of columns.

It costs a few list passes over rows the converter has already read, so it runs on every page; the
ruled-table finder (`find_tables`) stays reserved for pages with ruling lines.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from pin_assets.core.pdf.inline import span_text
from pin_assets.core.pdf.model import CAPTION_RE, Region, Row, Unit, cluster, text_unit
from pin_assets.core.pdf.table_grid import regular, table_markdown
from pin_assets.core.pdf.tables import Rule

_NUMERIC_RE = re.compile(r"^[\s\d.,:;%()+\-–—−/*$€£¥±×x<>=~]+$")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")
_GAP_EMS = 0.9  # a gap wider than this many font sizes separates cells; word spaces are ~0.25 em
_REGION_SCORE = 0.5  # table regions less sure than this are no evidence
_MARKER_RE = re.compile(r"\s*[-–•◦▪‣●○■□►▸·*]\s*")  # a list marker, when words follow it
_TABLE_CAPTION_RE = re.compile(  # "Table 1", "Table S2", "Tab. IV"; not "Table of contents", "Tables"
    r"^\s*((table|tabelle|tableau|tabla)(?![^\W\d_])|tab\.)\s*([\dIVX]+|[A-Z]\d*)\b", re.IGNORECASE)


@dataclass
class _Cell:
    x0: float
    x1: float
    text: str
    row: Row


@dataclass
class _Line:
    y0: float
    y1: float
    cells: list[_Cell]
    rows: list[Row]


def find_text_tables(units: list[Unit], page_width: float, regions: list[Region] = (),
                     rules: list[Rule] = ()) -> list[Unit]:
    """Replace aligned rows in ``units`` by table units; returns the new unit list (tables appended).

    Short aligned cells make a table anywhere. Inside the layout model's table regions (``regions``) where
    they made none, or made one whose rows run over several lines (:func:`_ragged`), cells may also hold
    sentences and a row may run over several lines (see :func:`_region_table`); a caption's lines (the
    whole paragraph) are never cells. A figure region directly under a "Table N" caption is read as a
    table region: the model takes a large table set without vertical rules for a figure, its caption
    does not. The page's horizontal ``rules`` across a region end its rows."""
    text_units = [u for u in units if u.kind == "text"]
    rows = [r for u in text_units for r in u.rows if not r.all("mono") and not r.rotated]
    if len(rows) < 3:
        return units
    tables: list[tuple[Unit, set[int]]] = []
    for run in _runs(_lines(rows, page_width)):
        table = _table(run)
        if table is not None:
            tables.append(table)
    captions = {id(r) for u in text_units if u.rows and CAPTION_RE.match(u.rows[0].text) for r in u.rows}
    for region in regions:
        if region.score < _REGION_SCORE or not (region.kind == "table" or region.kind == "figure"
                                                 and _under_table_caption(region, text_units)):
            continue
        there = [t for t in tables if region.covers(t[0].x0, t[0].y0, t[0].x1, t[0].y1)]
        if there and not any(_ragged(t.markdown) for t, _ in there):
            continue  # short aligned cells already made this table, one line a row: the region adds nothing
        elsewhere = set().union(*(ids for t, ids in tables if all(t is not u for u, _ in there)))
        inside = [r for r in rows if id(r) not in captions and id(r) not in elsewhere
                  and region.covers(r.x0, r.y0, r.x1, r.y1, 0.6)]
        across = [y for x0, x1, y in rules if region.y0 - 3 <= y <= region.y1 + 3
                  and min(x1, region.x1) - max(x0, region.x0) >= 0.5 * (region.x1 - region.x0)]
        table = _region_table(_lines(inside, page_width, prose=True), across) if len(inside) >= 3 else None
        if table is not None:
            tables = [t for t in tables if all(t[0] is not u for u, _ in there)] + [table]
    if not tables:
        return units
    taken = set().union(*(ids for _, ids in tables))
    out = [u for u in units if u.kind != "text"]
    for unit in text_units:
        kept = [r for r in unit.rows if id(r) not in taken]
        if kept:
            out.append(text_unit(kept) if len(kept) < len(unit.rows) else unit)
    return out + [t for t, _ in tables]


def _under_table_caption(region: Region, units: list[Unit]) -> bool:
    """Whether a paragraph opening "Table N" stands at the region's top edge (just above it, or on its
    first line), across the region's left part: the caption of a table the model took for a figure."""
    for unit in units:
        first = unit.rows[0] if unit.rows else None
        if first is None or not _TABLE_CAPTION_RE.match(first.text):
            continue
        line = first.height
        if (region.y0 - 3 * line <= (first.y0 + first.y1) / 2 <= region.y0 + 2 * line
                and region.x0 - line <= first.x0 <= (region.x0 + region.x1) / 2):
            return True
    return False


def _ragged(markdown: str) -> bool:
    """Whether a GFM table has many rows holding only their first cell: the continuation lines of rows
    that run over several lines (a name in two lines), each taken for a row of its own."""
    rows = [line.strip("|").split(" | ") for line in markdown.split("\n")[2:] if line.startswith("| ")]
    alone = sum(1 for cells in rows if cells[0].strip() and not any(c.strip() for c in cells[1:]))
    return len(rows) >= 3 and alone >= 0.25 * len(rows)


def _cells(row: Row, page_width: float, prose: bool = False) -> list[_Cell]:
    """The row split at wide gaps between spans; cells that read like prose are not table cells (unless
    ``prose`` allows them: inside a region the layout model calls a table)."""
    cells: list[_Cell] = []
    for span in row.spans:
        if not span.text.strip():
            continue
        text = span_text(span)  # a footnote mark stays apart from the figure it follows
        if cells and (span.x0 - cells[-1].x1 <= _GAP_EMS * span.size or prose and _bullet_of(cells[-1], span)):
            cell = cells[-1]
            cell.text += ("" if cell.text.endswith(" ") or span.text.startswith(" ") or span.x0 - cell.x1 < 0.15
                          * span.size else " ") + text
            cell.x1 = max(cell.x1, span.x1)
        else:
            cells.append(_Cell(span.x0, span.x1, text, row))
    for cell in cells:
        cell.text = " ".join(cell.text.split())
    cells = [c for c in cells if c.text]
    return [] if not prose and any(_prose(c, page_width) for c in cells) else cells


def _bullet_of(cell: _Cell, span) -> bool:
    """Whether the cell is a list marker set before the span's words ("-  Redundant nuchal skin"), which
    belongs with them; a dash before a figure, or a wide gap away, is a cell of its own ("–" for no value)."""
    return (bool(_MARKER_RE.fullmatch(cell.text)) and span.text.lstrip()[:1].isalpha()
            and span.x0 - cell.x1 <= 2 * span.size)


def _prose(cell: _Cell, page_width: float) -> bool:
    """A sentence rather than a label: many words, a wide line of several words, or a run of CJK."""
    words = len(cell.text.split())
    if len(_CJK_RE.findall(cell.text)) >= 12:
        return True
    return words >= 10 or (words >= 6 and cell.x1 - cell.x0 >= 0.3 * page_width)


def _short(cell: _Cell) -> bool:
    """A label or a figure: few words, few characters (CJK counts double), or only digits and signs."""
    if _NUMERIC_RE.match(cell.text):
        return True
    length = len(cell.text) + len(_CJK_RE.findall(cell.text))
    return length <= 25 or (len(cell.text.split()) <= 4 and not _CJK_RE.search(cell.text))


def _lines(rows: list[Row], page_width: float, prose: bool = False) -> list[_Line]:
    """Rows sharing a baseline across the page (columns, separate blocks) as one visual line."""
    lines: list[_Line] = []
    for row in sorted(rows, key=lambda r: ((r.y0 + r.y1) / 2, r.x0)):
        middle = (row.y0 + row.y1) / 2
        if lines and lines[-1].y0 <= middle <= lines[-1].y1:
            line = lines[-1]
            line.rows.append(row)
        else:
            line = _Line(row.y0, row.y1, [], [row])
            lines.append(line)
    for line in lines:
        line.cells = sorted((c for r in line.rows for c in _cells(r, page_width, prose)), key=lambda c: c.x0)
        line.y0 = min(r.y0 for r in line.rows)
        line.y1 = max(r.y1 for r in line.rows)
    return lines


def _runs(lines: list[_Line]) -> list[list[_Line]]:
    """Stretches of lines that start and end with a multi-cell line, close together vertically, with
    short single-cell lines allowed in between (a section label inside a statement)."""
    heights = [ln.y1 - ln.y0 for ln in lines]
    step = statistics.median(heights) if heights else 10.0
    runs: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        multi = len(line.cells) >= 2
        near = bool(current) and line.y0 - current[-1].y1 <= 1.6 * step
        single_ok = len(line.cells) == 1 and _short(line.cells[0]) and len(line.rows) == 1
        if current and near and (multi or single_ok):
            current.append(line)
            continue
        if current:
            runs.append(current)
        current = [line] if multi else []
    if current:
        runs.append(current)
    out = []
    for run in runs:
        while run and len(run[-1].cells) < 2:
            run = run[:-1]
        if sum(len(ln.cells) >= 2 for ln in run) >= 2 and len(run) >= 3:
            out.append(run)
    return out


def _table(run: list[_Line]) -> tuple[Unit, set[int]] | None:
    """A GFM table from a run of lines, or None when the run does not look like one."""
    cells = [c for ln in run for c in ln.cells]
    if sum(map(_short, cells)) < 0.7 * len(cells):
        return None
    counts = [len(ln.cells) for ln in run]
    width = max((k for k in set(counts) if k >= 2 and counts.count(k) >= 2), default=0)
    if width < 2:
        return None
    full = [ln for ln in run if len(ln.cells) == width]
    columns = [(min(ln.cells[i].x0 for ln in full), max(ln.cells[i].x1 for ln in full)) for i in range(width)]
    if any(a[1] > b[0] for a, b in zip(columns, columns[1:], strict=False)):
        return None  # full lines do not agree on where the columns are
    size = statistics.median(c.row.size for c in cells)
    left, right = columns[0][0] - 2 * size, columns[-1][1] + 2 * size
    grid: list[tuple[int, int, int, int, str]] = []
    taken: set[int] = set()
    inside: list[_Cell] = []
    for line in run:
        texts = [""] * width
        for cell in line.cells:
            if not _within(cell, line.cells, left, right):
                continue  # text of a neighbouring column on the same baseline
            inside.append(cell)
            col = _column_of(cell, columns)
            texts[col] = f"{texts[col]} {cell.text}".strip()
            taken.add(id(cell.row))
        if any(texts):
            grid += [(len(grid) // width, c, 1, 1, text) for c, text in enumerate(texts)]
    filled = sum(1 for *_, text in grid if text)
    if len(grid) < 3 * width or filled < 0.55 * len(grid):
        return None  # fewer than three rows, or mostly empty: axis ticks and figure labels
    rows_in = [c.row for c in inside]
    box = (min(r.x0 for r in rows_in), min(ln.y0 for ln in run), max(r.x1 for r in rows_in), max(ln.y1 for ln in run))
    return Unit("table", *box, markdown=table_markdown(grid)), taken


def _within(cell: _Cell, cells: list[_Cell], left: float, right: float) -> bool:
    """Whether the cell belongs to the table spanning ``left`` to ``right``: its row (the text line of
    one block) has every cell centred between them. A justified line of the neighbouring column, whose
    wide word spaces split it into cells and whose last word reaches the table's edge, stays prose: a
    row is taken whole or not at all, so none of its words are lost to the table."""
    return all(left <= (c.x0 + c.x1) / 2 <= right for c in cells if c.row is cell.row)


def _column_of(cell: _Cell, columns: list[tuple[float, float]]) -> int:
    """The column the cell overlaps most, or whose span is nearest to its centre."""
    def score(i: int) -> tuple[float, float]:
        x0, x1 = columns[i]
        overlap = min(cell.x1, x1) - max(cell.x0, x0)
        centre = (cell.x0 + cell.x1) / 2
        return overlap, -min(abs(centre - x0), abs(centre - x1))

    return max(range(len(columns)), key=score)


def _region_table(lines: list[_Line], rules: list[float] = ()) -> tuple[Unit, set[int]] | None:
    """A table from the lines inside a region the layout model calls a table, whose cells may be sentences
    and whose rows may run over several lines (a command and its description, a species and its strain).

    Columns start where cells of the lines with two or more cells start. A line opens a new row when it
    has a cell in the first column and another cell, or when its first cell stands left of the first
    column (a section label such as "Bacteria"); any other line continues the row above, its cells
    appended to the columns they start in. The first line with two or more cells opens the header row
    even where the header has no cell over the first column (row labels rarely have a heading).

    Horizontal ``rules`` (their heights) cut the lines into bands: a band with at most one line holding a
    first-column cell is one row, whatever the lines in it (a label centred beside a description of three
    lines, a value set at the top); a band of several labelled rows is read line by line as above (a rule
    that crosses a table, or parts its header from its body). Lines below the last rule with no line of
    two cells among them (a "Table continues" note) are not the table's."""
    multi = [ln for ln in lines if len(ln.cells) >= 2]
    if len(multi) < 2:
        return None
    size = statistics.median(c.row.size for ln in multi for c in ln.cells)
    starts = cluster(sorted(c.x0 for ln in multi for c in ln.cells), 0.8 * size)
    need = max(2, 0.3 * len(multi))  # a column is where many lines start a cell, not one wide word space
    anchors = [x for x in starts
               if sum(1 for ln in multi if any(abs(c.x0 - x) <= 0.8 * size for c in ln.cells)) >= need]
    if len(anchors) < 2:
        return None
    width = len(anchors)
    edges = [x - 0.8 * size for x in anchors] + [max(c.x1 for ln in lines for c in ln.cells)]
    extents = list(zip(edges, edges[1:], strict=False))  # the columns part the page at their starts
    placed = [(line, _column_cells(line, extents, size), _band(line, rules)) for line in lines]
    labelled: dict[int, int] = {}
    multi_in: set[int] = set()
    for _, cells, band in placed:
        labelled[band] = labelled.get(band, 0) + (0 in cells)
        if len(cells) >= 2:
            multi_in.add(band)
    last_band = len(rules)
    table_rows: list[list[str]] = []
    taken: set[int] = set()
    boxes: list[Row] = []
    previous: int | None = None
    for line, cells, band in placed:
        first = min(cells, default=None)
        if rules and band == last_band and band not in multi_in:
            continue  # a note under the table's last rule
        opens = first is not None and (first == 0 and len(cells) >= 2 or line.cells[0].x0 < anchors[0] - 0.5 * size)
        if opens and table_rows and table_rows[-1][0] and _wrapped_label(line.cells[0], anchors[0], size):
            opens = False
        if rules and labelled[band] <= 1:  # one row between two rules
            opens = band != previous
        if opens or not table_rows:
            if not opens and first != 0 and len(cells) < 2 and not band:
                continue  # text above the first row (and rule) that starts past the first column: not the table's
            table_rows.append([""] * width)
        for col, text in cells.items():
            table_rows[-1][col] = f"{table_rows[-1][col]} {text}".strip()
        taken |= {id(r) for r in line.rows}
        boxes += line.rows
        previous = band
    filled = sum(1 for row in table_rows for text in row if text)
    if len(table_rows) < 3 or filled < 0.5 * len(table_rows) * width:
        return None
    grid = regular([(r, c, 1, 1, text) for r, row in enumerate(table_rows) for c, text in enumerate(row)])
    box = (min(r.x0 for r in boxes), min(r.y0 for r in boxes), max(r.x1 for r in boxes), max(r.y1 for r in boxes))
    return Unit("table", *box, markdown=table_markdown(grid)), taken


def _wrapped_label(cell: _Cell, anchor: float, size: float) -> bool:
    """Whether a first-column cell is the second line of the label above: set in from the column's start
    (a hanging indent) and starting lower case ("Specific physical" / "features")."""
    return cell.x0 > anchor + 0.5 * size and cell.text[:1].islower()


def _band(line: _Line, rules: list[float]) -> int:
    """How many of the rules lie above the line's middle: lines between the same two rules share a band."""
    middle = (line.y0 + line.y1) / 2
    return sum(1 for y in rules if y < middle)


def _column_cells(line: _Line, extents: list[tuple[float, float]], size: float) -> dict[int, str]:
    """The line's text by column: each span goes to the column whose extent it overlaps most, or the
    nearest one, so a header's words a narrow gap apart still part where the body's columns part, and a
    header centred over its column finds it."""
    spans = sorted(((s.x0, s.x1, span_text(s)) for r in line.rows for s in r.spans if s.text.strip()),
                   key=lambda s: s[0])
    cells: dict[int, tuple[float, str]] = {}
    col, end = -1, -1e9
    for x0, x1, text in spans:
        if x0 - end >= 0.15 * size or col < 0:  # a span touching the one before is the rest of its word
            col = max(range(len(extents)), key=lambda i: (min(x1, extents[i][1]) - max(x0, extents[i][0]),
                                                          -abs((x0 + x1) / 2 - sum(extents[i]) / 2)))
        last, joined = cells.get(col, (x0, ""))
        gap = "" if not joined or joined.endswith(" ") or text.startswith(" ") or x0 - last < 0.15 * size else " "
        cells[col] = (x1, joined + gap + text)
        end = x1
    return {col: " ".join(text.split()) for col, (_, text) in cells.items()}

