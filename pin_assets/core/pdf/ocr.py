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

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from pin_assets.core.ocr_settings import AUTO_LANGUAGES, OcrSettings
from pin_assets.core.pdf.errors import PDF_ERRORS, describe
from pin_assets.core.pdf.readability import (
    CJK_CHAR_RE,
    SHIFTED_VOWELS,
    good_chars,
    mapped_text,
    readability,
    script_of,
    unmapped_share,
    vowel_share,
)

GOOD_READING = 0.75  # readability of a correct reading is ~0.9; wrong-way-up or wrong-language ones < 0.7
_MIN_READING = 0.65  # below this a reading is noise (a script without traineddata, a photo), not text
_MIN_CHARS = 10  # a reading shorter than this is a picture's stray marks: no point trying other ways up
_UNMAPPED_PAGE = 0.5  # a text layer with more unmapped glyphs than this is unreadable
_SOME_UNMAPPED = 0.02  # with a few, the layer is garbage if it does not read: glyph ids taken for text
_GARBAGE = 0.5
_VECTOR_GLYPHS = 40  # filled shapes glyph-sized on a page without text: text drawn as outlines
# A reading with fewer readable characters than this share of the best so far's does not replace it, however
# well its few words read: an Arabic scan read sideways in English ("bse PRE pebe eee ae erie", 0.77).
_FEWER_CHARS = 0.8
_NOISE_RE = re.compile(r"[|_~=\\¦:;.,'`\"—–-]{1,3}")  # what Tesseract reads in a gutter or a page edge's shadow
_VISIBLE = 16 | 32  # MuPDF's char flags: filled or stroked (render modes other than 3, invisible)
# Tesseract's time grows with the pixels it reads: a 1901 newspaper page (16 x 27 in.) is 17.5 MP at 200
# dpi. Pages past this many pixels are read at a lower resolution (12 MP is a Letter page at 400 dpi).
_MAX_OCR_PIXELS = 12_000_000
# One page read is a render of about this many pixels (a Letter or A4 page at 200 dpi is 3.7-3.9 MP); a
# larger render costs one read per READ_PIXELS, rounded, as Tesseract's work grows with the pixels.
READ_PIXELS = 4_000_000
_TRUSTED_LAYER = 0.93  # a hidden OCR layer reading this well is kept without reading the page again
_TINY_FONT = 1.0  # points: a text layer whose glyphs are mostly this small has fonts that lie about sizes
# Scripts whose words the readability check judges; a layer in any other script is never garbage for
# reading oddly (only for being mostly unmapped glyphs).
_JUDGED_SCRIPTS = frozenset({"latin", "han", "kana", "hangul", "cyrillic", "greek", ""})
# Tesseract language of each script (Debian package tesseract-ocr-<name>, with "_" as "-").
SCRIPT_LANGUAGES = {"arabic": "ara", "hebrew": "heb", "devanagari": "hin", "hangul": "kor", "kana": "jpn",
                    "han": "chi_sim"}
LYING = frozenset({"unmapped_glyphs", "shifted_glyphs", "tiny_fonts"})  # layers shown to be wrong
_OCR_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP


@dataclass
class Reading:
    """One OCR of a page: text blocks in the coordinates of the page turned ``angle`` degrees."""

    blocks: list[dict]
    width: float
    height: float
    angle: int
    language: str
    confidence: float
    text: str = ""


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


