"""Page renders: one image per page, in the configured format and size, from either backend."""

from __future__ import annotations

import io
import shutil

import pymupdf
import pytest
from PIL import Image

from pin_assets.core.document import ConversionError
from pin_assets.core.pdf_pages import RenderOptions, render_pdf_pages
from tests.conftest import corpus_dir, make_encrypted_pdf


@pytest.mark.parametrize("fmt,pil_format", [("webp", "WEBP"), ("jpeg", "JPEG"), ("png", "PNG")])
def test_every_page_rendered_at_dpi(fmt: str, pil_format: str) -> None:
    data = (corpus_dir("pdf") / "normal_4pages.pdf").read_bytes()
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        sizes = [(p.rect.width, p.rect.height) for p in doc]
    pages = list(render_pdf_pages(data, RenderOptions(dpi=72, fmt=fmt)))
    assert [p.index for p in pages] == list(range(len(sizes)))
    for page, (width_pt, height_pt) in zip(pages, sizes, strict=True):
        image = Image.open(io.BytesIO(page.data))
        assert image.format == pil_format
        assert abs(image.width - width_pt) <= 1 and abs(image.height - height_pt) <= 1
        assert (page.width, page.height) == image.size
        grey = image.convert("L")
        assert grey.getextrema()[0] < 128  # real ink on the page, not a blank canvas


def test_render_count_matches_pages_for_whole_corpus() -> None:
    for pdf in sorted(corpus_dir("pdf").glob("*.pdf")):
        data = pdf.read_bytes()
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            expected = doc.page_count
        assert len(list(render_pdf_pages(data, RenderOptions(dpi=30, fmt="jpeg")))) == expected, pdf.name


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_poppler_fallback_matches_page_count_and_size() -> None:
    data = (corpus_dir("pdf") / "multi_page.pdf").read_bytes()
    ours = list(render_pdf_pages(data, RenderOptions(dpi=50, fmt="png")))
    poppler = list(render_pdf_pages(data, RenderOptions(dpi=50, fmt="png", backend="pdf2image")))
    assert len(ours) == len(poppler)
    for a, b in zip(ours, poppler, strict=True):
        assert abs(a.width - b.width) <= 1 and abs(a.height - b.height) <= 1


def test_render_refuses_bad_documents() -> None:
    with pytest.raises(ConversionError) as err:
        list(render_pdf_pages(make_encrypted_pdf(), RenderOptions()))
    assert err.value.reason == "encrypted"
    with pytest.raises(ConversionError) as err:
        list(render_pdf_pages(b"%PDF-1.7\n garbage", RenderOptions()))
    assert err.value.reason == "corrupt"
    many = pymupdf.open()
    for _ in range(5):
        many.new_page()
    with pytest.raises(ConversionError) as err:
        list(render_pdf_pages(many.tobytes(), RenderOptions(), max_pages=3))
    assert err.value.reason == "limit"


def test_bad_options_rejected() -> None:
    with pytest.raises(ValueError, match="format"):
        RenderOptions(fmt="bmp")
    with pytest.raises(ValueError, match="dpi"):
        RenderOptions(dpi=5000)


def test_a_page_taller_than_webp_allows_is_rendered_smaller() -> None:
    """A 234 x 14,295 pt page (a well-log plot) is 19,854 px tall at 100 dpi, past WebP's 16,383: the page
    is rendered at the largest size the format holds instead of failing the document."""
    doc = pymupdf.open()
    page = doc.new_page(width=234, height=14295)
    page.insert_text((20, 100), "Main logs in Hole U1503A", fontsize=10)
    [rendered] = list(render_pdf_pages(doc.tobytes(), RenderOptions(dpi=100, fmt="webp")))
    assert 16000 < rendered.height <= 16383 and rendered.width < 16383
