"""Render throughput: the pipeline's renderer against pdf2image and against a bare PyMuPDF loop.

All three write one image file per page into a fresh temp folder at the pipeline's default dpi and
quality, so the comparison includes encoding and disk, as a user's own script would. pdf2image stands
for the shell-script baseline (poppler's pdftoppm); the bare loop (get_pixmap, encode, write, nothing
else) is the ceiling the pipeline's renderer can at best reach.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pymupdf
from pdf2image import convert_from_path
from PIL import Image

from bench.report import Row
from bench.timing import interleaved
from pin_assets.core.pdf_pages import WEBP_METHOD, RenderOptions, render_pdf_pages

# pdftoppm writes these formats itself; WebP it cannot, so for WebP pdf2image hands over PIL images.
POPPLER_NATIVE = {"png": "png", "jpeg": "jpeg"}


def _timed_into_temp(render_all: Callable[[Path], None]) -> float:
    """Seconds spent by ``render_all`` writing into a fresh folder (created and removed untimed)."""
    with tempfile.TemporaryDirectory(prefix="pin-bench-render-") as tmp:
        began = time.perf_counter()
        render_all(Path(tmp))
        return time.perf_counter() - began


def pipeline_renderer(pdfs: list[Path], options: RenderOptions) -> Callable[[], float]:
    """`render_pdf_pages` exactly as `render_to_folder` drives it: bytes in, one file per page out."""

    def render_all(out: Path) -> None:
        for pdf in pdfs:
            for page in render_pdf_pages(pdf.read_bytes(), options):
                (out / f"{pdf.stem}-{page.index}.{page.ext}").write_bytes(page.data)

    return lambda: _timed_into_temp(render_all)


def pdf2image_renderer(pdfs: list[Path], options: RenderOptions) -> Callable[[], float]:
    """What a shell user writes: pdftoppm straight to files, or convert then ``PIL.Image.save`` for WebP."""

    def render_all(out: Path) -> None:
        for pdf in pdfs:
            if options.ext in POPPLER_NATIVE:
                convert_from_path(
                    pdf, dpi=options.dpi, fmt=POPPLER_NATIVE[options.ext], output_folder=out,
                    output_file=pdf.stem, paths_only=True,
                    jpegopt={"quality": options.quality} if options.ext == "jpeg" else None,
                )
                continue
            for index, image in enumerate(convert_from_path(pdf, dpi=options.dpi)):  # Pillow's default effort
                image.save(out / f"{pdf.stem}-{index}.webp", "WEBP", quality=options.quality)

    return lambda: _timed_into_temp(render_all)


def bare_renderer(pdfs: list[Path], options: RenderOptions) -> Callable[[], float]:
    """The practical ceiling: pixmap, encode with the pipeline's encoder and settings, write; nothing else.

    Same encoder as the pipeline (MuPDF for PNG, Pillow for JPEG and WebP at the same effort), so the
    ratio to it measures the renderer's own overhead, not a choice of encoder.
    """
    zoom = options.dpi / 72.0

    def render_all(out: Path) -> None:
        for pdf in pdfs:
            with pymupdf.open(pdf) as doc:
                for index, page in enumerate(doc):
                    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
                    target = out / f"{pdf.stem}-{index}.{options.ext}"
                    if options.ext == "png":
                        pix.save(target)
                        continue
                    size = (pix.width, pix.height)
                    image = Image.frombuffer("RGB", size, pix.samples_mv, "raw", "RGB", pix.stride, 1)
                    if options.ext == "jpeg":
                        image.save(target, "JPEG", quality=options.quality)
                    else:
                        image.save(target, "WEBP", quality=options.quality, method=WEBP_METHOD)

    return lambda: _timed_into_temp(render_all)


def run(pdfs: list[Path], pages: int, formats: list[str], runs: int, warmup: int = 1) -> list[Row]:
    """One interleaved measurement per format; ratios within a repetition."""
    rows: list[Row] = []
    for fmt in formats:
        options = RenderOptions(fmt=fmt)  # the pipeline's defaults: dpi, quality, backend
        samples = interleaved(
            {
                "pin": pipeline_renderer(pdfs, options),
                "pdf2image": pdf2image_renderer(pdfs, options),
                "bare": bare_renderer(pdfs, options),
            },
            runs,
            warmup,
        )
        setting = f"{options.dpi} dpi, quality {options.quality}, {pages} pages"
        for name, label in (("pin", "pin render_pdf_pages"), ("pdf2image", "pdf2image (poppler)"),
                            ("bare", "bare PyMuPDF loop")):
            rows.append(Row(f"render {fmt}: {label}", samples.rate(name, pages), "pages/s",
                            f"{setting}; {samples.spread(name)}"))
        speedup = samples.ratio("pdf2image", "pin")
        rows.append(Row(f"render {fmt}: pin vs pdf2image", speedup, "x faster", "time ratio per run",
                        ">= 5", speedup >= 5))
        slowdown = samples.ratio("pin", "bare")
        rows.append(Row(f"render {fmt}: pin time / bare time", slowdown, "x", "time ratio per run",
                        "<= 1.25", slowdown <= 1.25))
    return rows
