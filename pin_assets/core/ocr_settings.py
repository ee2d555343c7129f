"""What OCR may do for one document: on or off, where Tesseract's language files are, which languages,
at what resolution, and how many pages and seconds it may spend.

Kept apart from the PDF converter (no PyMuPDF import) so settings and limits can be built anywhere,
including processes that never open a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"  # where tesseract-ocr-eng and -chi-sim put their files
AUTO_LANGUAGES = "auto"


@dataclass(frozen=True)
class OcrSettings:
    """OCR of pages without a usable text layer (scans, invisible or garbage text, text drawn as paths).

    ``languages`` is a Tesseract language string (``"eng"``, ``"chi_sim+eng"``) or ``"auto"``: English
    first, then Simplified Chinese where the English reading does not look like text. English first
    because adding ``chi_sim`` to every page costs about 50% more time on English pages for the same
    words. ``max_pages`` bounds OCR'd pages per document and ``budget_s`` the seconds OCR may take, so
    a long scanned book converts its first pages inside the document's time limit instead of timing out.
    """

    enabled: bool = True
    tessdata: str = DEBIAN_TESSDATA
    languages: str = AUTO_LANGUAGES
    dpi: int = 200
    max_pages: int = 200
    budget_s: float | None = None
