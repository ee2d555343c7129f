"""Which pages need OCR, and when a reading replaces a text layer: only a layer shown to be wrong, or a
hidden OCR layer that reads worse, and only in the layer's own script."""

from __future__ import annotations

import pymupdf

from pin_assets.core.pdf.ocr.reading import GOOD_READING, Reading
from pin_assets.core.pdf.readability import (
    SHIFTED_VOWELS,
    good_chars,
    mapped_text,
    readability,
    script_of,
    unmapped_share,
    vowel_share,
)

_UNMAPPED_PAGE = 0.5  # a text layer with more unmapped glyphs than this is unreadable
_SOME_UNMAPPED = 0.02  # with a few, the layer is garbage if it does not read: glyph ids taken for text
_GARBAGE = 0.5
_VECTOR_GLYPHS = 40  # filled shapes glyph-sized on a page without text: text drawn as outlines
_VISIBLE = 16 | 32  # MuPDF's char flags: filled or stroked (render modes other than 3, invisible)
_TRUSTED_LAYER = 0.93  # a hidden OCR layer reading this well is kept without reading the page again
_TINY_FONT = 1.0  # points: a text layer whose glyphs are mostly this small has fonts that lie about sizes
# Scripts whose words the readability check judges; a layer in any other script is never garbage for
# reading oddly (only for being mostly unmapped glyphs).
_JUDGED_SCRIPTS = frozenset({"latin", "han", "kana", "hangul", "cyrillic", "greek", ""})
LYING = frozenset({"unmapped_glyphs", "shifted_glyphs", "tiny_fonts"})  # layers shown to be wrong


def ocr_reason(page: pymupdf.Page, blocks: list[dict], text: str, image_cover: float) -> str | None:
    """Why this page needs OCR (``scanned``, ``vector_text``, ``invisible_text``, ``covered_text``,
    ``unmapped_glyphs``, ``shifted_glyphs``, ``tiny_fonts``), or None when its text layer will do.

    ``blocks`` is the page's text dictionary and ``text`` its row text, both already read by the
    converter; only a page without text pays for a look at its drawings, and only a page that images
    cover pays for a look at what is painted over what.
    """
    if not text.strip():
        if image_cover >= 0.5:
            return "scanned"
        return "vector_text" if _draws_glyphs(page) else None
    unmapped = unmapped_share(text)
    if unmapped > _UNMAPPED_PAGE or (unmapped > _SOME_UNMAPPED and readability(text) < _GARBAGE
                                     and script_of(mapped_text(text)) in _JUDGED_SCRIPTS):
        return "unmapped_glyphs"
    vowels = vowel_share(text)
    if vowels is not None and vowels < SHIFTED_VOWELS:
        return "shifted_glyphs"
    if _tiny_fonts(blocks):
        return "tiny_fonts"
    if image_cover >= 0.5 and readability(text) < _TRUSTED_LAYER:
        if _mostly_invisible(blocks):
            return "invisible_text"
        if _covered_by_images(page):
            return "covered_text"
    return None


def _tiny_fonts(blocks: list[dict]) -> bool:
    """Whether most characters claim a font size under 1 pt: a Type 3 font whose matrix MuPDF cannot
    size, whose boxes (and so reading order) and often whose character codes are wrong too."""
    tiny = total = 0
    for block in blocks:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                n = len(span.get("text") or span.get("chars") or ())
                total += n
                tiny += n if span["size"] < _TINY_FONT else 0
    return total > 0 and tiny > 0.5 * total


def _covered_by_images(page: pymupdf.Page) -> bool:
    """Whether nine in ten text boxes are painted before an image that then covers them: a scan laid over
    its own OCR layer, which a reader never sees (the image's text is what the page shows)."""
    hidden = shown = 0
    images: list[pymupdf.Rect] = []
    for kind, box in reversed(page.get_bboxlog()):  # from the top of the paint order down
        rect = pymupdf.Rect(box)
        if kind == "fill-image":
            images.append(rect)
        elif kind.endswith("-text"):
            area = max(rect.get_area(), 1e-6)
            if kind == "ignore-text" or any((rect & image).get_area() >= 0.9 * area for image in images):
                hidden += 1
            else:
                shown += 1
    return hidden > 9 * shown


def _mostly_invisible(blocks: list[dict]) -> bool:
    """Whether nine in ten characters are painted in render mode 3 (neither filled nor stroked)."""
    hidden = shown = 0
    for block in blocks:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                n = len(span.get("text") or span.get("chars") or ())
                if span.get("alpha", 255) == 0 or not span.get("char_flags", _VISIBLE) & _VISIBLE:
                    hidden += n
                else:
                    shown += n
    return hidden > 9 * shown


def _draws_glyphs(page: pymupdf.Page) -> bool:
    """Whether the page paints many small filled shapes, as text converted to outlines does."""
    limit = page.rect.height * 0.05
    count = 0
    for path in page.get_cdrawings():
        rect = path.get("rect")
        if path.get("fill") is not None and rect is not None and 0 < rect[3] - rect[1] < limit:
            count += 1
            if count >= _VECTOR_GLYPHS:
                return True
    return False


def better_than_layer(reading: Reading, layer_text: str, reason: str) -> bool:
    """Whether an OCR reading should replace the page's text layer.

    Only in the layer's own script: an English reading never replaces an Arabic layer. A layer shown to
    be wrong (unmapped, shifted or mis-sized glyphs) gives way to a good reading; a hidden OCR layer to a
    reading with more readable text (:func:`good_chars`), so a page whose few hidden words are all its
    layer has is read from its image.
    """
    layer_script = script_of(mapped_text(layer_text))
    if layer_script and script_of(reading.text) != layer_script:
        return False
    if reason in LYING and reading.confidence >= GOOD_READING:
        return True
    return good_chars(reading.text) > good_chars(layer_text)
