"""How documents are processed: pool size, per-document limits and render settings.

One resource so that the UI's launchpad, `pin` CLI flags and tests all tune the same knobs.
"""

from __future__ import annotations

import os

from dagster import ConfigurableResource
from pydantic import Field

from pin_assets.core.limits import DocumentLimits
from pin_assets.core.ocr_settings import DEBIAN_TESSDATA, DEFAULT_PAGE_READS, OcrSettings
from pin_assets.core.pdf_pages import RenderOptions
from pin_assets.core.web_settings import WebSettings


class ProcessingResource(ConfigurableResource):
    """Settings shared by the parse and render stages."""

    workers: int = Field(default=0, description="Worker processes per partition; 0 = one per CPU core.")
    doc_timeout_s: float = Field(default=120.0, description="Wall-clock limit per document and stage.")
    max_pages: int = Field(default=2000, description="Documents with more pages are quarantined.")
    max_image_pixels: int = Field(default=100_000_000, description="Largest decoded image (w*h) accepted.")
    max_output_bytes: int = Field(default=512 * 2**20, description="Largest output (Markdown + images).")
    worker_memory_mb: int = Field(default=4096, description="Address-space limit of a worker process.")
    render_dpi: int = Field(default=100, description="Resolution of page renders.")
    render_format: str = Field(default="webp", description="webp, jpeg or png.")
    render_quality: int = Field(default=80, description="Lossy quality for webp/jpeg.")
    render_backend: str = Field(default="pymupdf", description="pymupdf, or pdf2image (poppler) fallback.")
    ocr_enabled: bool = Field(default=True, description="OCR PDF pages without a readable text layer.")
    ocr_tessdata: str = Field(
        default=DEBIAN_TESSDATA,
        description="Folder of Tesseract .traineddata files (Debian: tesseract-ocr-eng, tesseract-ocr-chi-sim); "
        "OCR is off, with a warning, where it lacks them.",
    )
    ocr_languages: str = Field(
        default="auto", description="Tesseract languages (eng, chi_sim+eng...) or auto: English, then Chinese."
    )
    ocr_dpi: int = Field(default=200, description="Resolution pages are rendered at for OCR.")
    ocr_max_pages: int = Field(default=200, description="Most pages OCR'd per document; the rest stay scanned.")
    ocr_max_page_reads: int = Field(
        default=DEFAULT_PAGE_READS, ge=0, le=1_000_000,
        description="Most page reads Tesseract makes per document: one per page, orientation and language tried "
        "(an upright English page is 1). Counted work, not seconds, so a record does not depend on load; pages "
        "past it stay scanned, with a warning.",
    )
    max_quarantine_rate: float = Field(
        default=0.25, description="Share of a batch that may be quarantined before its asset check fails."
    )
    web_comments: bool = Field(default=False, description="Web pages: keep the comments after the main content.")
    web_title_heading: bool = Field(
        default=False, description="Web pages: put the page's <h1> on top when trafilatura leaves it out of the text."
    )
    fetch_images: str = Field(
        default="auto", description="Web pages: fetch the main content's remote images: on, off, or auto (on for "
        "pages from URL lists and WARC files, off for local folders and stores)."
    )

    def pool_size(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    def limits(self) -> DocumentLimits:
        return DocumentLimits(
            timeout_s=self.doc_timeout_s,
            max_pages=self.max_pages,
            max_image_pixels=self.max_image_pixels,
            max_output_bytes=self.max_output_bytes,
            memory_mb=self.worker_memory_mb,
            ocr=OcrSettings(enabled=self.ocr_enabled, tessdata=self.ocr_tessdata, languages=self.ocr_languages,
                            dpi=self.ocr_dpi, max_pages=self.ocr_max_pages, max_page_reads=self.ocr_max_page_reads),
            web=WebSettings(comments=self.web_comments, title_heading=self.web_title_heading,
                            fetch_images=self.fetch_images),
        )

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            dpi=self.render_dpi, fmt=self.render_format, quality=self.render_quality, backend=self.render_backend
        )
