"""OCR of the pages that need it, with MuPDF's built-in Tesseract: which pages, which way up, which
language, and what it cost.

A page is OCR'd when its text layer cannot be trusted: there is none and images cover it (a scan) or it
is drawn as vector outlines; the text is hidden (a scanner's own OCR layer, painted invisible or under the
scan) and does not read well; most characters are unmapped glyphs, or some are and the rest does not read
as words (a font without a ToUnicode map whose glyph numbers MuPDF took for characters); the Latin words
spell almost no vowels (a letter-shifted font: "Bnqotr" for "Corpus"); or the fonts' sizes cannot be
true (Type 3 fonts whose matrix makes every glyph 0.1 pt, which also drop and misplace glyphs). Every
other page pays only a few checks on data the converter has already read, so text-layer parsing keeps
its speed.

OCR replaces a text layer only when its reading is better *in the same script* (see
:meth:`OcrRun.read`): a layer in a script the readability check does not judge well (Arabic, Hebrew,
Devanagari, Thai...) is never called garbage for reading oddly, and an English reading never replaces an
Arabic layer. The page is read in the language of the script its layer shows (``ara``, ``heb``,
``hin``, ``kor``, ``jpn``, ``chi_sim``, with English beside it), or, without a layer, in English first
and then in the other installed scripts when the English reading is poor (English Tesseract reads an
Arabic scan as "Gye Jag sla slay", readability 0.725: three-letter runs that pass for words). Once a
page reads well in such a script, the document's next scans start in it and skip the search.

MuPDF's Tesseract does not expose its orientation detection (OSD) or word confidences, so both come
from :func:`~pin_assets.core.pdf.readability.readability` on the result: the page is read as displayed
and, when that does not read as text, in Chinese (``auto``, when the English reading looks like Chinese
read as English) and the other orientations, keeping the reading that reads best.
"""

from pin_assets.core.pdf.ocr.pieces import line_pieces, rejoin_pieces
from pin_assets.core.pdf.ocr.reading import GOOD_READING, Reading
from pin_assets.core.pdf.ocr.reasons import LYING, better_than_layer, ocr_reason
from pin_assets.core.pdf.ocr.run import READ_PIXELS, SCRIPT_LANGUAGES, OcrRun, ocr_zoom, read_cost, render_pixels
from pin_assets.core.pdf.ocr.tesseract import ocr_page, reading_from_blocks, reading_from_layer, shift_blocks
from pin_assets.core.pdf.ocr.words import even_sizes, spell_words

__all__ = [
    "GOOD_READING", "LYING", "READ_PIXELS", "SCRIPT_LANGUAGES", "OcrRun", "Reading", "better_than_layer",
    "even_sizes", "line_pieces", "ocr_page", "ocr_reason", "ocr_zoom", "read_cost", "reading_from_blocks",
    "reading_from_layer", "rejoin_pieces", "render_pixels", "shift_blocks", "spell_words",
]
