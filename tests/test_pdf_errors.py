"""MuPDF errors are caught at the smallest unit that failed: an image is skipped, a page is left blank,
and only a document that cannot be opened at all is quarantined.

Every input is a PDF built here object by object (PyMuPDF will not write a soft mask of another size, an
indexed palette over Lab or a page tree that loops), so each test names exactly the structure it breaks.
"""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from dagster import DagsterInstance
from PIL import Image

from pin_assets.accounting import account_batch
from pin_assets.core.document import ConversionError
from pin_assets.core.pdf import pdf_to_markdown
from pin_assets.core.pdf_pages import RenderOptions, render_pdf_pages
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.hostile_corpus import raw_pdf, stream
from tests.pipeline_support import check_outcomes, read_records, run_batch

TEXT = b"Body text that must survive"
SIDE = 16
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
RESOURCES = b"/Resources << /Font << /F1 5 0 R >> >>"
GRAY_MASK = b"/ColorSpace /DeviceGray /BitsPerComponent 8"


def _content(text: bytes) -> bytes:
    return stream(b"", b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET\n")


def _image(dictionary: bytes, payload: bytes, side: int = SIDE) -> bytes:
    return stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d " % (side, side) + dictionary, payload)


def _image_page(image: bytes, *extra: bytes) -> bytes:
    """One page with text and one image drawn 200 pt wide (object 6); ``extra`` objects follow from 7."""
    content = b"BT /F1 12 Tf 72 720 Td (" + TEXT + b") Tj ET\nq 200 0 0 200 72 300 cm /Im0 Do Q\n"
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> "
        b"/XObject << /Im0 6 0 R >> >> >>",
        stream(b"", content),
        FONT,
        image,
        *extra,
    ])


def _cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (SIDE, SIDE), (0, 200, 200, 0)).save(out, "JPEG")
    return out.getvalue()


RGB = bytes([200, 30, 30]) * SIDE * SIDE
LAB_INDEXED = b"/ColorSpace [/Indexed [/Lab << /WhitePoint [0.95 1 1.09] >>] 1 <80FF00 4000FF>] /BitsPerComponent 8"
SEPARATION = (b"/ColorSpace [/Separation /Spot /DeviceCMYK << /FunctionType 2 /Domain [0 1] /C0 [0 0 0 0] "
              b"/C1 [1 0 0 0] /N 1 >>] /BitsPerComponent 8")


def soft_mask_of_another_size() -> bytes:
    """A 16 x 16 RGB image whose soft mask is 8 x 8: legal PDF (a mask covers the same unit square at its
    own resolution), but MuPDF's pixmap join raises "color and mask pixmaps must be the same size"."""
    return _image_page(_image(b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /SMask 7 0 R", RGB),
                       _image(GRAY_MASK, bytes(range(0, 256, 4)), side=8))


PNG_HOSTILE_IMAGES = {
    # A CMYK JPEG kept as JPEG, but its soft mask gives it alpha, which JPEG cannot hold.
    "cmyk_jpeg_with_mask": _image_page(
        stream(b"/Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceCMYK /BitsPerComponent 8 "
               b"/Filter /DCTDecode /SMask 7 0 R", _cmyk_jpeg()),
        _image(GRAY_MASK, bytes(range(SIDE * SIDE)))),
    # Palette over Lab: three components that are not RGB, "pixmap must be grayscale or rgb to write as png".
    "indexed_lab_with_mask": _image_page(_image(LAB_INDEXED + b" /SMask 7 0 R", bytes([0, 1]) * 128),
                                         _image(GRAY_MASK, bytes(range(SIDE * SIDE)))),
    # One spot colour: one component that is not gray.
    "separation_with_mask": _image_page(_image(SEPARATION + b" /SMask 7 0 R", bytes(range(SIDE * SIDE))),
                                        _image(GRAY_MASK, bytes(range(SIDE * SIDE)))),
}


def mask_that_is_not_gray() -> bytes:
    """A soft mask in CMYK (the spec allows DeviceGray only): MuPDF refuses it as a mask."""
    return _image_page(_image(b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /SMask 7 0 R", RGB),
                       _image(b"/ColorSpace /DeviceCMYK /BitsPerComponent 8", bytes(4 * SIDE * SIDE)))


def page_tree_cycle() -> bytes:
    """Three pages counted; the second /Pages node lists the root among its kids. Page 1 loads, pages 2
    and 3 raise FzErrorFormat "cycle in page tree"."""
    page = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R " + RESOURCES + b" >>"
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 >>",
        page % (2, 4),
        _content(b"First page text survives the loop"),
        FONT,
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 7 0 R] /Count 2 >>",
        page % (6, 8),
        _content(b"Second page text"),
    ])


def negative_page_count() -> bytes:
    """A page tree whose /Count is -5: the file opens, then counting its pages raises RuntimeError."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count -5 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + RESOURCES + b" >>",
        _content(TEXT),
        FONT,
    ])


def warning_with_lone_surrogates() -> bytes:
    """A page that only paints with a colour space named in Latin-1 bytes and missing from its resources:
    nothing is recovered, and MuPDF's warning carries the name as lone surrogates (U+DCE9 U+DCB1)."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        stream(b"", b"/Caf\xe9\xb1 cs 1 sc 0 0 10 10 re f"),
    ])


def test_soft_mask_of_another_size_is_scaled_to_its_image() -> None:
    doc = pdf_to_markdown(soft_mask_of_another_size())
    assert TEXT.decode() in doc.markdown and doc.warnings == []
    (image,) = doc.images
    assert (image.ext, image.width, image.height) == ("png", SIDE, SIDE)
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.mode == "RGBA" and png.size == (SIDE, SIDE)
        alpha = png.getchannel("A")
        assert alpha.getpixel((0, 0)) < alpha.getpixel((SIDE - 1, SIDE - 1))  # the mask's gradient, scaled


