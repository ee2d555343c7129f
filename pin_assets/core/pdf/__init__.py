"""PDF to Markdown: one module per concern over a shared page model (see `convert` for the passes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pin_assets.core.pdf.convert import pdf_to_markdown

if TYPE_CHECKING:
    from pin_assets.core.document import ParsedDocument
    from pin_assets.core.kinds import ConvertJob

__all__ = ["convert_pdf", "pdf_to_markdown"]


def convert_pdf(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``pdf`` kind's converter: every page, OCR within its work budget (``ocr_max_page_reads``)."""
    from pin_assets.core.sources.detect import with_pdf_header

    limits = job.limits
    return pdf_to_markdown(
        with_pdf_header(data), max_pages=limits.max_pages, max_image_pixels=limits.max_image_pixels,
        truncate=False, ocr=limits.ocr,
    )