class OcrRun:
    """One document's OCR: its settings, what is left of its page and read budget, and what it did.

    ``pages`` records each OCR'd page for ``ori_meta`` (0-based page, why, orientation, language and
    readability as confidence); ``warnings`` says once per document why pages were left unread.
    """

    def __init__(self, settings: OcrSettings | None):
        self.settings = settings or OcrSettings(enabled=False)
        self.pages: list[dict] = []
        self.warnings: list[str] = []
        self.reads = 0  # page reads spent (see read_cost)
        self.skipped: list[int] = []
        self.picture_misses = 0  # pictures read in vain (see read_picture)
        self.script = ""  # the non-Latin script of the document's last good reading: its next scans start in it
        self._ready: bool | None = None

    def ready(self) -> bool:
        """Whether OCR can run at all: enabled, and the tessdata folder has the languages' files."""
        if self._ready is None:
            self._ready = self.settings.enabled and self._check_tessdata()
        return self._ready

    def _check_tessdata(self) -> bool:
        folder = Path(self.settings.tessdata)
        missing = [name for name in self._languages() if not (folder / f"{name}.traineddata").is_file()]
        if missing:
            self.warnings.append(
                f"OCR is off: the tessdata folder {folder} has no {', '.join(m + '.traineddata' for m in missing)} "
                "(install the Debian packages tesseract-ocr-eng and tesseract-ocr-chi-sim, or set ocr_tessdata)"
            )
            return False
        return True

    def _languages(self) -> list[str]:
        """The languages every page is read in; ``auto`` needs only English (Chinese is tried if present)."""
        if self.settings.languages != AUTO_LANGUAGES:
            return self.settings.languages.split("+")
        return ["eng"]

    def read(self, page: pymupdf.Page, reason: str, layer_text: str) -> Reading | None:
        """OCR the page if the budget allows; None when OCR is off, spent, failed or read worse than the
        text layer it would replace (see :func:`better_than_layer`)."""
        if not self.ready():
            self.skipped.append(page.number)
            return None
        reading = None
        if len(self.pages) < self.settings.max_pages:
            try:
                reading = self._best_reading(page, script_of(mapped_text(layer_text)) or self.script)
            except PDF_ERRORS as exc:
                self.warnings.append(f"OCR failed on page {page.number + 1}: {describe(exc)}")
                return None
        if reading is None:  # no read left for this page
            if not self.skipped:
                self.warnings.append(
                    f"OCR stopped after {len(self.pages)} pages ({self.reads} page reads): the document's OCR "
                    f"budget (ocr_max_pages={self.settings.max_pages}, ocr_max_page_reads="
                    f"{self.settings.max_page_reads}) is spent; pages from {page.number + 1} on that need OCR "
                    "are left unread"
                )
            self.skipped.append(page.number)
            return None
        if reading.confidence < _MIN_READING:
            return None  # a picture's stray marks, or text no orientation or language made readable
        if layer_text.strip() and not better_than_layer(reading, layer_text, reason):
            return None
        if reading.confidence >= GOOD_READING and script_of(reading.text) in SCRIPT_LANGUAGES:
            self.script = script_of(reading.text)  # a document keeps its script: its next scans read in it first
        self.pages.append({"page": page.number, "reason": reason, "rotation": reading.angle,
                           "language": reading.language, "confidence": round(reading.confidence, 3)})
        return reading

    def read_picture(self, page: pymupdf.Page, box: pymupdf.Rect, layer_text: str) -> Reading | None:
        """OCR one picture of a page whose text layer is kept (see :mod:`picture_text`), upright, in the
        language of the layer's script, counted against the same read budget by its render's pixels; None
        when OCR is off or spent, or the reading is no text (below the readability of noise, or fewer than
        a few characters). Its blocks are in points from the picture's top left corner."""
        if not self.ready() or len(self.pages) >= self.settings.max_pages or self.picture_misses:
            return None  # after one picture that read as no text, a document's pictures are photos: none is read
        language = self._page_language(script_of(mapped_text(layer_text)) or self.script)
        zoom = self.settings.dpi / 72
        cost = read_cost(language, round(box.width * zoom) * round(box.height * zoom))
        if self.reads + cost > self.settings.max_page_reads:
            return None
        self.reads += cost
        try:
            reading = ocr_page(page, 0, language, zoom, self.settings.tessdata, clip=box)
        except PDF_ERRORS as exc:
            self.warnings.append(f"OCR of a picture on page {page.number + 1} failed: {describe(exc)}")
            return None
        if reading.confidence < _MIN_READING or _visible_chars(reading) < _MIN_CHARS:
            self.picture_misses += 1
            return None  # a photo, a logo: stray marks, no text
        self.pages.append({"page": page.number, "reason": "picture_text", "rotation": 0,
                           "language": language, "confidence": round(reading.confidence, 3)})
        return reading

    def read_cells(self, page: pymupdf.Page, box: pymupdf.Rect, cells: list[pymupdf.Rect],
                   layer_text: str) -> list[str] | None:
        """OCR each cell of a ruled table pictured at ``box`` on its own (see :mod:`image_tables`), as one
        read of the picture against the budget; the cells' texts, or None when OCR is off or spent or the
        cells together do not read as text. Lone marks left of a ruling (``|``, ``_``) are dropped; short
        words are kept, as a cell may hold just "No" or "5"."""
        if not self.ready() or len(self.pages) >= self.settings.max_pages or self.picture_misses:
            return None
        language = self._page_language(script_of(mapped_text(layer_text)) or self.script)
        zoom = self.settings.dpi / 72
        cost = read_cost(language, round(box.width * zoom) * round(box.height * zoom))
        if self.reads + cost > self.settings.max_page_reads:
            return None
        self.reads += cost
        texts = []
        try:
            for cell in cells:
                reading = ocr_page(page, 0, language, zoom, self.settings.tessdata, clip=cell)
                texts.append(" ".join(w for w in reading.text.split() if not _NOISE_RE.fullmatch(w)))
        except PDF_ERRORS as exc:
            self.warnings.append(f"OCR of a table picture on page {page.number + 1} failed: {describe(exc)}")
            return None
        confidence = readability("\n".join(texts))
        if confidence < _MIN_READING or sum(len(t) for t in texts) < _MIN_CHARS:
            return None  # a grid drawn in a photo or a chart, not a table of text: read as a picture
        self.pages.append({"page": page.number, "reason": "picture_text", "rotation": 0,
                           "language": language, "confidence": round(confidence, 3)})
        return texts

    def _ocr(self, page: pymupdf.Page, angle: int, language: str) -> Reading | None:
        """One read of the page turned ``angle`` degrees in ``language``, counted against the document's
        ``max_page_reads`` (see :func:`read_cost`); None, and nothing counted, when it does not fit."""
        zoom = ocr_zoom(page, self.settings.dpi)
        cost = read_cost(language, render_pixels(page, zoom))
        if self.reads + cost > self.settings.max_page_reads:
            return None
        self.reads += cost
        return ocr_page(page, angle, language, zoom, self.settings.tessdata)

    def _page_language(self, script: str) -> str:
        """The Tesseract language string for a page whose text layer is in ``script``: that script's
        traineddata with English beside it when it is installed (``auto`` only), else the primary one."""
        primary = "+".join(self._languages())
        language = SCRIPT_LANGUAGES.get(script)
        if self.settings.languages != AUTO_LANGUAGES or language is None or not self._installed(language):
            return primary
        return f"{language}+{primary}"

    def _installed(self, language: str) -> bool:
        return (Path(self.settings.tessdata) / f"{language}.traineddata").is_file()

    def _best_reading(self, page: pymupdf.Page, script: str = "") -> Reading | None:
        """The page as displayed first, in the language of its layer's script (or the script the
        document's scans were found in); then, when that does not read well, the other orientations (the
        one undoing the page's /Rotate first) and the other installed scripts, keeping the best reading.
        None when the read budget has no room for the first read; a try that does not fit is left out,
        so what is tried depends only on the document."""
        primary = self._page_language(script)
        best = self._ocr(page, 0, primary)
        if best is None or best.confidence >= GOOD_READING or _visible_chars(best) < _MIN_CHARS:
            return best
        undo = (360 - page.rotation) % 360
        tries = [(angle, primary) for angle in dict.fromkeys(a for a in (undo, page.rotation, 180, 90, 270) if a)]
        if self.settings.languages == AUTO_LANGUAGES and not script:
            others = [lang for lang in SCRIPT_LANGUAGES.values() if self._installed(lang)]
            if _looks_han(best.text) and "chi_sim" in others:  # Chinese read as English: Chinese first
                others.remove("chi_sim")
                tries.insert(1 if page.rotation else 0, (0, "chi_sim"))  # a /Rotate'd page is likely read turned
            if others:  # English reads no text, or reads poorly: after the orientations, the other scripts
                tries.append((0, "+".join(others)))  # in one run, not one each: a picture would cost five
        for angle, language in tries:
            reading = self._ocr(page, angle, language)
            if reading is None:
                continue  # over the document's read budget: a cheaper try may still fit
            if reading.confidence > best.confidence and (angle == 0 or reading.confidence >= GOOD_READING) \
                    and (language == primary or reading.confidence >= GOOD_READING) \
                    and good_chars(reading.text) >= _FEWER_CHARS * good_chars(best.text):
                best = reading  # turned or in another script only on clear evidence: a poor reading is noise
            if best.confidence >= GOOD_READING:
                break
        return self._in_its_script(page, best)

    def _in_its_script(self, page: pymupdf.Page, best: Reading) -> Reading:
        """A reading made in several scripts at once read again in the one it found with English beside it,
        kept unless it reads clearly worse.

        The try in every installed script finds a Korean scan's script (0.79) but sprinkles Hebrew,
        Devanagari and Arabic letters through its Hangul; in ``kor+eng`` the same page reads 0.80 in
        Hangul and Latin only, for 2 reads more. Later pages of the document start in that script
        (:attr:`script`), so only the first scan pays for the search.
        """
        script = script_of(best.text)
        if "+" not in best.language or script not in SCRIPT_LANGUAGES or not self._installed(SCRIPT_LANGUAGES[script]):
            return best
        focused = self._page_language(script)
        if focused == best.language:
            return best
        reading = self._ocr(page, best.angle, focused)
        if reading is not None and script_of(reading.text) == script and reading.confidence >= best.confidence - 0.05:
            return reading
        return best

    def metadata(self) -> dict:
        """``ocr_pages``, ``ocr_confidence`` (mean over OCR'd pages) and ``ocr_page_reads`` (Tesseract's
        work, pages it read in vain included) for ``ori_meta``; empty without OCR."""
        if not self.pages:
            return {}
        mean = sum(p["confidence"] for p in self.pages) / len(self.pages)
        return {"ocr_pages": list(self.pages), "ocr_confidence": round(mean, 3), "ocr_page_reads": self.reads}


