"""What OCR may do for one document: on or off, where Tesseract's language files are, which languages,
at what resolution, and how many pages and page reads it may spend.

Kept apart from the PDF converter (no PyMuPDF import) so settings and limits can be built anywhere,
including processes that never open a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"  # where the tesseract-ocr-<lang> packages put their files
AUTO_LANGUAGES = "auto"
DEFAULT_PAGE_READS = 40


@dataclass(frozen=True)
class OcrSettings:
    """OCR of pages without a usable text layer (scans, invisible or garbage text, text drawn as paths).

    ``languages`` is a Tesseract language string (``"eng"``, ``"chi_sim+eng"``) or ``"auto"``: a page with
    a text layer is read in the language of the layer's script (``ara``, ``heb``, ``hin``, ``kor``,
    ``jpn``, ``chi_sim``, each with English, where installed), a page without one in English first, then
    Simplified Chinese where the English reading looks like Chinese, then the other installed scripts
    where English reads poorly. English first because adding ``chi_sim`` to every page costs about 50%
    more time on English pages for the same words.

    ``max_pages`` bounds the pages OCR'd per document and ``max_page_reads`` Tesseract's work: one read is
    one page render of up to 4 MP recognised in one language, so a page read upright in English costs 1, a
    second orientation 1 more, a try in ``ara+eng`` 2, and a bigger render one per 4 MP, rounded. Work is
    counted, not seconds, so the same document gives the same record on any machine under any load; the
    default (about 80 s of Tesseract at 2 s a read) keeps a long scanned book's first pages inside the
    default ``doc_timeout_s``, which is only the guard against a hung document.
    """

    enabled: bool = True
    tessdata: str = DEBIAN_TESSDATA
    languages: str = AUTO_LANGUAGES
    dpi: int = 200
    max_pages: int = 200
    max_page_reads: int = DEFAULT_PAGE_READS
