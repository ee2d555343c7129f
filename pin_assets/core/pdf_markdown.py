"""PDF to Markdown with inline images, built on PyMuPDF's text spans, drawings and tables.

The converter reads each page once as a span dictionary, puts blocks in reading order with a recursive
cut on whitespace gaps (columns first, so two-column papers read column by column), drops running
headers, footers and page numbers, and turns rows of spans into headings, paragraphs, lists, code
blocks, tables and images. It uses no layout model: it is meant to run over millions of pages, so
`page.find_tables()` is only called on pages whose vector drawings contain ruling lines.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pymupdf

from pin_assets.core.document import ConversionError, ExtractedImage, ParsedDocument
from pin_assets.core.limits import check_image_pixels, check_page_count

_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
_BROWSER_EXTS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
     "\ufb06": "st", "\u00ad": "", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " "}
)
_BULLET_RE = re.compile(r"^\s*([•◦▪▫‣●○■□►▸➢➤✓✔·\uf0b7\uf0a7\uf0d8\uf076\uf0fc]\s*|[-–]\s+)")
_NUMBER_RE = re.compile(r"^\s*(\d{1,3})([.)])\s+")
_LABEL_RE = re.compile(r"^\s*(\(\d{1,3}\)|\(?[a-z]\)|\(?[ivx]{1,4}\))\s+")
_CAPTION_RE = re.compile(
    r"^\s*(\[?(fig(ure)?|table|tab|listing|chart|plate|scheme|photo|image|abbildung|tabelle|표|그림)"
    r"\.?\s*[\dIVX]+|(표|그림)\s*\d)",
    re.IGNORECASE,
)
_PAGE_NUMBER_RE = re.compile(
    r"^\W*((page|p\.|seite|página|страница)\s*)?(\d{1,4}([-–.]\d{1,4})?|[ivxlc]{1,6})"
    r"(\s*(/|of|von|de|из)\s*\d{1,4})?\W*$",
    re.IGNORECASE,
)
_EDGE_NUMBER_RE = re.compile(r"^\d{1,4}\s\s*\S|\S\s*\s\d{1,4}$")
_BOLD_NAME_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_ITALIC_NAME_RE = re.compile(r"italic|oblique", re.IGNORECASE)
_MONO_NAME_RE = re.compile(
    r"mono|courier|consol|menlo|inconsolata|sourcecode|fixed|cmtt|sftt|lmtt|\btt\d", re.IGNORECASE
)
_RTL_RE = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_RE = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_BAD_TITLE_RE = re.compile(
    r"^(microsoft (word|powerpoint) - |untitled|doi:|title\b)|\.(pdf|docx?|tex|dvi|ps|indd|qxd|rtf)$",
    re.IGNORECASE,
)
_HYPHENS = "-\u2010\u00ad"


# ---------------------------------------------------------------- data carried between the passes


@dataclass(frozen=True)
class _Span:
    """A run of text with one style; superscripts stay plain so footnote marks do not become bold."""

    text: str
    size: float
    bold: bool
    italic: bool
    mono: bool
    superscript: bool
    x0: float
    x1: float


@dataclass
class _Row:
    """One visual line: the PyMuPDF lines sharing a baseline, in reading direction."""

    spans: list[_Span]
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def size(self) -> float:
        """The size most characters have, so a big initial or a footnote mark does not decide it."""
        sizes: Counter[float] = Counter()
        for s in self.spans:
            if not s.superscript and s.text.strip():
                sizes[round(s.size * 2) / 2] += len(s.text.strip())
        return sizes.most_common(1)[0][0] if sizes else round(self.spans[0].size * 2) / 2

    def all(self, attr: str) -> bool:
        """Whether every visible character has a style (bold, italic, mono)."""
        visible = [s for s in self.spans if s.text.strip() and not s.superscript]
        return bool(visible) and all(getattr(s, attr) for s in visible)


@dataclass
class _Unit:
    """A block placed on the page: text rows, a table (Markdown ready) or an image occurrence."""

    kind: str  # "text" | "table" | "image"
    x0: float
    y0: float
    x1: float
    y1: float
    rows: list[_Row] = field(default_factory=list)
    markdown: str = ""
    image: dict | None = None


@dataclass
class _Element:
    """A Markdown block being built from rows: heading, paragraph, list item, code, table or image."""

    kind: str
    rows: list[_Row] = field(default_factory=list)
    marker: str = ""
    level: int = 0
    unit: _Unit | None = None
    start_x: float = 0.0  # where a list item's marker starts, to tell continuation lines

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        if self.unit is not None:
            return self.unit.x0, self.unit.y0, self.unit.x1, self.unit.y1
        return (min(r.x0 for r in self.rows), min(r.y0 for r in self.rows),
                max(r.x1 for r in self.rows), max(r.y1 for r in self.rows))


@dataclass
class _Page:
    """What the first pass learned about one page."""

    width: float
    height: float
    units: list[_Unit]
    text_chars: int
    image_cover: float


@dataclass
class _Style:
    """Document-wide facts the second pass needs: body size, heading levels, running lines, hyphens."""

    body: float
    levels: dict[float, int]
    running: set[str]
    hyphenated: set[str]


# ---------------------------------------------------------------- public API


def pdf_to_markdown(
    data: bytes,
    *,
    max_pages: int | None = None,
    min_image_side: int = 8,
    max_image_pixels: int = 100_000_000,
    detect_tables: bool = True,
    truncate: bool = True,
) -> ParsedDocument:
    """Convert a PDF to Markdown with images inline in reading order.

    With ``truncate`` (the default for interactive use) a PDF longer than ``max_pages`` is converted up to
    that page with a warning; without it (the pipeline) it is refused before any page is read, so a
    2,000-page monster costs milliseconds, not minutes, and its record is not silently partial.

    Raises ConversionError with reason ``empty``, ``not_pdf``, ``corrupt``, ``encrypted``,
    ``no_pages`` or ``limit`` (more than ``max_pages`` pages, or an image larger than ``max_image_pixels``).
    """
    pymupdf.TOOLS.reset_mupdf_warnings()
    doc = _open(data)
    try:
        if not truncate:
            check_page_count(doc.page_count, max_pages, "the PDF")
        return _convert(doc, max_pages, min_image_side, max_image_pixels, detect_tables)
    except ConversionError:
        raise
    except (RuntimeError, ValueError) as exc:  # MuPDF reports broken content streams this way
        raise ConversionError("corrupt", f"the PDF is damaged and could not be read: {exc}") from exc
    finally:
        doc.close()


def _open(data: bytes) -> pymupdf.Document:
    """Open the bytes as a PDF, turning every way that can fail into a ConversionError."""
    if not data:
        raise ConversionError("empty", "the file is empty (0 bytes)")
    if b"%PDF-" not in data[:1024]:
        raise ConversionError("not_pdf", "the file is not a PDF (no %PDF- header in its first 1 KiB)")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types (FileDataError, RuntimeError...) for junk
        raise ConversionError("corrupt", f"the PDF is damaged and could not be opened: {exc}") from exc
    if doc.needs_pass:
        doc.close()
        raise ConversionError("encrypted", "the PDF is encrypted: a password is required to open it")
    if doc.page_count == 0:
        reason = "corrupt" if doc.is_repaired else "no_pages"
        doc.close()
        damaged = " (it is damaged)" if reason == "corrupt" else ""
        raise ConversionError(reason, f"the PDF has no pages{damaged}")
    return doc


def _convert(
    doc: pymupdf.Document, max_pages: int | None, min_side: int, max_pixels: int, detect_tables: bool
) -> ParsedDocument:
    """Two passes: read every page (rows, tables, images), then write Markdown with document-wide style."""
    warnings: list[str] = []
    count = doc.page_count if max_pages is None else max(1, min(max_pages, doc.page_count))
    if count < doc.page_count:
        warnings.append(f"only the first {count} of {doc.page_count} pages were converted")
    pages = [_read_page(doc[i], detect_tables, max_pixels) for i in range(count)]
    style = _document_style(pages)
    images = _ImageStore(doc, min_side, max_pixels, warnings)
    scanned: list[int] = []
    page_mds: list[str] = []
    for index, page in enumerate(pages):
        if page.text_chars == 0:
            if page.image_cover >= 0.5:
                scanned.append(index)
                warnings.append(f"page {index + 1} is scanned (an image, no text layer); no OCR was run")
            elif not page.units:
                warnings.append(f"page {index + 1} has no text and no images")
            else:
                warnings.append(f"page {index + 1} has no extractable text")
        page_mds.append(_page_markdown(page, style, images, index))
    markdown, offsets = _join_pages(page_mds)
    if not markdown.strip() and not scanned and not images.ordered:
        _raise_if_broken(doc)
    if doc.is_repaired:
        warnings.append("the PDF was damaged and has been repaired; some content may be missing")
    return ParsedDocument(
        markdown=markdown,
        images=images.ordered,
        page_offsets=offsets,
        page_count=count,
        scanned_pages=scanned,
        title=_title(doc.metadata or {}, markdown),
        metadata={k: str(v).strip() for k, v in sorted((doc.metadata or {}).items()) if v and str(v).strip()},
        warnings=warnings,
    )


def _raise_if_broken(doc: pymupdf.Document) -> None:
    """An empty result from a PDF that MuPDF repaired or could not fully load is damage, not emptiness.

    MuPDF skips objects it cannot load (a page dictionary nested too deep, a truncated stream) with only a
    warning; without this the document would be quarantined as ``empty``, which sends users looking for a
    blank file instead of a broken one.
    """
    errors = [line for line in pymupdf.TOOLS.mupdf_warnings().splitlines() if line.strip()]
    if doc.is_repaired or any("cannot load object" in line or "error" in line for line in errors):
        detail = f" (MuPDF: {errors[0]})" if errors else ""
        raise ConversionError("corrupt", f"the PDF is damaged and nothing could be recovered{detail}")


def _join_pages(page_mds: list[str]) -> tuple[str, list[int]]:
    """Concatenate page Markdown with blank lines and record where each page starts."""
    markdown = ""
    offsets: list[int] = []
    for md in page_mds:
        separator = "\n\n" if markdown and md else ""
        offsets.append(len(markdown) + len(separator))
        markdown += separator + md
    return (markdown + "\n" if markdown else markdown), offsets


def _title(meta: dict, markdown: str) -> str | None:
    """The metadata title unless it looks like a file name or an identifier, else the first # heading."""
    title = " ".join(str(meta.get("title") or "").split())
    if len(title) >= 3 and re.search(r"[^\W\d_]", title) and not _BAD_TITLE_RE.search(title):
        return title
    match = re.search(r"^# (.+)$", markdown, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


# ---------------------------------------------------------------- first pass: read a page


def _read_page(page: pymupdf.Page, detect_tables: bool, max_pixels: int | None = None) -> _Page:
    """Collect text rows per block, table areas and image placements of one page.

    Image sizes are checked against ``max_pixels`` before anything decodes an image (see
    :func:`_image_placements`).
    """
    textpage = page.get_textpage(flags=_TEXT_FLAGS)
    blocks = textpage.extractDICT()["blocks"]
    if any(_RTL_RE.search(s["text"]) for b in blocks for line in b.get("lines", ()) for s in line["spans"]):
        blocks = textpage.extractRAWDICT()["blocks"]  # per-character boxes to repair lam-alef ligatures
    tables = _find_tables(page, textpage) if detect_tables and _has_rulings(page) else []
    units = list(tables)
    text_chars = 0
    for block in blocks:
        rows = _block_rows(block)
        rows = [r for r in rows if not any(_center_in(r, t) for t in tables)]
        if rows:
            text_chars += sum(len(r.text.strip()) for r in rows)
            units.append(_text_unit(rows))
    area = max(page.rect.width * page.rect.height, 1.0)
    placements = _image_placements(page, max_pixels)
    cover = sum((p["bbox"][2] - p["bbox"][0]) * (p["bbox"][3] - p["bbox"][1]) for p in placements) / area
    units += [_Unit("image", *p["bbox"], image=p) for p in placements]
    return _Page(page.rect.width, page.rect.height, units, text_chars, min(cover, 1.0))


def _text_unit(rows: list[_Row]) -> _Unit:
    """A text unit whose box is the union of its rows."""
    return _Unit("text", min(r.x0 for r in rows), min(r.y0 for r in rows),
                 max(r.x1 for r in rows), max(r.y1 for r in rows), rows=rows)


def _center_in(row: _Row, unit: _Unit) -> bool:
    """Whether a row's centre lies inside a unit, used to keep table text out of paragraphs."""
    cx, cy = (row.x0 + row.x1) / 2, (row.y0 + row.y1) / 2
    return unit.x0 <= cx <= unit.x1 and unit.y0 <= cy <= unit.y1


def _block_rows(block: dict) -> list[_Row]:
    """Turn a PyMuPDF text block into visual rows, dropping rotated text such as arXiv side stamps."""
    if block.get("type", 0) != 0:
        return []
    pieces = []
    for line in block["lines"]:
        if abs(line["dir"][1]) > 0.1 or line["dir"][0] < 0:
            continue
        spans = [span for span in map(_make_span, line["spans"]) if span.text]
        if any(s.text.strip() for s in spans):
            pieces.append((line["bbox"], spans))
    return _merge_rows(pieces)


def _make_span(raw: dict) -> _Span:
    """Read style from flags and, because many PDFs leave flags unset, from the font name too."""
    font = raw["font"]
    flags = raw["flags"]
    text = raw["text"] if "text" in raw else _lam_alef_text(raw["chars"])
    return _Span(
        text=text.translate(_LIGATURES),
        size=raw["size"],
        bold=bool(flags & pymupdf.TEXT_FONT_BOLD) or bool(_BOLD_NAME_RE.search(font)),
        italic=bool(flags & pymupdf.TEXT_FONT_ITALIC) or bool(_ITALIC_NAME_RE.search(font)),
        mono=bool(flags & pymupdf.TEXT_FONT_MONOSPACED) or bool(_MONO_NAME_RE.search(font)),
        superscript=bool(flags & pymupdf.TEXT_FONT_SUPERSCRIPT),
        x0=raw["bbox"][0],
        x1=raw["bbox"][2],
    )


def _lam_alef_text(chars: list[dict]) -> str:
    """Span text from characters, putting Arabic lam-alef ligatures back in logical order.

    MuPDF emits the ligature glyph as a zero-width alef followed by the lam, so after its bidi
    reordering the pair reads alef-lam ("المشكالت" for "المشكلات"); the zero width gives it away.
    """
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        nxt = chars[i + 1]["c"] if i + 1 < len(chars) else ""
        if c["c"] in "اأإآ" and nxt == "ل" and c["bbox"][2] - c["bbox"][0] < 0.01:
            out += ["ل", c["c"]]
            i += 2
            continue
        out.append(c["c"])
        i += 1
    return "".join(out)


def _merge_rows(pieces: list[tuple[tuple, list[_Span]]]) -> list[_Row]:
    """Group line pieces that share a baseline into one row, ordered left-to-right or right-to-left."""
    rows: list[list[tuple[tuple, list[_Span]]]] = []
    for bbox, spans in sorted(pieces, key=lambda p: ((p[0][1] + p[0][3]) / 2, p[0][0])):
        if rows:
            last = rows[-1]
            y0, y1 = min(b[1] for b, _ in last), max(b[3] for b, _ in last)
            overlap = min(y1, bbox[3]) - max(y0, bbox[1])
            if overlap > 0.5 * min(y1 - y0, bbox[3] - bbox[1]):
                last.append((bbox, spans))
                continue
        rows.append([(bbox, spans)])
    return [_make_row(group) for group in rows]


def _make_row(group: list[tuple[tuple, list[_Span]]]) -> _Row:
    """Join the pieces of a row, inserting a space where the pieces are visibly apart."""
    text = "".join(s.text for _, spans in group for s in spans)
    rtl = len(_RTL_RE.findall(text)) > len(_LTR_RE.findall(text))
    group = sorted(group, key=lambda p: -p[0][2] if rtl else p[0][0])
    spans: list[_Span] = []
    previous: tuple | None = None
    for bbox, piece in group:
        gap = 0.0 if previous is None else previous[0] - bbox[2] if rtl else bbox[0] - previous[2]
        apart = gap > 0.15 * piece[0].size
        if apart and not spans[-1].text.endswith(" ") and not piece[0].text.startswith(" "):
            spans.append(_Span(" ", piece[0].size, False, False, False, False, bbox[0], bbox[0]))
        spans.extend(piece)
        previous = bbox
    return _Row(spans, min(b[0] for b, _ in group), min(b[1] for b, _ in group),
                max(b[2] for b, _ in group), max(b[3] for b, _ in group))


def _image_placements(page: pymupdf.Page, max_pixels: int | None = None) -> list[dict]:
    """Where images are drawn on the page (clipped to it); one entry per placement, in paint order.

    ``get_image_info(xrefs=True)`` finds xrefs by hashing every image, which decodes it in full: a 50 KB
    stream declaring 20,000 x 20,000 pixels costs 400 MB and seconds there. The plain call reads only the
    declared sizes, so the pixel limit is enforced first and the decoding call only sees accepted images.
    """
    declared = page.get_image_info()
    if not declared:
        return []
    for info in declared:
        check_image_pixels(info["width"], info["height"], max_pixels, f"an image on page {page.number + 1}")
    placements = []
    for info in page.get_image_info(xrefs=True):
        box = pymupdf.Rect(info["bbox"]) & page.rect
        if box.is_empty or box.width < 1 or box.height < 1:
            continue
        placements.append({"bbox": tuple(box), "xref": info["xref"], "width": info["width"],
                           "height": info["height"], "page": page.number})
    return placements


# ---------------------------------------------------------------- tables


def _has_rulings(page: pymupdf.Page) -> bool:
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


def _find_tables(page: pymupdf.Page, textpage: pymupdf.TextPage) -> list[_Unit]:
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
        grid = _fill_cells(cells, words)
        if sum(1 for cell in grid if cell[4]) < 2:
            continue
        units.append(_Unit("table", *table.bbox, markdown=_table_markdown(grid)))
    return units


def _table_cells(table) -> list[tuple[int, int, int, int]] | None:
    """Cells as (row, col, rowspan, colspan) plus their box, derived from the cell geometry."""
    boxes = [c for row in table.rows for c in row.cells if c is not None]
    xs = _cluster(sorted({b[0] for b in boxes}))
    ys = _cluster(sorted({b[1] for b in boxes}))
    cells = []
    for x0, y0, x1, y1 in sorted(set(boxes), key=lambda b: (round(b[1]), round(b[0]))):
        col = _index_of(xs, x0)
        row = _index_of(ys, y0)
        colspan = max(1, sum(1 for x in xs if x0 - 1 <= x < x1 - 1))
        rowspan = max(1, sum(1 for y in ys if y0 - 1 <= y < y1 - 1))
        cells.append((row, col, rowspan, colspan, (x0, y0, x1, y1)))
    return cells


def _cluster(values: list[float], tolerance: float = 1.5) -> list[float]:
    """Collapse coordinates closer than ``tolerance`` points: cell edges are never drawn exactly."""
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > tolerance:
            out.append(v)
    return out


def _index_of(edges: list[float], value: float) -> int:
    """Index of the edge nearest to ``value``."""
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def _fill_cells(cells: list, words: list) -> list[tuple[int, int, int, int, str]]:
    """Put each word into the cell holding its centre; MuPDF's own table text drops spaces and dots."""
    texts: list[list[str]] = [[] for _ in cells]
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        for i, (*_, (x0, y0, x1, y1)) in enumerate(cells):
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                texts[i].append(w[4].translate(_LIGATURES))
                break
    return [(r, c, rs, cs, " ".join(t)) for (r, c, rs, cs, _), t in zip(cells, texts, strict=True)]


def _table_markdown(grid: list[tuple[int, int, int, int, str]]) -> str:
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


# ---------------------------------------------------------------- document-wide style


def _document_style(pages: list[_Page]) -> _Style:
    """Body size (the size most characters have), heading sizes, running lines and hyphenated words."""
    sizes: Counter[float] = Counter()
    hyphenated: set[str] = set()
    for page in pages:
        for row in _text_rows(page):
            sizes[row.size] += len(row.text.strip())
            hyphenated.update(m.lower() for m in re.findall(r"\w+-\w+", row.text))
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    bigger = sorted((s for s in sizes if s >= body * 1.08 and s - body >= 0.5), reverse=True)
    levels = {s: min(i + 1, 5) for i, s in enumerate(bigger)}
    return _Style(body, levels, _running_lines(pages), hyphenated)


def _text_rows(page: _Page) -> Iterator[_Row]:
    """All text rows of a page, in no particular order."""
    for unit in page.units:
        yield from unit.rows


def _margin_rows(page: _Page, share: float = 0.14) -> Iterator[_Row]:
    """Rows in the top or bottom share of the page, where running headers and footers live."""
    for row in _text_rows(page):
        if row.y1 < share * page.height or row.y0 > (1 - share) * page.height:
            yield row


def _running_key(text: str) -> str:
    """Compare running lines without their page numbers and spacing."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_lines(pages: list[_Page]) -> set[str]:
    """Margin lines that repeat on at least half the pages (and at least two) are running headers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_running_key(r.text) for r in _margin_rows(page)})
    need = max(2, (len(pages) + 1) // 2)
    return {key for key, n in seen.items() if n >= need}


def _drop_running(page: _Page, style: _Style) -> list[_Unit]:
    """Remove running headers/footers and page numbers, then drop units left empty."""
    rows = [r for r in _text_rows(page)]
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
            units.append(_text_unit(kept))
    return units


def _is_running(row: _Row, style: _Style, top: float, bottom: float) -> bool:
    """A margin row is running text if it repeats across pages, is a page number, or is the page's
    outermost row carrying a page number at one end (a header like "Title of the paper   9")."""
    text = " ".join(row.text.split())
    if _running_key(text) in style.running or _PAGE_NUMBER_RE.match(text):
        return True
    outermost = abs(row.y0 - top) < 1 or abs(row.y1 - bottom) < 1
    return outermost and row.size <= style.body and not row.all("bold") and bool(_EDGE_NUMBER_RE.search(text))


# ---------------------------------------------------------------- reading order


def _reading_order(units: list[_Unit], page_width: float) -> list[_Unit]:
    """Order units by recursive cuts: split into columns where a vertical gap runs through the whole
    region, otherwise into horizontal bands, re-merging consecutive bands that share columns so a
    full-width title or figure does not make a two-column body read line by line across columns."""
    if len(units) <= 1:
        return list(units)
    columns = _split_columns(units, page_width)
    if len(columns) > 1:
        return [u for col in columns for u in _reading_order(col, page_width)]
    bands = _split_bands(units)
    if len(bands) == 1:
        return sorted(units, key=lambda u: (round(u.y0), u.x0))
    groups: list[list[_Unit]] = [bands[0]]
    for band in bands[1:]:
        if len(_split_columns(groups[-1] + band, page_width)) > 1:
            groups[-1] = groups[-1] + band
        else:
            groups.append(band)
    return [u for group in groups for u in _reading_order(group, page_width)]


def _place_figures(ordered: list[_Unit], figures: list[_Unit]) -> list[_Unit]:
    """Insert images after the last unit above them in their column (or before the first unit of that
    column when nothing is above). Images take no part in the cuts because figures often straddle the
    column gutter, which would otherwise stop the page from splitting into columns at all."""
    ordered = list(ordered)
    for fig in sorted(figures, key=lambda u: (u.y0, u.x0)):
        same_column = [i for i, u in enumerate(ordered) if u.x0 < fig.x1 and u.x1 > fig.x0]
        above = [i for i in same_column if ordered[i].y0 < fig.y0]
        position = max(above) + 1 if above else min(same_column, default=len(ordered))
        ordered.insert(position, fig)
    return ordered


def _figure_units(images: list[_Unit]) -> list[_Unit]:
    """Merge overlapping image placements into one figure: a picture drawn as tiles or with overlays
    becomes a single image, the largest placement's own bytes when it covers the group, else a render."""
    groups: list[list[_Unit]] = []
    for image in sorted(images, key=lambda u: (u.y0, u.x0)):
        touching = [g for g in groups if any(_overlaps(image, other) for other in g)]
        merged = [image] + [u for g in touching for u in g]
        groups = [g for g in groups if all(g is not t for t in touching)] + [merged]
    figures = []
    for group in groups:
        box = _union(group)
        largest = max(group, key=_area)
        if len(group) == 1 or _area(largest) >= 0.9 * _area(box):
            figures.append(largest)
        else:
            box.image = _render_placement(box, group)
            figures.append(box)
    return figures


def _overlaps(a: _Unit, b: _Unit, slack: float = 1.0) -> bool:
    """Whether two boxes intersect or touch."""
    return a.x0 <= b.x1 + slack and b.x0 <= a.x1 + slack and a.y0 <= b.y1 + slack and b.y0 <= a.y1 + slack


def _union(units: list[_Unit]) -> _Unit:
    """The box enclosing a group of units."""
    return _Unit("image", min(u.x0 for u in units), min(u.y0 for u in units),
                 max(u.x1 for u in units), max(u.y1 for u in units))


def _area(unit: _Unit) -> float:
    """Area of a unit's box in square points."""
    return max(unit.x1 - unit.x0, 0.0) * max(unit.y1 - unit.y0, 0.0)


def _render_placement(box: _Unit, group: list[_Unit]) -> dict:
    """A placement that asks for the page area to be rendered, at the finest member's resolution."""
    zoom = max(u.image["width"] / max(u.x1 - u.x0, 1.0) for u in group)
    zoom = min(3.0, max(1.0, zoom))
    page = group[0].image["page"]
    width, height = round((box.x1 - box.x0) * zoom), round((box.y1 - box.y0) * zoom)
    return {"bbox": (box.x0, box.y0, box.x1, box.y1), "xref": 0, "width": width, "height": height,
            "page": page, "zoom": zoom}


def _split_columns(units: list[_Unit], page_width: float) -> list[list[_Unit]]:
    """Split where no unit crosses a vertical gap; slivers narrower than a tenth of the page (bullets,
    numbers) stay with their neighbour so a list is not read as all bullets first."""
    ordered = sorted(units, key=lambda u: u.x0)
    groups: list[list[_Unit]] = []
    right = -1e9
    for unit in ordered:
        if groups and unit.x0 < right + 3:
            groups[-1].append(unit)
        else:
            groups.append([unit])
        right = max(right, unit.x1) if len(groups[-1]) > 1 else unit.x1
    min_width = 0.1 * page_width
    merged: list[list[_Unit]] = []
    for group in groups:
        narrow = max(u.x1 for u in group) - min(u.x0 for u in group) < min_width
        if merged and (narrow or _width(merged[-1]) < min_width):
            merged[-1] = merged[-1] + group
        else:
            merged.append(group)
    return merged


def _width(units: list[_Unit]) -> float:
    """Horizontal extent of a group of units."""
    return max(u.x1 for u in units) - min(u.x0 for u in units)


def _split_bands(units: list[_Unit]) -> list[list[_Unit]]:
    """Split where no unit crosses a horizontal gap."""
    bands: list[list[_Unit]] = []
    bottom = -1e9
    for unit in sorted(units, key=lambda u: u.y0):
        if bands and unit.y0 < bottom - 0.5:
            bands[-1].append(unit)
            bottom = max(bottom, unit.y1)
        else:
            bands.append([unit])
            bottom = unit.y1
    return bands


# ---------------------------------------------------------------- second pass: elements


def _page_markdown(page: _Page, style: _Style, images: _ImageStore, index: int) -> str:
    """Markdown of one page: ordered units, grouped into elements, rendered."""
    units = _drop_running(page, style)
    area = page.width * page.height
    background = [u for u in units if u.kind == "image" and (u.x1 - u.x0) * (u.y1 - u.y0) > 0.5 * area]
    figures = _figure_units([u for u in units if u.kind == "image" and all(u is not b for b in background)])
    flow = _reading_order([u for u in units if u.kind != "image"], page.width)
    ordered = background + _place_figures(flow, figures)
    elements = _elements(ordered, style)
    parts = []
    for element in elements:
        md = _render(element, elements, style, images)
        if md:
            parts.append(md)
    return "\n\n".join(parts)


def _elements(units: list[_Unit], style: _Style) -> list[_Element]:
    """Group ordered rows into Markdown blocks; tables and images pass through as they are."""
    elements: list[_Element] = []
    rows = [r for u in units for r in u.rows]
    gap = _typical_gap(rows)
    current: _Element | None = None
    for unit in units:
        if unit.kind != "text":
            elements.append(_Element(unit.kind, unit=unit))
            current = None
            continue
        for row in unit.rows:
            if current is not None and _continues(current, row, style, gap):
                current.rows.append(row)
                continue
            current = _start_element(row)
            elements.append(current)
    for element in elements:
        _classify_heading(element, style)
    return elements


def _typical_gap(rows: list[_Row]) -> float:
    """Median whitespace between consecutive lines of a column: the page's normal line spacing."""
    gaps = [
        b.y0 - a.y1
        for a, b in zip(rows, rows[1:], strict=False)
        if b.x0 < a.x1 and b.x1 > a.x0 and -0.5 * a.height <= b.y0 - a.y1 <= 1.5 * a.height
    ]
    return statistics.median(gaps) if len(gaps) >= 3 else 0.2 * (rows[0].height if rows else 10)


def _start_element(row: _Row) -> _Element:
    """Begin a code block, list item or paragraph with this row."""
    if row.all("mono"):
        return _Element("code", [row])
    marker = _list_marker(row.text)
    if marker is not None:
        return _Element("list", [_without_marker(row)], marker=marker, start_x=row.x0)
    return _Element("para", [row])


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


def _continues(element: _Element, row: _Row, style: _Style, gap: float) -> bool:
    """Whether a row continues the current block rather than starting a new one."""
    prev = element.rows[-1]
    if element.kind == "code":
        return row.all("mono") and 0 <= row.y0 - prev.y1 < 1.5 * prev.height + gap
    if element.kind not in ("para", "list") or row.all("mono") or _list_marker(row.text) is not None:
        return False
    if abs(row.size - prev.size) > 0.6 or not (row.x0 < prev.x1 and row.x1 > prev.x0):
        return False
    if not -0.5 * prev.height <= row.y0 - prev.y1 <= gap + 0.5 * min(prev.height, row.height):
        return False
    left = min(r.x0 for r in element.rows[1:]) if len(element.rows) > 1 else element.rows[0].x0
    if element.kind == "list":
        return row.x0 > element.start_x + 0.3 * row.size
    if row.x0 > left + 0.6 * row.size:
        return False
    return not _ends_standalone(element, row)


def _ends_standalone(element: _Element, row: _Row) -> bool:
    """A short fully bold or italic first line followed by plain text is a run-in heading line, and a
    short line ending a sentence closes its paragraph."""
    prev = element.rows[-1]
    text = prev.text.strip()
    emphasized = prev.all("bold") or prev.all("italic")
    plain_next = not (row.all("bold") or row.all("italic"))
    short = len(text) <= 80 and not text.endswith((".", ",", ";"))
    if len(element.rows) == 1 and emphasized and plain_next and short:
        return True
    right = max(r.x1 for r in element.rows)
    return len(element.rows) > 1 and prev.x1 < right - 4 * prev.size and text.endswith((".", "!", "?", ":"))


def _classify_heading(element: _Element, style: _Style) -> None:
    """Mark paragraphs as headings: bigger than body text, or a short line fully in bold (or italic in
    title case), the way section titles are set at body size in many documents."""
    numbered = element.kind == "list" and element.marker != "-"
    if element.kind != "para" and not numbered:
        return
    text = " ".join(" ".join(r.text.split()) for r in element.rows)
    if not text or len(text) > 200 or len(element.rows) > 4 or _CAPTION_RE.match(text):
        return
    size = Counter(r.size for r in element.rows).most_common(1)[0][0]
    if size in style.levels:
        element.kind, element.level = "heading", style.levels[size]
        element.marker = element.marker.removeprefix("- ")
        return
    if numbered:
        return
    if len(element.rows) != 1 or len(text) > 100 or text.endswith((".", ",", ";", ":")):
        return
    if size < style.body - 0.6:
        return
    row = element.rows[0]
    words = text.split()
    title_case = len(words) <= 8 and all(w[0].isupper() or not w[0].isalpha() for w in words if len(w) > 3)
    if row.all("bold") or (row.all("italic") and title_case and text[0].isupper()):
        element.kind, element.level = "heading", min(len(style.levels) + 1, 6)


# ---------------------------------------------------------------- rendering


def _render(element: _Element, elements: list[_Element], style: _Style, images: _ImageStore) -> str:
    """Markdown text of one element."""
    if element.kind == "table":
        return element.unit.markdown
    if element.kind == "image":
        caption = _caption_for(element, elements, style)
        image = images.get(element.unit.image, caption)
        return f"![](content_image/{image.name})" if image else ""
    if element.kind == "code":
        return _render_code(element.rows)
    if element.kind == "heading":
        text = " ".join([element.marker, *_plain(element.rows, style).split()]).strip()
        return "#" * element.level + " " + _escape_start(text)
    body = _inline(element.rows, style)
    if element.kind == "list":
        indent = "  " * _list_depth(element, elements)
        return f"{indent}{element.marker} {body}"
    return _escape_start(body)


def _list_depth(element: _Element, elements: list[_Element]) -> int:
    """Nesting depth from how far right this item's marker sits compared with earlier items."""
    lefts: list[float] = []
    for other in elements:
        if other is element:
            break
        if other.kind == "list":
            lefts.append(other.start_x)
        else:
            lefts = []
    x0 = element.start_x
    return min(3, len(_cluster(sorted({x for x in lefts if x < x0 - 4}), 4)))


def _without_marker(row: _Row) -> _Row:
    """The row minus its bullet or number, which the Markdown list marker now carries."""
    match = _BULLET_RE.match(row.text) or _NUMBER_RE.match(row.text) or _LABEL_RE.match(row.text)
    drop = match.end() if match else 0
    spans = []
    for span in row.spans:
        cut = min(drop, len(span.text))
        drop -= cut
        if span.text[cut:]:
            spans.append(_Span(span.text[cut:], span.size, span.bold, span.italic, span.mono,
                               span.superscript, span.x0, span.x1))
    return _Row(spans, row.x0, row.y0, row.x1, row.y1)


def _render_code(rows: list[_Row]) -> str:
    """A fenced block that keeps line breaks and rebuilds indentation from x positions."""
    widths = [(s.x1 - s.x0) / len(s.text) for r in rows for s in r.spans if s.text.strip() and s.x1 > s.x0]
    char = statistics.median(widths) if widths else 5.0
    left = min(r.x0 for r in rows)
    lines = [" " * round((r.x0 - left) / char) + r.text.rstrip() for r in rows]
    fence = "````" if any("```" in line for line in lines) else "```"
    return "\n".join([fence, *lines, fence])


def _plain(rows: list[_Row], style: _Style) -> str:
    """Row text joined across line ends, without emphasis markers."""
    return "".join(text for text, *_ in _joined_segments(rows, style))


def _inline(rows: list[_Row], style: _Style) -> str:
    """Row text joined across line ends with **bold**, *italic* and `code` runs."""
    runs: list[list] = []
    for text, bold, italic, mono in _joined_segments(rows, style):
        if runs and (not text.strip() or runs[-1][1:] == [bold, italic, mono]):
            runs[-1][0] += text
        else:
            runs.append([text, bold, italic, mono])
    return "".join(_emphasize(*run) for run in runs).strip()


def _joined_segments(rows: list[_Row], style: _Style) -> Iterator[tuple[str, bool, bool, bool]]:
    """Span texts with styles, joining rows with a space or, for a word hyphenated at the line end,
    with nothing (keeping the hyphen when the document spells the word with one elsewhere)."""
    previous = ""
    for i, row in enumerate(rows):
        spans = [s for s in row.spans if s.text]
        if i:
            joiner, drop = _line_join(previous, row.text.lstrip(), style)
            if drop:
                yield "\x00", False, False, False  # marks the hyphen to remove
            if joiner:
                yield joiner, False, False, False
        for j, span in enumerate(spans):
            text = span.text.lstrip() if j == 0 else span.text
            text = text.rstrip() if j == len(spans) - 1 else text
            plain = span.superscript or not re.search(r"[^\W\d_]", text)
            yield text, span.bold and not plain, span.italic and not plain, span.mono and not span.superscript
        previous = row.text.rstrip()


def _line_join(previous: str, following: str, style: _Style) -> tuple[str, bool]:
    """How to join two lines: the separator and whether the trailing hyphen must go."""
    match = re.search(r"(\w+)[" + _HYPHENS + r"]$", previous)
    nxt = re.match(r"\w+", following)
    if not match or not nxt:
        return " ", False
    if previous.endswith("\u00ad") or (
        nxt.group(0)[0].islower() and f"{match.group(1)}-{nxt.group(0)}".lower() not in style.hyphenated
    ):
        return "", True
    return "", False


def _emphasize(text: str, bold: bool, italic: bool, mono: bool) -> str:
    """Wrap a run in Markdown emphasis, keeping surrounding spaces outside the markers."""
    text = _remove_hyphen_marks(text)
    core = text.strip()
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    if mono and not (bold or italic):
        tick = "``" if "`" in core else "`"
        return f"{lead}{tick}{core}{tick}{trail}"
    core = _escape(core)
    mark = "***" if bold and italic else "**" if bold else "*" if italic else ""
    return f"{lead}{mark}{core}{mark}{trail}"


def _remove_hyphen_marks(text: str) -> str:
    """Drop the hyphen that precedes a removal mark inserted by `_joined_segments`."""
    return re.sub(r"[" + _HYPHENS + r"]\s*\x00", "", text).replace("\x00", "")


def _escape(text: str) -> str:
    """Escape characters that would turn plain text into emphasis, code or raw HTML."""
    text = re.sub(r"([\\`*_])", r"\\\1", text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _escape_start(text: str) -> str:
    """Keep a paragraph that begins like a heading, quote or list item from being read as one."""
    return re.sub(r"^([#>+]|\d{1,3}[.)]\s|[-*]\s)", r"\\\1", text)


# ---------------------------------------------------------------- images


def _caption_for(element: _Element, elements: list[_Element], style: _Style) -> str | None:
    """A 'Figure 3: ...' or 'Table 1' paragraph touching the image from below or above."""
    x0, y0, x1, y1 = element.bbox
    reach = 3 * style.body
    best: tuple[float, str] | None = None
    for other in elements:
        if other.kind not in ("para", "heading") or not other.rows:
            continue
        ox0, oy0, ox1, oy1 = other.bbox
        if ox0 > x1 or ox1 < x0:
            continue
        distance = min(abs(oy0 - y1), abs(y0 - oy1))
        text = " ".join(_plain(other.rows, style).split())
        if distance <= reach and _CAPTION_RE.match(text) and (best is None or distance < best[0]):
            best = (distance, text)
    return best[1] if best else None


class _ImageStore:
    """Decodes each image xref once, and records every occurrence in Markdown order."""

    def __init__(self, doc: pymupdf.Document, min_side: int, max_pixels: int, warnings: list[str]):
        self.doc = doc
        self.min_side = min_side
        self.max_pixels = max_pixels
        self.warnings = warnings
        self.cache: dict[int, tuple[bytes, str, int, int] | None] = {}
        self.ordered: list[ExtractedImage] = []

    def get(self, placement: dict, caption: str | None) -> ExtractedImage | None:
        """The image for one placement, or None when it is too small or cannot be decoded."""
        width, height = placement["width"], placement["height"]
        check_image_pixels(width, height, self.max_pixels, f"an image on page {placement['page'] + 1}")
        if min(width, height) < self.min_side:
            return None
        xref = placement["xref"]
        if xref not in self.cache or xref == 0:
            self.cache[xref] = self._decode(placement)
        decoded = self.cache[xref]
        if decoded is None:
            return None
        image = ExtractedImage(*decoded, caption=caption)
        self.ordered.append(image)
        return image

    def _decode(self, placement: dict) -> tuple[bytes, str, int, int] | None:
        """Original bytes when a browser can show them, else PNG; failures become warnings."""
        try:
            if placement["xref"] == 0:
                return _render_inline_image(self.doc[placement["page"]], placement)
            return _image_bytes(self.doc, placement["xref"])
        except (RuntimeError, ValueError) as exc:
            self.warnings.append(f"an image on page {placement['page'] + 1} could not be decoded: {exc}")
            return None


def _image_bytes(doc: pymupdf.Document, xref: int) -> tuple[bytes, str, int, int]:
    """Keep JPEG/PNG/GIF/WebP streams as stored; convert JPX, JBIG2, CCITT, CMYK and masked images."""
    info = doc.extract_image(xref)
    ext = _BROWSER_EXTS.get(info.get("ext", ""))
    cmyk_jpeg = ext == "jpeg" and info.get("colorspace") == 4
    if ext and not info.get("smask") and not cmyk_jpeg:
        return info["image"], ext, info["width"], info["height"]
    pix = pymupdf.Pixmap(doc, xref)
    if info.get("smask"):
        pix = pymupdf.Pixmap(pix, pymupdf.Pixmap(doc, info["smask"]))
    if pix.colorspace is None or pix.colorspace.n not in (1, 3):
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    if cmyk_jpeg:
        return pix.tobytes("jpeg"), "jpeg", pix.width, pix.height
    return pix.tobytes("png"), "png", pix.width, pix.height


def _render_inline_image(page: pymupdf.Page, placement: dict) -> tuple[bytes, str, int, int]:
    """Inline images and composite figures have no single stream to extract: render their area."""
    box = pymupdf.Rect(placement["bbox"])
    zoom = placement.get("zoom") or min(4.0, max(0.5, placement["width"] / max(box.width, 1.0)))
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=box)
    return pix.tobytes("png"), "png", pix.width, pix.height