def read_cost(language: str, pixels: int = READ_PIXELS) -> int:
    """Page reads one Tesseract run in ``language`` over a render of ``pixels`` costs: one per language, as
    Tesseract recognises the page's words with each language's model (``eng`` 1, ``ara+eng`` 2), times the
    render's pixels in :data:`READ_PIXELS`, rounded and at least 1, as its time grows with the pixels it
    reads (a Letter, A4 or 8.5 x 11.9 in. page at 200 dpi 1, a tabloid page 2, a 16 x 27 in. newspaper page
    3). Rounded, not rounded up, so a page a little taller than Letter does not cost double. So the budget
    bounds Tesseract's work, whatever the pages' sizes, without looking at a clock."""
    return len(language.split("+")) * max(1, math.floor(pixels / READ_PIXELS + 0.5))


def render_pixels(page: pymupdf.Page, zoom: float) -> int:
    """Pixels of the page rendered at ``zoom`` (either way up: a turned render has the same count)."""
    return round(page.rect.width * zoom) * round(page.rect.height * zoom)


def ocr_zoom(page: pymupdf.Page, dpi: int) -> float:
    """The zoom OCR renders the page at: ``dpi``, less for a page so large that the render would pass 12 MP.

    Rendering a big scan at its own resolution instead (gnarly's 152-dpi newspaper page: 10.1 MP, not 12)
    saved a sixth of Tesseract's time but changed which of the page's units read right (3 of 8 at 12 MP
    and at 10.13 MP, 1 of 8 at exactly 10.1 MP): on such a page a one-pixel change of the render moves
    the reading more than the resolution does, so the cap alone decides."""
    return min(dpi / 72, (_MAX_OCR_PIXELS / max(page.rect.width * page.rect.height, 1.0)) ** 0.5)


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


