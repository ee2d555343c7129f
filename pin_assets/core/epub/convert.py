"""EPUB books to Markdown: chapters in spine order through the shared HTML body converter, images inline.

A book holds nothing but content, so chapters skip main-content detection
(:func:`~pin_assets.core.html.markdown.html_body_to_markdown` with ``main_content=False``): every visible
paragraph, heading, list, table and figure of every linear chapter is kept, in order. Images a chapter
shows (``<img>``, and the ``<svg><image>`` wrapper EPUB covers use) are read from the book, resolved
against the chapter's own path; one that is missing, encrypted or outside the book is listed in
``missing_images``. Dublin Core title, author, language and the rest go to ``ori_meta``; the overall images
are a compiled render, as for every kind without pages.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote

from pin_assets.core.document import ConversionError, ParsedDocument
from pin_assets.core.epub.package import Book, open_book
from pin_assets.core.html.charset import decode_html
from pin_assets.core.html.markdown import html_body_to_markdown
from pin_assets.core.limits import limit_exceeded
from pin_assets.core.markup.html import parse_html
from pin_assets.core.markup.references import normalize_reference, referenced_paths, resolve_reference
from pin_assets.core.paginate import PAGE_CHARS
from pin_assets.core.sources.assets import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from lxml import etree

    from pin_assets.core.kinds import ConvertJob
    from pin_assets.core.limits import DocumentLimits


def convert_epub(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``epub`` kind's converter."""
    book = open_book(data)
    try:
        return epub_to_markdown(book, job.limits)
    finally:
        book.archive.close()


def epub_to_markdown(book: Book, limits: DocumentLimits) -> ParsedDocument:
    """Every linear chapter in spine order. A chapter that cannot be read is named in ``chapters_failed``
    and the book goes on; a book none of whose chapters reads is refused with the first chapter's reason.

    The text is capped at what ``max_pages`` compiled pages hold, counted chapter by chapter, so a huge book
    is refused before it is converted whole.
    """
    budget = limits.max_pages * PAGE_CHARS
    parts: list[str] = []
    images, missing, warnings = [], [], list(book.warnings)
    failed: dict[str, str] = {}
    first_error: ConversionError | None = None
    chars = 0
    for path in book.chapters:
        try:
            if path not in book.archive:
                raise ConversionError("corrupt", f"the spine's chapter {path!r} is not in the book")
            text, chapter_warnings = decode_html(book.read(path))
            doc = parse_html(text)
        except ConversionError as exc:
            if exc.reason in ("unsafe", "limit"):
                raise
            failed[path] = f"{exc.reason}: {exc}"
            first_error = first_error or exc
            continue
        chars += len(doc.text_content())
        if chars > budget:
            raise limit_exceeded("max_pages", "the text of the EPUB in characters (what max_pages compiled "
                                 "pages hold)", chars, budget)
        _svg_images_as_img(doc)
        markdown, ctx = html_body_to_markdown(
            doc, assets=_chapter_images(book, path, text), max_image_pixels=limits.max_image_pixels,
            main_content=False, warnings=chapter_warnings,
        )
        if markdown.strip():
            parts.append(markdown.strip())
        images += ctx.images
        missing += ctx.missing
        warnings += [f"{path}: {w}" for w in ctx.warnings]
    if first_error is not None and len(failed) == len(book.chapters):
        raise ConversionError(first_error.reason, f"no chapter of the EPUB could be read: {first_error}")
    metadata = {**book.metadata, "source_format": "epub", "epub_version": book.version,
                "chapters": str(len(book.chapters)), "nonlinear_skipped": json.dumps(book.skipped)}
    if failed:
        metadata["chapters_failed"] = json.dumps(failed)
    if missing:
        metadata["missing_images"] = json.dumps(missing)
    return ParsedDocument(
        markdown="\n\n".join(parts) + "\n", images=images, title=book.metadata.get("title"),
        language=book.metadata.get("language"), metadata=metadata, warnings=warnings,
    )


def _chapter_images(book: Book, chapter: str, text: str) -> dict[str, bytes]:
    """The chapter's image references, keyed as the DOM walk looks them up, mapped to the book's files."""
    assets = {}
    for ref in referenced_paths(text.encode("utf-8", "replace")):
        plain = unquote(ref)
        key, member = normalize_reference(plain), resolve_reference(chapter, plain)
        if key is None or member is None or member not in book.archive or member in book.encrypted:
            continue
        media_type = book.media_types.get(member, "")
        if media_type.startswith("image/") or PurePosixPath(member).suffix.lower() in IMAGE_SUFFIXES:
            assets[key] = book.read(member)
    return assets


def _svg_images_as_img(doc: etree._Element) -> None:
    """``<svg><image xlink:href=...></svg>`` (how EPUB covers and full-page plates are wrapped) as ``<img>``,
    which the DOM walk shows; other SVG stays invisible, as on the web."""
    for svg in list(doc.iter("svg")):
        hrefs = [img.get("xlink:href") or img.get("href") for img in svg.iter("image")]
        hrefs = [h for h in hrefs if h]
        if not hrefs or svg.getparent() is None:
            continue
        img = svg.makeelement("img", {"src": hrefs[0], "alt": ""})
        img.tail = svg.tail
        svg.getparent().replace(svg, img)
