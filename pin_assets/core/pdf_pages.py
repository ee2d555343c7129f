"""Overall images for PDFs: every page rasterized, with PyMuPDF by default and poppler as a fallback.

PyMuPDF renders in-process several times faster than pdf2image, which shells out to ``pdftoppm`` and
re-reads the files it wrote; pdf2image stays as the baseline for benchmarks and as a fallback for
PDFs that MuPDF cannot rasterize.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pymupdf
from PIL import Image

from pin_assets.core.document import ConversionError, RenderedPage
from pin_assets.core.limits import check_page_count
from pin_assets.core.pdf.errors import PDF_ERRORS, describe

FORMATS = {"webp": "webp", "jpeg": "jpeg", "jpg": "jpeg", "png": "png"}
# libwebp's effort level (0-6). Encoding is most of a page's render time: on the 30 bench pages at 100 dpi,
# method 2 took about half the time of Pillow's default 4 for under 2% more bytes (method 0: a third of
# the time, 17% more bytes).
WEBP_METHOD = 2


@dataclass(frozen=True)
class RenderOptions:
    dpi: int = 100
    fmt: str = "webp"
    quality: int = 80
    backend: str = "pymupdf"

    def __post_init__(self) -> None:
        if self.fmt.lower() not in FORMATS:
            raise ValueError(f"unknown render format {self.fmt!r}; use one of webp, jpeg, png")
        if not 10 <= self.dpi <= 600:
            raise ValueError(f"render dpi {self.dpi} outside 10..600")
        if self.backend not in ("pymupdf", "pdf2image"):
            raise ValueError(f"unknown render backend {self.backend!r}; use pymupdf or pdf2image")

    @property
    def ext(self) -> str:
        return FORMATS[self.fmt.lower()]


def encode_pixmap(pix: pymupdf.Pixmap, options: RenderOptions) -> bytes:
    """Encode a pixmap; MuPDF writes PNG itself, JPEG and WebP go through Pillow.

    Pillow's JPEG encoder (libjpeg-turbo) is about 15x faster than MuPDF's ``tobytes("jpeg")`` on page
    renders; the image is wrapped around the pixmap's buffer rather than copied.
    """
    if options.ext == "png":
        return pix.tobytes("png")
    image = Image.frombuffer("RGB", (pix.width, pix.height), pix.samples_mv, "raw", "RGB", pix.stride, 1)
    return encode_pil(image, options)


def encode_pil(image: Image.Image, options: RenderOptions) -> bytes:
    buf = io.BytesIO()
    if options.ext == "png":
        image.save(buf, "PNG", compress_level=6)
    else:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(buf, options.ext.upper(), quality=options.quality, method=WEBP_METHOD)
    return buf.getvalue()


def render_pdf_pages(data: bytes, options: RenderOptions, *, max_pages: int | None = None) -> Iterator[RenderedPage]:
    """Yield one rendered page at a time so memory stays bounded by a single page.

    A page MuPDF cannot load or run (a cycle in the page tree) is rendered as a white page of the last
    good page's size, so overall image *i* stays page *i*; the parse stage has already said which pages
    failed. Only a document none of whose pages render is refused.
    """
    if options.backend == "pdf2image":
        yield from _render_poppler(data, options, max_pages=max_pages)
        return
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        raise ConversionError("corrupt", f"cannot open PDF for rendering: {exc}") from exc
    with doc:
        try:
            encrypted = doc.needs_pass
            count = 0 if encrypted else doc.page_count
        except PDF_ERRORS as exc:
            raise ConversionError("corrupt", f"cannot count the PDF's pages: {describe(exc)}") from exc
        if encrypted:
            raise ConversionError("encrypted", "PDF is encrypted and needs a user password")
        _check_page_count(count, max_pages)
        zoom = options.dpi / 72.0
        matrix = pymupdf.Matrix(zoom, zoom)
        size = pymupdf.Rect(0, 0, 612, 792) * matrix
        failed: list[str] = []
        for index in range(count):
            try:
                page = doc[index]
                pix = page.get_pixmap(matrix=_within_limit(page.rect, zoom, options.ext) or matrix, alpha=False,
                                      colorspace=pymupdf.csRGB)
            except PDF_ERRORS as exc:
                failed.append(describe(exc))
                pix = pymupdf.Pixmap(pymupdf.csRGB, size.irect, False)
                pix.clear_with(255)
            else:
                size = pymupdf.Rect(0, 0, pix.width, pix.height)
            yield RenderedPage(index, encode_pixmap(pix, options), options.ext, pix.width, pix.height)
        if len(failed) == count:
            raise ConversionError("corrupt", f"no page of the PDF could be rendered: {failed[0]}")


# The largest side each encoder writes: WebP's format stores 14 bits, JPEG 16; PNG has no practical limit.
_MAX_SIDE = {"webp": 16383, "jpeg": 65500}


def _within_limit(rect: pymupdf.Rect, zoom: float, ext: str) -> pymupdf.Matrix | None:
    """A smaller zoom for a page whose render at ``zoom`` would exceed the format's largest side (a
    234 x 14,295 pt well-log plot is 19,854 px tall at 100 dpi), or None when it fits."""
    limit = _MAX_SIDE.get(ext)
    side = max(rect.width, rect.height) * zoom
    if limit is None or side <= limit:
        return None
    scaled = zoom * limit / side * 0.999
    return pymupdf.Matrix(scaled, scaled)


def _check_page_count(page_count: int, max_pages: int | None) -> None:
    if page_count == 0:
        raise ConversionError("no_pages", "PDF has no pages")
    check_page_count(page_count, max_pages, "the PDF")


def _render_poppler(data: bytes, options: RenderOptions, *, max_pages: int | None) -> Iterator[RenderedPage]:
    """Render with poppler's pdftoppm via pdf2image, one page per call to keep memory flat."""
    from pdf2image import convert_from_bytes, pdfinfo_from_bytes
    from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError

    try:
        info = pdfinfo_from_bytes(data)
    except PDFInfoNotInstalledError as exc:
        raise ConversionError("unsupported", "poppler-utils (pdfinfo/pdftoppm) is not installed") from exc
    except (PDFPageCountError, PDFSyntaxError) as exc:
        raise ConversionError("corrupt", f"poppler cannot read the PDF: {exc}") from exc
    pages = int(info.get("Pages", 0))
    _check_page_count(pages, max_pages)
    for index in range(pages):
        (image,) = convert_from_bytes(data, dpi=options.dpi, first_page=index + 1, last_page=index + 1)
        yield RenderedPage(index, encode_pil(image, options), options.ext, image.width, image.height)