def _looks_han(text: str) -> bool:
    """Whether an English reading looks like Chinese read as English: Han characters, tall square
    blocks, come out as capitals, so capitals pass half the small letters (English prose: about a tenth).
    Chinese, several times slower than English, is only tried then."""
    return sum(c.isupper() for c in text) > 0.5 * sum(c.islower() for c in text)


def _visible_chars(reading: Reading) -> int:
    return sum(len(s["text"].strip()) for b in reading.blocks for line in b.get("lines", ()) for s in line["spans"])


def ocr_page(page: pymupdf.Page, angle: int, language: str, zoom: float, tessdata: str,
             clip: pymupdf.Rect | None = None) -> Reading:
    """Render the page turned ``angle`` degrees at ``zoom`` (see :func:`ocr_zoom`) and OCR it into text
    blocks in points.

    The render is RGB: MuPDF's OCR writer reads no text from a grey pixmap. The OCR layer's font is
    Tesseract's glyph-less one, flagged serif and monospaced; its flags are cleared so OCR'd prose
    does not become code blocks (the span sizes, from the boxes Tesseract found, are evened out per line
    and page by :func:`even_sizes` and kept for headings). With ``clip`` only that area of the page is
    read, its blocks in points from the area's top left corner.
    """
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom).prerotate(angle), colorspace=pymupdf.csRGB, clip=clip)
    layer = pix.pdfocr_tobytes(compress=False, language=language, tessdata=tessdata)
    return reading_from_layer(layer, pix.width / zoom, pix.height / zoom, angle, language)


