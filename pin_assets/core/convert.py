"""One entry point per stage for a single document, whatever its kind.

`pin convert`, the Dagster assets and the benchmarks all call these, so a document converts the same
way everywhere. Each function is module-level and takes plain values so it can run in a worker process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import ParamSpec, TypeVar

import pymupdf

from pin_assets.core import kinds
from pin_assets.core.document import (
    ConversionError,
    ParsedDocument,
    RenderedPage,
    empty_document_error,
    has_content,
)
from pin_assets.core.kinds import ConvertJob
from pin_assets.core.language import detect_language
from pin_assets.core.limits import DocumentLimits, check_page_count, limit_exceeded
from pin_assets.core.pdf_pages import RenderOptions

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
    source_kind = kinds.get(kind)
    parsed = source_kind.convert(data, ConvertJob(limits, assets, url))
    if not source_kind.paged:
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


def render_document(
    data: bytes, kind: str, parsed: ParsedDocument | None, options: RenderOptions, limits: DocumentLimits
) -> Iterator[RenderedPage]:
    """Overall images: a paged kind's own pages, or a compiled render of the Markdown for other kinds."""
    source_kind = kinds.get(kind)
    if source_kind.paged:
        yield from source_kind.render_pages(data, options, limits.max_pages)
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
    paged = kinds.is_registered(kind) and kinds.get(kind).paged  # unregistered (a plugin absent): compiled
    return "ori" if paged or paired_pdf else "compiling"


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
