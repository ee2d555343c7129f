"""How documents are processed: pool size, per-document limits and render settings.

One resource so that the UI's launchpad, `pin` CLI flags and tests all tune the same knobs.
"""

from __future__ import annotations

import os

from dagster import ConfigurableResource
from pydantic import Field

from pin_assets.core.limits import DocumentLimits
from pin_assets.core.render import RenderOptions


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
    max_quarantine_rate: float = Field(
        default=0.25, description="Share of a batch that may be quarantined before its asset check fails."
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
        )

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            dpi=self.render_dpi, fmt=self.render_format, quality=self.render_quality, backend=self.render_backend
        )