def reading_from_layer(layer: bytes, width: float, height: float, angle: int, language: str) -> Reading:
    """A reading from the one-page PDF MuPDF's OCR writer made of a ``width`` x ``height`` pt render."""
    ocr_doc = pymupdf.open(stream=layer, filetype="pdf")
    try:
        ocr = ocr_doc[0]
        scale = width / ocr.rect.width
        textpage = ocr.get_textpage(flags=_OCR_TEXT_FLAGS, matrix=pymupdf.Matrix(scale, scale))
        blocks = textpage.extractRAWDICT()["blocks"]
    finally:
        ocr_doc.close()
    lines = [line for b in blocks for line in b.get("lines", ())]
    plain = "".join(c["c"] for line in lines for s in line["spans"] for c in s["chars"])
    cjk = len(CJK_CHAR_RE.findall(plain)) > 0.3 * len(plain.replace(" ", ""))
    for line in lines:
        spell_words(line, spaced=not cjk)
        for span in line["spans"]:
            span["flags"], span["font"] = 0, "OCR"
    even_sizes(blocks)
    text = "\n".join("".join(s["text"] for s in line["spans"]) for line in lines)
    return Reading(blocks if cjk else line_pieces(blocks), width, height, angle, language, readability(text), text)


_WORD_GAP = 0.02  # of the font size: Tesseract's glyph-less letters of one word abut exactly (gap 0.0)


def spell_words(line: dict, spaced: bool) -> None:
    """Give each span of an OCR line its ``text`` from its characters, with a space wherever two words meet
    without one.

    Tesseract writes each word as its own string of glyph-less letters stretched to the word's box, with
    no space characters; MuPDF puts spaces where the gap between words looks wide enough and leaves
    narrow ones out ("centerof", "ofthe" on a clean 200-dpi render of a paper). Inside a word the letters
    abut exactly, so any gap is a word break. Not for CJK readings (``spaced`` False): Chinese and
    Japanese characters stand apart without spaces, and Tesseract splits Korean words into syllables
    with gaps no narrower than its word spaces ("국 회 입 법" for "국회입법", readability 0.52 instead of
    0.80), so a Korean reading keeps MuPDF's spaces.
    """
    previous = None
    for span in line["spans"]:
        text = []
        for char in span.pop("chars"):
            if spaced and previous is not None and char["c"] != " " and previous["c"] != " " \
                    and char["bbox"][0] - previous["bbox"][2] > _WORD_GAP * span["size"]:
                text.append(" ")
            text.append(char["c"])
            previous = char
        span["text"] = "".join(text)


# OCR'd line sizes between these multiples of the page's body size are body text: MuPDF sizes OCR'd words
# from their boxes, which vary by a third with ascenders, descenders and brackets.
_BODY_BAND = (0.7, 1.45)


