"""The values that flow between the converters, the renderers and the exporters.

Every converter (PDF, JATS, HTML, text) returns a :class:`ParsedDocument`; every renderer yields
:class:`RenderedPage`. Keeping these plain dataclasses (no Dagster, no storage) lets the same objects
serve `pin convert`, the Dagster assets, the tests and the benchmarks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Metadata keys (values are decimal counts) by which a converter says what it had to leave out of a
# document it otherwise converted: images it could not decode, pages it could not read. They are kept in
# the record's ``ori_meta`` and become the ``images_skipped`` and ``pages_failed`` signals.
IMAGES_SKIPPED = "images_skipped"
PAGES_FAILED = "pages_failed"
# Set (to the reason) when an arXiv e-print was not converted by LaTeXML but by a fallback (pandoc, or the
# PDF path on its PDF); it becomes the ``latex_fallback`` signal. ``ori_meta.converter`` says which one.
LATEX_FALLBACK = "latex_fallback_reason"
# PDF pages whose text a second engine (poppler's pdftotext) recovered where MuPDF could not read them;
# the ``fallback_page_count`` signal.
FALLBACK_PAGES = "fallback_pages"
# PDF figures drawn as vector paths (charts, diagrams) that were rendered into content images; the
# ``vector_figures`` signal.
VECTOR_FIGURES = "vector_figures"


def metadata_count(metadata: Mapping[str, str], key: str) -> int:
    """A count a converter stored in a document's metadata, 0 when absent or not a number."""
    value = str(metadata.get(key) or "0")
    return int(value) if value.isdigit() else 0


class ConversionError(Exception):
    """A document could not be converted; the message says why in words a user can act on.

    ``reason`` is a short machine-readable class (``encrypted``, ``corrupt``, ``empty``,
    ``unsupported``, ``limit``...) stored in quarantine records next to the message.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # keep ``reason`` when the error crosses a process boundary
        return (type(self), (self.reason, str(self)))


def has_content(markdown: str) -> bool:
    """Whether a document's Markdown holds any text or image: the one rule for "empty".

    Images are always linked inline, so Markdown with neither text nor an image link is blank. The parse
    stage quarantines such a document as ``empty`` (see :func:`empty_document_error`) and the record check
    ``no_record_without_markdown`` applies this same test, so the two can never disagree.
    """
    return bool(markdown.strip())


def empty_document_error(parsed: ParsedDocument) -> ConversionError:
    """The quarantine verdict for a converted document with no content, saying why it came out empty."""
    if parsed.scanned_pages:
        return ConversionError(
            "empty", f"no text and no images: {len(parsed.scanned_pages)} of {parsed.page_count} pages are scanned "
            "images without a text layer, and OCR gave no text",
        )
    return ConversionError("empty", "document has no text and no images")


@dataclass(frozen=True)
class ExtractedImage:
    """An image taken out of a document, named by its content so identical images are stored once."""

    data: bytes
    ext: str  # without the dot: "png", "jpeg", ...
    width: int
    height: int
    caption: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def name(self) -> str:
        """File name used in Markdown (``content_image/<name>``) and in storage."""
        return f"{self.sha256}.{self.ext}"


@dataclass
class ParsedDocument:
    """Markdown with its images, in the order the Markdown references them.

    ``page_offsets[i]`` is the character offset in ``markdown`` where page ``i`` starts (the first is
    0), so pagination labels can be attached later without re-parsing.
    """

    markdown: str
    images: list[ExtractedImage] = field(default_factory=list)
    page_offsets: list[int] = field(default_factory=lambda: [0])
    page_count: int = 1
    scanned_pages: list[int] = field(default_factory=list)  # 0-based pages with no text layer OCR read
    title: str | None = None
    language: str | None = None
    # source-specific (DOI, PMCID, author...) and converter facts such as a PDF's ocr_pages; all go to ori_meta
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_scanned(self) -> bool:
        return bool(self.scanned_pages)


@dataclass(frozen=True)
class RenderedPage:
    """One overall image: a page of a PDF, or one page of a compiled render."""

    index: int  # 0-based
    data: bytes
    ext: str
    width: int
    height: int
    note: str = ""  # why this page was rendered otherwise than asked (smaller, to fit its format's size limit)
