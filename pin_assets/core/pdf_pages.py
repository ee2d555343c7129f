"""Overall images for PDFs: every page rasterized, with PyMuPDF by default and poppler as a fallback.

PyMuPDF renders in-process several times faster than pdf2image, which shells out to ``pdftoppm`` and
re-reads the files it wrote; pdf2image stays as the baseline for benchmarks and as a fallback for
PDFs that MuPDF cannot rasterize.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass

import pymupdf
from PIL import Image

from pin_assets.core.document import ConversionError, RenderedPage
from pin_assets.core.limits import DPI_RANGE, check_page_count
from pin_assets.core.pdf.errors import PDF_ERRORS, describe

FORMATS = {"webp": "webp", "jpeg": "jpeg", "jpg": "jpeg", "png": "png"}
# libwebp's effort level (0-6). Encoding is most of a page's render time: on the 30 bench pages at 100 dpi,
# method 2 took about half the time of Pillow's default 4 for under 2% more bytes (method 0: a third of
# the time, 17% more bytes).
WEBP_METHOD = 2
# Largest side an encoder can write, in pixels: libwebp's 14-bit limit, and libjpeg's JPEG_MAX_DIMENSION.
MAX_SIDE = {"webp": 16383, "jpeg": 65500}
FORMAT_NAMES = {"webp": "WebP", "jpeg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class RenderOptions:
    dpi: int = 100
    fmt: str = "webp"
    quality: int = 80
    backend: str = "pymupdf"

    def __post_init__(self) -> None:
        if self.fmt.lower() not in FORMATS:
            raise ValueError(f"unknown render format {self.fmt!r}; use one of webp, jpeg, png")
        if not DPI_RANGE[0] <= self.dpi <= DPI_RANGE[1]:
            raise ValueError(f"render dpi {self.dpi} outside {DPI_RANGE[0]}..{DPI_RANGE[1]}")
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
        size = pymupdf.Rect(0, 0, 612, 792) * pymupdf.Matrix(zoom, zoom)
        failed: list[str] = []
        for index in range(count):
            note = ""
            try:
                page = doc[index]
                fitted, note = fit_to_format(page.rect.width, page.rect.height, options)
                pix = page.get_pixmap(matrix=pymupdf.Matrix(fitted / 72.0, fitted / 72.0), alpha=False,
                                      colorspace=pymupdf.csRGB)
            except PDF_ERRORS as exc:
                failed.append(describe(exc))
                pix = pymupdf.Pixmap(pymupdf.csRGB, size.irect, False)
                pix.clear_with(255)
            else:
                size = pymupdf.Rect(0, 0, pix.width, pix.height)
            note = f"page {index + 1}: {note}" if note else ""
            yield RenderedPage(index, encode_pixmap(pix, options), options.ext, pix.width, pix.height, note)
        if len(failed) == count:
            raise ConversionError("corrupt", f"no page of the PDF could be rendered: {failed[0]}")


def fit_to_format(width_pt: float, height_pt: float, options: RenderOptions) -> tuple[float, str]:
    """The dpi to render a ``width_pt`` x ``height_pt`` page at, and a note when it is below ``options.dpi``.

    A page whose render would pass its format's largest side (WebP: 16383 px) is rendered just small enough
    instead of failing to encode: a 234 x 14295 pt well-log plot at 100 dpi would be 19854 px tall. The page
    keeps its text and its overall image; the note says what happened.
    """
    limit = MAX_SIDE.get(options.ext)
    longest = max(width_pt, height_pt) * options.dpi / 72.0
    if limit is None or longest <= limit:
        return float(options.dpi), ""
    dpi = options.dpi * (limit - 1) / longest
    return dpi, (f"rendered at {dpi:.1f} dpi instead of {options.dpi}: at {options.dpi} dpi its "
                 f"{width_pt:g} x {height_pt:g} pt page would be {math.ceil(longest):,} px long, over "
                 f"{FORMAT_NAMES[options.ext]}'s limit of {limit:,} px a side")


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
        note = ""
        limit = MAX_SIDE.get(options.ext)
        if limit is not None and max(image.size) > limit:  # poppler renders what it is asked: shrink to fit
            scale = (limit - 1) / max(image.size)
            note = (f"page {index + 1}: rendered at {options.dpi * scale:.1f} dpi instead of {options.dpi}: "
                    f"{image.width} x {image.height} px is over {FORMAT_NAMES[options.ext]}'s limit of {limit:,} px "
                    "a side")
            image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        yield RenderedPage(index, encode_pil(image, options), options.ext, image.width, image.height, note)