def even_sizes(blocks: list[dict]) -> None:
    """Give every span of an OCR line one size, and every line near the page's body size that size.

    MuPDF sizes each OCR'd word from its box, so "Edgar" is 15.6 pt and "(or" 12.5 pt on one line, and
    lines with brackets and descenders come out a third taller than lines without. Text-layer logic splits
    paragraphs and finds headings by size, so a line takes the median size of its characters, lines
    between 0.7 and 1.45 times the page's most common size take that size (an OCR'd page tells titles
    from body text, not a subheading a point bigger), and the others are rounded to whole points. Boxes
    are rebuilt around the line's baseline from that size, since word boxes of one line overlap the
    next line's by half a line, which would merge lines and split paragraphs.
    """
    lines = [line for b in blocks for line in b.get("lines", ()) if any(s["text"].strip() for s in line["spans"])]
    sizes: dict[int, float] = {}
    weights: dict[float, int] = {}
    for line in lines:
        chars = sorted((s["size"], len(s["text"].strip())) for s in line["spans"] if s["text"].strip())
        half, seen = sum(n for _, n in chars) / 2, 0
        for size, n in chars:
            seen += n
            if seen >= half:
                sizes[id(line)] = size
                break
        key = float(round(sizes[id(line)]))
        weights[key] = weights.get(key, 0) + sum(n for _, n in chars)
    if not weights:
        return
    body = max(weights, key=weights.get)
    for line in lines:
        size = sizes[id(line)]
        size = body if _BODY_BAND[0] * body <= size <= _BODY_BAND[1] * body else float(round(size))
        baseline = statistics.median(s["origin"][1] for s in line["spans"] if s["text"].strip())
        for span in line["spans"]:
            span["size"] = size
            span["bbox"] = (span["bbox"][0], baseline - 0.8 * size, span["bbox"][2], baseline + 0.2 * size)
        line["bbox"] = (line["bbox"][0], baseline - 0.8 * size, line["bbox"][2], baseline + 0.2 * size)


def line_pieces(blocks: list[dict]) -> list[dict]:
    """Each OCR line cut at wide gaps into pieces, one block each, for the converter's column cuts.

    MuPDF re-segments the OCR layer by baselines and merges the two columns of a page into one block,
    even into one line across a narrow gutter; Tesseract's own blocks are lost. A gap wider than most
    of a line's height and well over the page's usual word gap is no word space, so the line is cut
    there; the converter's reading order and paragraph joining then work as on a text layer (not for
    CJK readings, whose word boxes from Tesseract have gaps in mid-line and are kept as MuPDF groups
    them). Lone marks such as ``|`` or ``_`` are dropped first: Tesseract reads them in gutters, where
    they would bridge the columns. Pieces of one printed line that are no columns are joined again, and
    pieces of two letters or fewer standing alone are dropped (see :func:`rejoin_pieces`, :func:`_stray`).
    """
    lines = [line for b in blocks for line in b.get("lines", ()) if abs(line["dir"][1]) < 0.1]
    gaps = [b["bbox"][0] - a["bbox"][2] for line in lines for a, b in _pairs(_words(line))]
    word_gap = statistics.median(gaps) if gaps else 0.0
    pieces: list[dict] = []
    for line in lines:
        height = line["bbox"][3] - line["bbox"][1]
        limit = max(0.8 * height, 2.5 * word_gap)
        current: list[dict] = []
        for span in line["spans"]:
            if _NOISE_RE.fullmatch(span["text"].strip()):
                continue
            if current and span["text"].strip() and span["bbox"][0] - _right(current) > limit:
                pieces.append(_piece(line, current))
                current = []
            if current or span["text"].strip():
                current.append(span)
        if current:
            pieces.append(_piece(line, current))
    pieces = rejoin_pieces(pieces, word_gap)
    line_height = statistics.median(p["bbox"][3] - p["bbox"][1] for p in pieces) if pieces else 0.0
    return [piece for piece in pieces if not _squeezed(piece, pieces, line_height)]


