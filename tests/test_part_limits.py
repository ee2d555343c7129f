"""A limit one part of a document exceeds costs only that part: the picture, or the page's resolution."""

from __future__ import annotations

import base64
import io

import pymupdf
from PIL import Image

from pin_assets.core.convert import parse_document, render_to_folder
from pin_assets.core.document import IMAGES_SKIPPED
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf_pages import RenderOptions, render_pdf_pages


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _book_with_one_huge_picture() -> bytes:
    """Three pages of text; page 2 shows a 1,500 x 1,000 px picture, page 3 a small one."""
    texts = ["Chapter 1. The survey left the coast in March with four boats and a cook.",
             "Chapter 2. Upstream the river narrowed, and the map below was drawn at the second camp.",
             "Chapter 3. The rains came early; the last plate shows the flooded ford."]
    doc = pymupdf.open()
    for number, text in enumerate(texts, start=1):
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 300, 520, 400), text, fontsize=11)
        if number == 2:
            page.insert_image(pymupdf.Rect(72, 420, 520, 720), stream=_png(1500, 1000, (120, 40, 40)))
        if number == 3:
            page.insert_image(pymupdf.Rect(72, 420, 272, 620), stream=_png(200, 200, (40, 40, 120)))
    return doc.tobytes()


def test_a_picture_over_max_image_pixels_costs_that_picture_not_the_book() -> None:
    limits = DocumentLimits(max_image_pixels=1_000_000)
    parsed = parse_document(_book_with_one_huge_picture(), "pdf", limits)
    for number in (1, 2, 3):
        assert f"Chapter {number}." in parsed.markdown
    assert [(image.width, image.height) for image in parsed.images] == [(200, 200)]
    assert parsed.metadata[IMAGES_SKIPPED] == "1"
    (warning,) = [w for w in parsed.warnings if "max_image_pixels" in w]
    assert warning == ("an image on page 2 was skipped, its decoded size (1500x1000 px = 1,500,000 px) is over "
                       "the max_image_pixels limit of 1,000,000")
    assert len(parse_document(_book_with_one_huge_picture(), "pdf", DocumentLimits()).images) == 2


def test_a_web_picture_over_the_limit_costs_that_picture_not_the_page() -> None:
    big = base64.b64encode(_png(1500, 1000, (10, 120, 10))).decode()
    small = base64.b64encode(_png(120, 90, (10, 10, 120))).decode()
    html = (f"<html><body><article><h1>Survey notes</h1><p>{'The river survey met heavy rain. ' * 12}</p>"
            f"<img src='data:image/png;base64,{big}' alt='map'><img src='data:image/png;base64,{small}' alt='key'>"
            f"<p>{'The camp moved north after the storm. ' * 12}</p></article></body></html>").encode()
    parsed = parse_document(html, "html", DocumentLimits(max_image_pixels=1_000_000))
    assert "heavy rain" in parsed.markdown and "moved north" in parsed.markdown
    assert [(image.width, image.height) for image in parsed.images] == [(120, 90)]
    assert parsed.metadata[IMAGES_SKIPPED] == "1"
    assert any("max_image_pixels limit of 1,000,000" in w for w in parsed.warnings), parsed.warnings


def test_a_page_too_long_for_webp_is_rendered_smaller_and_keeps_its_text(tmp_path) -> None:
    """A 234 x 14,295 pt well-log page: 19,855 px long at 100 dpi, over WebP's 16,383 px."""
    doc = pymupdf.open()
    page = doc.new_page(width=234, height=14295)
    for y in range(100, 14200, 900):
        page.insert_text((20, y), f"{y / 10:.0f} m: grey shale", fontsize=9)
    data = doc.tobytes()
    parsed = parse_document(data, "pdf", DocumentLimits())
    assert "730 m: grey shale" in parsed.markdown and "1180 m: grey shale" in parsed.markdown
    [(name, width, height, size, note)] = render_to_folder(data, "pdf", None, RenderOptions(dpi=100), DocumentLimits(),
                                                           str(tmp_path), "log")
    assert height <= 16383 and (tmp_path / name).stat().st_size == size
    with Image.open(tmp_path / name) as image:
        assert image.format == "WEBP" and image.size == (width, height)
    assert note == ("page 1: rendered at 82.5 dpi instead of 100: at 100 dpi its 234 x 14295 pt page would be "
                    "19,855 px long, over WebP's limit of 16,383 px a side")
    [png] = render_pdf_pages(data, RenderOptions(dpi=100, fmt="png"))
    assert png.height == 19855 and png.note == ""  # PNG has no such limit: the page keeps its resolution