@pytest.mark.parametrize("name", sorted(PNG_HOSTILE_IMAGES))
def test_cmyk_indexed_and_spot_images_with_masks_are_kept(name: str) -> None:
    doc = pdf_to_markdown(PNG_HOSTILE_IMAGES[name])
    assert TEXT.decode() in doc.markdown and doc.warnings == [], doc.warnings
    (image,) = doc.images
    assert image.ext == "png" and f"content_image/{image.name}" in doc.markdown
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.mode == "RGBA" and png.size == (SIDE, SIDE)


def test_undecodable_image_is_skipped_with_a_warning_and_counted() -> None:
    doc = pdf_to_markdown(mask_that_is_not_gray())
    assert TEXT.decode() in doc.markdown and doc.images == [] and "content_image" not in doc.markdown
    (warning,) = doc.warnings
    assert warning.startswith("an image on page 1 was skipped") and "FzErrorArgument" in warning
    assert doc.metadata["images_skipped"] == "1"


def test_page_tree_cycle_loses_only_the_pages_it_hides() -> None:
    """MuPDF loses the pages the cycle hides; poppler's pdftotext, the second engine, still reads page 2."""
    data = page_tree_cycle()
    doc = pdf_to_markdown(data)
    assert doc.markdown == "First page text survives the loop\n\nSecond page text\n"
    assert doc.page_count == 3 and doc.page_offsets == [0, 35, 51]
    assert [w.split(",")[0] for w in doc.warnings[:2]] == ["page 2 was skipped", "page 3 was skipped"]
    assert all("cycle in page tree" in w for w in doc.warnings[:2])
    assert doc.warnings[2].startswith("MuPDF could not read page(s) 2; their text was read with poppler's pdftotext")
    assert doc.metadata["pages_failed"] == "1" and doc.metadata["fallback_pages"] == "1"
    pages = list(render_pdf_pages(data, RenderOptions(dpi=20, fmt="png")))
    assert [p.index for p in pages] == [0, 1, 2]  # overall image i stays page i
    assert len({(p.width, p.height) for p in pages}) == 1


def test_page_count_that_raises_is_corrupt() -> None:
    with pytest.raises(ConversionError) as caught:
        pdf_to_markdown(negative_page_count())
    assert caught.value.reason == "corrupt" and "Invalid number of pages" in str(caught.value)


def test_failures_through_the_graph(tmp_path: Path) -> None:
    """All of the above as one batch: the damaged documents are converted with their signals and a render
    per page, the ones with nothing readable are quarantined as corrupt (never "error"), a MuPDF warning
    holding lone surrogates is stored as valid UTF-8, and every check passes. (Line and paragraph
    separators through the graph are covered by tests/test_robust.py.)"""
    source = tmp_path / "src"
    source.mkdir()
    (source / "mask_size.pdf").write_bytes(soft_mask_of_another_size())
    (source / "cmyk_mask.pdf").write_bytes(PNG_HOSTILE_IMAGES["cmyk_jpeg_with_mask"])
    (source / "grayless_mask.pdf").write_bytes(mask_that_is_not_gray())
    (source / "cycle.pdf").write_bytes(page_tree_cycle())
    (source / "negative_count.pdf").write_bytes(negative_page_count())
    (source / "surrogate_warning.pdf").write_bytes(warning_with_lone_surrogates())
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "pdferr", source, max_quarantine_rate=1.0)
        assert result.success
        checks = check_outcomes(result)
    assert checks and all(checks.values()), checks
    assert account_batch(storage, "pdferr").balanced
    quarantined = {r["source_uri"].rsplit("/", 1)[-1]: r for r in read_quarantine(storage, "pdferr").to_pylist()}
    assert {name: (r["stage"], r["reason"]) for name, r in quarantined.items()} == {
        "negative_count.pdf": ("parse", "corrupt"), "surrogate_warning.pdf": ("parse", "corrupt")}
    assert "'Caf\ufffd\ufffd'" in quarantined["surrogate_warning.pdf"]["message"]
    records = {r["meta"]["ori_meta"]["filename"]: r for r in read_records(storage)}
    assert set(records) == {"mask_size.pdf", "cmyk_mask.pdf", "grayless_mask.pdf", "cycle.pdf"}
    signals = {name: (r["quality_signals"]["images_skipped"], r["quality_signals"]["pages_failed"],
                      r["quality_signals"]["fallback_page_count"], len(r["content_image"]), len(r["overall_image"]))
               for name, r in records.items()}
    assert signals == {"mask_size.pdf": (0, 0, 0, 1, 1), "cmyk_mask.pdf": (0, 0, 0, 1, 1),
                       "grayless_mask.pdf": (1, 0, 0, 0, 1), "cycle.pdf": (0, 1, 1, 0, 3)}
    assert records["cycle.pdf"]["meta"]["ori_meta"]["pages_failed"] == "1"


def margin_lines_only() -> bytes:
    """A page whose only text is a small running title at the top and a page number at the foot (what a
    byte flip left of a paper page in the fuzz run)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 40), "Optimized Table Tokenization for Table Structure Recognition   9", fontsize=8)
    page.insert_text((300, 780), "9", fontsize=8)
    return doc.tobytes()


def test_margin_lines_that_are_all_the_text_are_kept() -> None:
    """Running headers and page numbers are dropped as boilerplate, unless nothing else is left: a page
    from which PyMuPDF extracts text must not come out empty."""
    doc = pdf_to_markdown(margin_lines_only())
    assert "Optimized Table Tokenization for Table Structure Recognition" in doc.markdown