def rejoin_pieces(pieces: list[dict], word_gap: float) -> list[dict]:
    """Pieces of one printed line joined again, left to right, where the white between them is no gutter;
    pieces of two letters or fewer left alone are dropped (:func:`_stray`).

    Two cases on real scans: Tesseract's layout analysis ends a line early and starts the rest as a line
    of its own whose box overlaps the first ("England had suffered from Viking invasions" ending at x 295,
    "for over a" starting at 279, a baseline 1 pt lower, on a 96-dpi scan of a wiki page), and the table
    finder then takes the rest for a cell of the infobox beside it; and a justified line stretches its
    spaces past :func:`line_pieces`' cut ("sometimes by force." with 10 pt gaps at 13 pt lines), which
    scattered the line and dropped "by" as a stray. Two pieces on one baseline (their boxes share most of
    their height) are one line when they overlap or stand a word space and a half apart; or, stretched,
    when the white between them, under four line heights wide, is crossed by the text of the lines around
    it (:func:`_gutter`) and the line they make spans its column as the lines above and below do
    (:func:`_spans_column`: on a newspaper whose columns Tesseract runs together that is not so). Only
    into a stretched line do the short words in its gaps come back.
    """
    solid = [piece for piece in pieces if not _stray(piece)]
    groups: list[list[dict]] = []  # pieces of one line, left to right
    stretched: dict[int, list[int]] = {}  # group -> positions of its stretched joins
    for piece in sorted(solid, key=lambda p: (p["bbox"][0], p["bbox"][1])):
        for group in groups:
            join = _continues(_box(group), piece, word_gap, solid)
            if join:
                if join == "stretched":
                    stretched.setdefault(id(group), []).append(len(group))
                group.append(piece)
                break
        else:
            groups.append([piece])
    lines = [_box(g) for g in groups]
    kept: list[list[dict]] = []
    for group in groups:
        cuts = stretched.get(id(group), [])
        if cuts and not _spans_column(_box(group), lines):
            bounds = [0, *cuts, len(group)]
            kept += [group[i:j] for i, j in _pairs(bounds)]
            continue
        for stray in (p for p in pieces if _stray(p)):  # "by" in "sometimes by force."
            if any(_within(stray, group[i - 1], group[i]) for i in cuts):
                group.append(stray)
        kept.append(group)
    hosts = set()
    for group in kept:
        group.sort(key=lambda p: p["bbox"][0])
        if len(group) > 1:
            _merge(group)
        hosts.add(id(group[0]))
    return [piece for piece in pieces if id(piece) in hosts]


def _continues(left: tuple, right: dict, word_gap: float, pieces: list[dict]) -> str:
    """How ``right`` continues the line boxed ``left`` on its baseline: ``"abut"``, ``"stretched"`` or
    not at all (``""``); see :func:`rejoin_pieces`."""
    x0, y0, x1, y1 = left
    a0, b0, a1, b1 = right["bbox"]
    height = max(y1 - y0, b1 - b0)
    if a0 <= (x0 + x1) / 2 or a1 <= x1 or min(y1, b1) - max(y0, b0) < 0.7 * height:
        return ""
    gap = a0 - x1
    if -1.5 * height <= gap <= 1.5 * word_gap:  # a deeper overlap is another line's text misplaced
        return "abut"
    return "stretched" if gap < 4 * height and not _gutter(left, right["bbox"], pieces) else ""


def _spans_column(line: tuple, lines: list[tuple]) -> bool:
    """Whether at least two lines within two line heights above and below start and end where ``line``
    does (within a line height): a justified line is as wide as its neighbours in the column."""
    x0, y0, x1, y1 = line
    height = y1 - y0
    return sum(abs(a0 - x0) <= height and abs(a1 - x1) <= height for a0, b0, a1, b1 in lines
               if b1 >= y0 - 2 * height and b0 <= y1 + 2 * height and min(b1, y1) - max(b0, y0) <= 0) >= 2


def _merge(group: list[dict]) -> None:
    """The group's first piece made the one line of the group's pieces, with a space where two meet."""
    spans: list[dict] = []
    for part in group:
        added = part["lines"][0]["spans"]
        if spans and spans[-1]["text"][-1:] != " " and added[0]["text"][:1] != " ":
            spans[-1] = dict(spans[-1], text=spans[-1]["text"] + " ")
        spans += added
    host = group[0]
    host["bbox"] = host["lines"][0]["bbox"] = _box(group)
    host["lines"][0]["spans"] = spans


def _box(pieces: list[dict]) -> tuple:
    boxes = [p["bbox"] for p in pieces]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _within(piece: dict, left: dict, right: dict) -> bool:
    """Whether ``piece`` stands in the white between ``left`` and ``right``, on their baseline."""
    x0, y0, x1, y1 = piece["bbox"]
    a0, b0, a1, b1 = left["bbox"]
    return a1 < (x0 + x1) / 2 < right["bbox"][0] and min(y1, b1) - max(y0, b0) >= 0.7 * max(y1 - y0, b1 - b0)


