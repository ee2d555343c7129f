"""PDF to Markdown: one module per concern over a shared page model (see `convert` for the passes)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pin_assets.core.pdf.convert import pdf_to_markdown

if TYPE_CHECKING:
    from pin_assets.core.document import ParsedDocument
    from pin_assets.core.kinds import ConvertJob

__all__ = ["OCR_SHARE", "convert_pdf", "pdf_to_markdown"]

OCR_SHARE = 0.7  # of a document's time limit that OCR may spend; the rest converts the pages it leaves


def convert_pdf(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``pdf`` kind's converter: every page, OCR within its share of the document's time limit."""
    from pin_assets.core.sources.detect import with_pdf_header

    limits = job.limits
    ocr = replace(limits.ocr, budget_s=OCR_SHARE * limits.timeout_s)
    return pdf_to_markdown(
        with_pdf_header(data), max_pages=limits.max_pages, max_image_pixels=limits.max_image_pixels,
        truncate=False, ocr=ocr,
    )
