"""Compiled overall images: lay page-less Markdown out as pages and rasterize them, offline.

PIN renders sources without pages (JATS, HTML, text) "by compiling" them; we do it with PyMuPDF's
``Story`` (HTML+CSS layout with built-in fonts, no network, no browser): Markdown -> HTML with
markdown-it-py -> one Story per page slice -> drawn straight onto a pixmap.

The contract is one image per ``page_offsets`` entry, because ``page_offsets`` is what pagination and the
PIN record agreed on. When a slice does not fit one page (long unbreakable lines, tall images, a dense
table), its layout is scaled down until it fits (``Story.fit_scale``) rather than spilling onto a second
image; nothing is cut off, and text gets smaller only on the pages that need it.

Images are looked up in ``images`` by the ``src`` the Markdown uses (``content_image/<name>``) or by
its file name, written into a private temporary folder that is the Story's archive (the only way Story
loads images), and sized to the page width. An image the mapping lacks is shown as its alt text.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

import pymupdf
from markdown_it import MarkdownIt
from PIL import Image

from pin_assets.core.document import RenderedPage
from pin_assets.core.pdf_pages import RenderOptions, encode_pixmap

_MARGIN_PT = 40
_MAX_IMAGE_HEIGHT_FRACTION = 0.45
_CSS = """
body { font-family: sans-serif; font-size: 11pt; line-height: 1.35; color: #111; }
h1 { font-size: 20pt; margin: 0 0 8pt 0; } h2 { font-size: 16pt; margin: 10pt 0 6pt 0; }
h3 { font-size: 13pt; margin: 8pt 0 4pt 0; } h4, h5, h6 { font-size: 11pt; margin: 6pt 0 3pt 0; }
p, ul, ol, blockquote, pre, table { margin: 0 0 6pt 0; }
pre, code { font-family: monospace; font-size: 9.5pt; }
pre { background-color: #f3f3f3; padding: 4pt; }
blockquote { margin-left: 12pt; color: #444; }
table { border-collapse: collapse; }
td, th { border: 0.6pt solid #555; padding: 2pt 4pt; font-size: 9.5pt; }
th { background-color: #eeeeee; }
"""


def render_markdown_pages(
    markdown: str,
    images: Mapping[str, bytes],
    page_offsets: list[int],
    *,
    dpi: int = 100,
    fmt: str = "webp",
    page_width_pt: float = 595,
    page_height_pt: float = 842,
) -> Iterator[RenderedPage]:
    """Yield one rendered page per ``page_offsets`` entry, in order, encoded as ``fmt`` at ``dpi``.

    Pages are encoded exactly as PDF page renders are (:func:`pin_assets.core.pdf_pages.encode_pixmap`).
    """
    options = RenderOptions(dpi=dpi, fmt=fmt)
    if not page_offsets or page_offsets[0] != 0:
        raise ValueError("page_offsets must start with 0")
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    page_rect = pymupdf.Rect(0, 0, page_width_pt, page_height_pt)
    content = page_rect + (_MARGIN_PT, _MARGIN_PT, -_MARGIN_PT, -_MARGIN_PT)
    ends = page_offsets[1:] + [len(markdown)]
    with tempfile.TemporaryDirectory(prefix="pin-render-") as folder:
        catalog = _ImageCatalog(Path(folder), images, content)
        archive = pymupdf.Archive(folder)
        slices = (markdown[start:end] for start, end in zip(page_offsets, ends, strict=True))
        pdf = _layout_pdf(
            (catalog.rewrite(parser.render(text)) for text in slices), archive, page_rect, content
        )
    with pymupdf.open("pdf", pdf) as doc:
        for index, page in enumerate(doc):
            pixmap = page.get_pixmap(dpi=dpi, alpha=False, colorspace=pymupdf.csRGB)
            yield RenderedPage(
                index=index, data=encode_pixmap(pixmap, options), ext=options.ext, width=pixmap.width,
                height=pixmap.height,
            )


def _layout_pdf(
    pages: Iterator[str], archive: pymupdf.Archive, page: pymupdf.Rect, content: pymupdf.Rect
) -> bytes:
    """One PDF page per HTML slice. A PDF in memory rather than a pixmap device, because MuPDF clips a
    story to its placement rectangle in device units, which only coincide with layout units on a page."""
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    for html in pages:
        story, matrix = _placed_story(html, archive, content)
        device = writer.begin_page(page)
        story.draw(device, matrix)
        writer.end_page()
    writer.close()
    return buffer.getvalue()


class _ImageCatalog:
    """Writes the document's images into the Story archive folder and points ``<img>`` tags at them."""

    _IMG = re.compile(r"<img\s+src=\"([^\"]*)\"\s+alt=\"([^\"]*)\"[^>]*>")

    def __init__(self, folder: Path, images: Mapping[str, bytes], content: pymupdf.Rect):
        self.folder = folder
        self.images = images
        self.content = content
        self.written: dict[str, tuple[str, int, int]] = {}

    def rewrite(self, html: str) -> str:
        return self._IMG.sub(self._replace, html)

    def _replace(self, match: re.Match[str]) -> str:
        src, alt = match.group(1), match.group(2)
        local = self._local(src)
        if local is None:
            return f"<em>{alt}</em>" if alt else ""
        name, width, height = local
        return f'<img src="{name}" width="{width}" height="{height}" alt="{alt}"/>'

    def _local(self, src: str) -> tuple[str, int, int] | None:
        """The archive file name and display size (pt) for ``src``, writing the file on first use."""
        if src in self.written:
            return self.written[src]
        data = self.images.get(src)
        if data is None:
            data = self.images.get(PurePosixPath(src).name)
        size = _image_size(data) if data is not None else None
        if size is None:
            return None
        name = f"img{len(self.written)}{_suffix(data)}"
        (self.folder / name).write_bytes(data)
        self.written[src] = (name, *self._display_size(*size))
        return self.written[src]

    def _display_size(self, width_px: int, height_px: int) -> tuple[int, int]:
        """Natural size at 96 dpi, shrunk to the text width and to part of the page height."""
        width, height = width_px * 0.75, height_px * 0.75
        scale = min(
            1.0, self.content.width / width, self.content.height * _MAX_IMAGE_HEIGHT_FRACTION / height
        )
        return max(1, int(width * scale)), max(1, int(height * scale))


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _suffix(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as img:
        fmt = (img.format or "png").lower()
    return "." + {"jpeg": "jpg"}.get(fmt, fmt)


def _placed_story(
    html: str, archive: pymupdf.Archive, content: pymupdf.Rect
) -> tuple[pymupdf.Story, pymupdf.Matrix]:
    """A story placed in ``content`` and the identity, or, when it overflows, placed in ``content``
    enlarged by the smallest fitting factor and a matrix shrinking it back about the top-left corner."""
    story = pymupdf.Story(html, user_css=_CSS, archive=archive)
    more, _ = story.place(content)
    if not more:
        return story, pymupdf.Identity
    fit = pymupdf.Story(html, user_css=_CSS, archive=archive).fit_scale(content, scale_min=1, delta=0.02)
    scale = fit.parameter if fit.big_enough else _last_resort_scale(html, archive, content)
    story = pymupdf.Story(html, user_css=_CSS, archive=archive)
    story.place(
        pymupdf.Rect(
            content.x0, content.y0, content.x0 + content.width * scale, content.y0 + content.height * scale
        )
    )
    matrix = pymupdf.Matrix(1, 0, 0, 1, -content.x0, -content.y0)
    matrix = (
        matrix * pymupdf.Matrix(1 / scale, 1 / scale) * pymupdf.Matrix(1, 0, 0, 1, content.x0, content.y0)
    )
    return story, matrix


def _last_resort_scale(html: str, archive: pymupdf.Archive, content: pymupdf.Rect) -> float:
    """Doubling search when ``fit_scale`` gives up: pathological slices still get one (tiny) page."""
    scale = 2.0
    while scale < 64:
        story = pymupdf.Story(html, user_css=_CSS, archive=archive)
        more, _ = story.place(pymupdf.Rect(0, 0, content.width * scale, content.height * scale))
        if not more:
            return scale
        scale *= 2
    return scale


