"""What OCR may do for one document: on or off, where Tesseract's language files are, which languages,
at what resolution, and how many pages and seconds it may spend.

Kept apart from the PDF converter (no PyMuPDF import) so settings and limits can be built anywhere,
including processes that never open a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"  # where the tesseract-ocr-<lang> packages put their files
AUTO_LANGUAGES = "auto"


@dataclass(frozen=True)
class OcrSettings:
    """OCR of pages without a usable text layer (scans, invisible or garbage text, text drawn as paths).

    ``languages`` is a Tesseract language string (``"eng"``, ``"chi_sim+eng"``) or ``"auto"``: a page with
    a text layer is read in the language of the layer's script (``ara``, ``heb``, ``hin``, ``kor``,
    ``jpn``, ``chi_sim``, each with English, where installed), a page without one in English first, then
    Simplified Chinese where the English reading looks like Chinese, then the other installed scripts
    where English reads no text. English first because adding ``chi_sim`` to every page costs about 50%
    more time on English pages for the same words. ``max_pages`` bounds OCR'd pages per document and
    ``budget_s`` the seconds OCR may take, so a long scanned book converts its first pages inside the
    document's time limit instead of timing out.
    """

    enabled: bool = True
    tessdata: str = DEBIAN_TESSDATA
    languages: str = AUTO_LANGUAGES
    dpi: int = 200
    max_pages: int = 200
    budget_s: float | None = None
