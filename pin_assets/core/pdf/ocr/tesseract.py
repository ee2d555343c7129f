"""Tesseract through MuPDF: a render cut into its columns (:mod:`.regions`), each read alone, and the
OCR layer MuPDF writes turned into text blocks in points."""

from __future__ import annotations

import pymupdf

from pin_assets.core.pdf.ocr.pieces import line_pieces
from pin_assets.core.pdf.ocr.reading import Reading
from pin_assets.core.pdf.ocr.regions import column_regions, ink_mask
from pin_assets.core.pdf.ocr.words import even_sizes, logical_order, spell_words
from pin_assets.core.pdf.readability import CJK_CHAR_RE, readability

_OCR_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP


def ocr_page(page: pymupdf.Page, angle: int, language: str, zoom: float, tessdata: str,
             clip: pymupdf.Rect | None = None) -> Reading:
    """Render the page turned ``angle`` degrees at ``zoom`` (see :func:`ocr_zoom`) and OCR it into text
    blocks in points.

    The render is RGB: MuPDF's OCR writer reads no text from a grey pixmap. The OCR layer's font is
    Tesseract's glyph-less one, flagged serif and monospaced; its flags are cleared so OCR'd prose
    does not become code blocks (the span sizes, from the boxes Tesseract found, are evened out per line
    and page by :func:`even_sizes` and kept for headings). A whole page is read column by column (see
    :mod:`~pin_assets.core.pdf.ocr.regions`: MuPDF has Tesseract read a render as one block of text).
    With ``clip`` only that area of the page (a picture) is read, as one block, its blocks in points from
    the area's top left corner.
    """
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom).prerotate(angle), colorspace=pymupdf.csRGB, clip=clip)
    regions = [] if clip is not None else column_regions(ink_mask(pix.samples, pix.width, pix.height, pix.n),
                                                         zoom * 72)
    if len(regions) <= 1:
        layer = pix.pdfocr_tobytes(compress=False, language=language, tessdata=tessdata)
        return reading_from_layer(layer, pix.width / zoom, pix.height / zoom, angle, language)
    blocks = []
    for region in regions:
        part = _region_pixmap(pix, region, round(_REGION_MARGIN * zoom))
        layer = part.pdfocr_tobytes(compress=False, language=language, tessdata=tessdata)
        blocks += _layer_blocks(layer, part.width / zoom, ((part.x - pix.x) / zoom, (part.y - pix.y) / zoom))
    return reading_from_blocks(blocks, pix.width / zoom, pix.height / zoom, angle, language)


_REGION_MARGIN = 6.0  # points of white around a column cut out for Tesseract, as around a page's text


def _region_pixmap(pix: pymupdf.Pixmap, box: tuple[int, int, int, int], margin: int) -> pymupdf.Pixmap:
    """The ``box`` pixels of ``pix`` (counted from its top left corner) on white, ``margin`` pixels of white
    around them (not the pixels beside the box: they belong to the next column)."""
    # a turned render's corner is not at 0, 0
    x0, y0, x1, y1 = box[0] + pix.x, box[1] + pix.y, box[2] + pix.x, box[3] + pix.y
    part = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(x0 - margin, y0 - margin, x1 + margin, y1 + margin), False)
    part.clear_with(255)
    part.copy(pix, pymupdf.IRect(x0, y0, x1, y1))
    return part


def reading_from_layer(layer: bytes, width: float, height: float, angle: int, language: str) -> Reading:
    """A reading from the one-page PDF MuPDF's OCR writer made of a ``width`` x ``height`` pt render."""
    return reading_from_blocks(_layer_blocks(layer, width), width, height, angle, language)


def _layer_blocks(layer: bytes, width: float, origin: tuple[float, float] = (0.0, 0.0)) -> list[dict]:
    """The raw text blocks of an OCR layer made of a render ``width`` pt wide, in points from the page's
    top left corner when the render's own corner is at ``origin``."""
    ocr_doc = pymupdf.open(stream=layer, filetype="pdf")
    try:
        ocr = ocr_doc[0]
        scale = width / ocr.rect.width
        blocks = ocr.get_textpage(flags=_OCR_TEXT_FLAGS, matrix=pymupdf.Matrix(scale, scale)).extractRAWDICT()["blocks"]
    finally:
        ocr_doc.close()
    if origin != (0.0, 0.0):  # moved here, not by the matrix: MuPDF would clip the moved text to the mediabox
        shift_blocks(blocks, *origin)
    return blocks


def shift_blocks(blocks: list[dict], dx: float, dy: float) -> None:
    """Move text blocks (with their lines, spans and characters, where they have them) by ``dx``, ``dy``."""
    def moved(b):
        return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)

    for block in blocks:
        block["bbox"] = moved(block["bbox"])
        for line in block.get("lines", ()):
            line["bbox"] = moved(line["bbox"])
            for span in line["spans"]:
                span["bbox"] = moved(span["bbox"])
                span["origin"] = (span["origin"][0] + dx, span["origin"][1] + dy)
                for char in span.get("chars", ()):
                    char["bbox"] = moved(char["bbox"])
                    char["origin"] = (char["origin"][0] + dx, char["origin"][1] + dy)


def reading_from_blocks(blocks: list[dict], width: float, height: float, angle: int, language: str) -> Reading:
    """A reading of a ``width`` x ``height`` pt render from the raw text blocks of its OCR layer(s)."""
    lines = [line for b in blocks for line in b.get("lines", ())]
    plain = "".join(c["c"] for line in lines for s in line["spans"] for c in s["chars"])
    cjk = len(CJK_CHAR_RE.findall(plain)) > 0.3 * len(plain.replace(" ", ""))
    judged = []
    for line in lines:
        logical_order(line)
        judged.append(spell_words(line, cjk))
        for span in line["spans"]:
            span["flags"], span["font"] = 0, "OCR"
    even_sizes(blocks)
    text = "\n".join(judged)
    return Reading(blocks if cjk else line_pieces(blocks), width, height, angle, language, readability(text), text)
