"""One document's OCR (:class:`OcrRun`): which way up and in which language each page is read, and the
budget that counts Tesseract's work in pixels, not seconds, so the same scan gives the same record under
any load."""

from __future__ import annotations

import math
from pathlib import Path

import pymupdf

from pin_assets.core.ocr_settings import AUTO_LANGUAGES, OcrSettings
from pin_assets.core.pdf.errors import PDF_ERRORS, describe
from pin_assets.core.pdf.ocr.pieces import NOISE_RE
from pin_assets.core.pdf.ocr.reading import GOOD_READING, Reading
from pin_assets.core.pdf.ocr.reasons import better_than_layer
from pin_assets.core.pdf.ocr.tesseract import ocr_page
from pin_assets.core.pdf.readability import good_chars, mapped_text, readability, script_of

_MIN_READING = 0.65  # below this a reading is noise (a script without traineddata, a photo), not text
_MIN_CHARS = 10  # a reading shorter than this is a picture's stray marks: no point trying other ways up
# A reading with fewer readable characters than this share of the best so far's does not replace it, however
# well its few words read: an Arabic scan read sideways in English ("bse PRE pebe eee ae erie", 0.77).
_FEWER_CHARS = 0.8
# Tesseract's time grows with the pixels it reads: a 1901 newspaper page (16 x 27 in.) is 17.5 MP at 200
# dpi. Pages past this many pixels are read at a lower resolution (12 MP is a Letter page at 400 dpi).
_MAX_OCR_PIXELS = 12_000_000
# One page read is a render of about this many pixels (a Letter or A4 page at 200 dpi is 3.7-3.9 MP); a
# larger render costs one read per READ_PIXELS, rounded, as Tesseract's work grows with the pixels.
READ_PIXELS = 4_000_000
# Tesseract language of each script (Debian package tesseract-ocr-<name>, with "_" as "-").
SCRIPT_LANGUAGES = {"arabic": "ara", "hebrew": "heb", "devanagari": "hin", "hangul": "kor", "kana": "jpn",
                    "han": "chi_sim"}


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
        if (spent := self._spend_on_picture(box, layer_text)) is None:
            return None
        language, zoom = spent
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
        if (spent := self._spend_on_picture(box, layer_text)) is None:
            return None
        language, zoom = spent
        texts = []
        try:
            for cell in cells:
                reading = ocr_page(page, 0, language, zoom, self.settings.tessdata, clip=cell)
                texts.append(" ".join(w for w in reading.text.split() if not NOISE_RE.fullmatch(w)))
        except PDF_ERRORS as exc:
            self.warnings.append(f"OCR of a table picture on page {page.number + 1} failed: {describe(exc)}")
            return None
        confidence = readability("\n".join(texts))
        if confidence < _MIN_READING or sum(len(t) for t in texts) < _MIN_CHARS:
            return None  # a grid drawn in a photo or a chart, not a table of text: read as a picture
        self.pages.append({"page": page.number, "reason": "picture_text", "rotation": 0,
                           "language": language, "confidence": round(confidence, 3)})
        return texts

    def _spend_on_picture(self, box: pymupdf.Rect, layer_text: str) -> tuple[str, float] | None:
        """The language and zoom a picture at ``box`` is read in, its read counted against the budget by its
        render's pixels; None, and nothing counted, when OCR is off, spent or has given up on the document's
        pictures (after one picture that read as no text, a document's pictures are photos)."""
        if not self.ready() or len(self.pages) >= self.settings.max_pages or self.picture_misses:
            return None
        language = self._page_language(script_of(mapped_text(layer_text)) or self.script)
        zoom = self.settings.dpi / 72
        cost = read_cost(language, round(box.width * zoom) * round(box.height * zoom))
        if self.reads + cost > self.settings.max_page_reads:
            return None
        self.reads += cost
        return language, zoom

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


def _looks_han(text: str) -> bool:
    """Whether an English reading looks like Chinese read as English: Han characters, tall square
    blocks, come out as capitals, so capitals pass half the small letters (English prose: about a tenth).
    Chinese, several times slower than English, is only tried then."""
    return sum(c.isupper() for c in text) > 0.5 * sum(c.islower() for c in text)


def _visible_chars(reading: Reading) -> int:
    return sum(len(s["text"].strip()) for b in reading.blocks for line in b.get("lines", ()) for s in line["spans"])
