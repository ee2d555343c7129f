"""One entry point per stage for a single document, whatever its kind.

`pin convert`, the Dagster assets and the benchmarks all call these, so a document converts the same
way everywhere. Each function is module-level and takes plain values so it can run in a worker process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import ParamSpec, TypeVar

import pymupdf

from pin_assets.core.document import (
    ConversionError,
    ParsedDocument,
    RenderedPage,
    empty_document_error,
    has_content,
)
from pin_assets.core.language import detect_language
from pin_assets.core.limits import DocumentLimits, check_page_count, limit_exceeded
from pin_assets.core.pdf_pages import RenderOptions, render_pdf_pages

PAGED_KINDS = frozenset({"pdf"})
PAGE_CHARS = 50 * 80  # what one compiled page holds by paginate's default rule (50 lines of 80 characters)
OCR_SHARE = 0.7  # of a document's time limit that OCR may spend; the rest converts the pages it leaves
P = ParamSpec("P")
R = TypeVar("R")


def frees_mupdf_store(fn: Callable[P, R]) -> Callable[P, R]:
    """Empty MuPDF's object store after each document.

    A pool worker lives for a whole stage; without this, MuPDF's cache of fonts and images carries over
    from document to document and a worker's memory grows with the batch (233 -> 489 MB over 200 PDFs,
    flat at about 250 MB with it).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            pymupdf.TOOLS.store_shrink(100)

    return wrapper


@frees_mupdf_store
def parse_document(
    data: bytes,
    kind: str,
    limits: DocumentLimits,
    assets: Mapping[str, bytes] | None = None,
    url: str | None = None,
) -> ParsedDocument:
    """Convert raw bytes of a known kind to Markdown with images and page boundaries.

    ``url`` is a web page's own address (a WARC record's target URI), for its relative references."""
    parsed = _convert(data, kind, limits, assets, url)
    if kind not in PAGED_KINDS:
        from pin_assets.core.paginate import paginate

        parsed.page_offsets = paginate(parsed.markdown)
        parsed.page_count = len(parsed.page_offsets)
        # Refused here, not in render: a 10 MB one-line page would otherwise compile thousands of pages.
        check_page_count(parsed.page_count, limits.max_pages, f"the compiled {kind} document")
    if not has_content(parsed.markdown):
        raise empty_document_error(parsed)
    output_bytes = len(parsed.markdown.encode()) + sum(len(i.data) for i in parsed.images)
    if output_bytes > limits.max_output_bytes:
        raise limit_exceeded("max_output_bytes", "the Markdown and images in bytes", output_bytes,
                             limits.max_output_bytes)
    if parsed.language is None:
        parsed.language = detect_language(parsed.markdown)
    return parsed


def _convert(
    data: bytes, kind: str, limits: DocumentLimits, assets: Mapping[str, bytes] | None, url: str | None = None
) -> ParsedDocument:
    if kind == "pdf":
        from pin_assets.core.pdf import pdf_to_markdown
        from pin_assets.core.sources.detect import with_pdf_header

        ocr = replace(limits.ocr, budget_s=OCR_SHARE * limits.timeout_s)
        return pdf_to_markdown(
            with_pdf_header(data), max_pages=limits.max_pages, max_image_pixels=limits.max_image_pixels,
            truncate=False, ocr=ocr,
        )
    if kind == "jats":
        from pin_assets.core.jats import jats_to_markdown

        return jats_to_markdown(data, assets=assets, max_image_pixels=limits.max_image_pixels)
    if kind == "html":
        from pin_assets.core.html.markdown import html_to_markdown

        return html_to_markdown(data, assets=assets, max_image_pixels=limits.max_image_pixels, url=url,
                                max_text_chars=limits.max_pages * PAGE_CHARS)
    if kind in ("obelics", "mmc4"):
        from pin_assets.core.datasets.markdown import dataset_to_markdown

        return dataset_to_markdown(data, assets, max_image_pixels=limits.max_image_pixels)
    if kind in ("markdown", "text"):
        from pin_assets.core.plain_text import text_to_markdown

        return text_to_markdown(data, is_markdown=kind == "markdown")
    raise ConversionError("unsupported", f"no converter for documents of kind {kind!r}")


def render_document(
    data: bytes, kind: str, parsed: ParsedDocument | None, options: RenderOptions, limits: DocumentLimits
) -> Iterator[RenderedPage]:
    """Overall images: the PDF's own pages, or a compiled render of the Markdown for other kinds."""
    if kind == "pdf":
        yield from render_pdf_pages(data, options, max_pages=limits.max_pages)
        return
    if parsed is None:
        raise ConversionError("unsupported", f"a {kind} document needs its Markdown to be rendered")
    from pin_assets.core.compiled_pages import render_markdown_pages

    images = {image.name: image.data for image in parsed.images}
    yield from render_markdown_pages(
        parsed.markdown, images, parsed.page_offsets, dpi=options.dpi, fmt=options.ext
    )


def oi_source(kind: str, *, paired_pdf: bool = False) -> str:
    """PIN's ``meta.oi_source``: original pages for paged sources (or a paired PDF), else a compiled render."""
    return "ori" if kind in PAGED_KINDS or paired_pdf else "compiling"


@frees_mupdf_store
def render_to_folder(
    data: bytes, kind: str, parsed: ParsedDocument | None, options: RenderOptions, limits: DocumentLimits,
    folder: str, stem: str,
) -> list[tuple[str, int, int, int]]:
    """Render into ``folder`` and return ``(file name, width, height, bytes)`` per page.

    Worker processes write pages to local scratch files instead of returning them, so a 2,000-page
    document never sits in memory or in a pipe as one object. The renders count against
    ``max_output_bytes`` as they are made, so a document whose pages would swamp the store stops early.
    """
    out = Path(folder)
    pages = []
    total = 0
    for page in render_document(data, kind, parsed, options, limits):
        total += len(page.data)
        if total > limits.max_output_bytes:
            raise limit_exceeded("max_output_bytes", f"the page renders in bytes (after {len(pages) + 1} pages)",
                                 total, limits.max_output_bytes)
        name = f"{stem}-p{page.index + 1:04d}.{page.ext}"
        (out / name).write_bytes(page.data)
        pages.append((name, page.width, page.height, len(page.data)))
    return pages