def _gutter(left: tuple, right: tuple, pieces: list[dict]) -> bool:
    """Whether the white between two pieces of a baseline runs down the page as between columns or cells.

    A gutter stays white in the lines above and below, while the lines around a justified line run
    through the place where its stretched spaces are. Of the rows of pieces within two line heights above
    and below that have text on both sides of the white, it is a gutter unless more of them have a word
    in the white's middle half than not.
    """
    x1, y0, y1 = left[2], left[1], left[3]
    a0 = right[0]
    middle, margin, reach = (x1 + a0) / 2, 0.25 * (a0 - x1), 2 * (y1 - y0)
    rows: dict[int, list[tuple[float, float]]] = {}
    for piece in pieces:
        py0, py1 = piece["bbox"][1], piece["bbox"][3]
        if py1 < y0 - reach or py0 > y1 + reach or min(py1, y1) - max(py0, y0) > 0:
            continue  # too far, or on the pieces' own baseline
        row = rows.setdefault(round((py0 + py1) / 2), [])
        row += [(s["bbox"][0], s["bbox"][2]) for s in piece["lines"][0]["spans"] if s["text"].strip()]
    crossing = open_ = 0
    for words in rows.values():
        if not (any(w0 < middle for w0, _ in words) and any(w1 > middle for _, w1 in words)):
            continue  # the row does not reach across the white
        if any(w0 < middle + margin and w1 > middle - margin for w0, w1 in words):
            crossing += 1
        else:
            open_ += 1
    return crossing <= open_


_SHORT_PIECE = 2  # words: what Tesseract invents between lines is a word or two, never a line of text


def _squeezed(piece: dict, pieces: list[dict], line_height: float) -> bool:
    """Whether a piece of a word or two sits where no line fits: between the lines above and below it in
    its column, with less room between them than a line's height.

    Tesseract reads words into the white space between two lines of a column ("Serena", "was" between
    "in commercial" and "product offerings" on a clean 200-dpi render of a paper) and repeats a line's
    fragment half a line off it (a lone "2" overlapping "open language"); printed lines never stand closer
    than their own height to the lines above and below, so such a piece is no text of the page. The
    room is measured against the taller of the piece and the page's usual line (``line_height``), so
    that a small invented word is not saved by its own small box.
    """
    x0, y0, x1, y1 = piece["bbox"]
    if len(_piece_text(piece).split()) > _SHORT_PIECE:
        return False
    middle = (y0 + y1) / 2
    above, below = float("-inf"), float("inf")
    for other in pieces:
        if other is piece:
            continue
        ox0, oy0, ox1, oy1 = other["bbox"]
        if min(x1, ox1) - max(x0, ox0) < 0.5 * (x1 - x0):
            continue  # not in the piece's column
        if (oy0 + oy1) / 2 <= middle:
            above = max(above, oy1)
        else:
            below = min(below, oy0)
    return below - above < 0.95 * max(y1 - y0, line_height)


def _piece_text(piece: dict) -> str:
    return "".join(s["text"] for line in piece["lines"] for s in line["spans"])


def _stray(piece: dict) -> bool:
    """A piece of at most two letters and no digit standing alone ("a", "oe", "<r"): what Tesseract reads
    in the texture of a picture or a page edge, never a word of the text, which stands in lines."""
    alnum = [c for c in _piece_text(piece) if c.isalnum()]
    return len(alnum) <= 2 and not any(c.isdigit() for c in alnum)


def _words(line: dict) -> list[dict]:
    return [s for s in line["spans"] if s["text"].strip()]


def _pairs(items: list[dict]) -> list[tuple[dict, dict]]:
    return list(zip(items, items[1:], strict=False))


def _right(spans: list[dict]) -> float:
    return max(s["bbox"][2] for s in spans if s["text"].strip())


def _piece(line: dict, spans: list[dict]) -> dict:
    while spans and not spans[-1]["text"].strip():
        spans = spans[:-1]
    boxes = [s["bbox"] for s in spans]
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return {"type": 0, "bbox": bbox, "lines": [{"dir": line["dir"], "wmode": line.get("wmode", 0), "bbox": bbox,
                                                 "spans": spans}]}
