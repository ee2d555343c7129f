"""Pictures on scanned pages: cropped from the scan as content images, the words Tesseract reads in them dropped,
and no picture found on scans of text alone. Real pages (tests/fixtures/gnarly-pages, see its PROVENANCE.md),
rasterized here into image-only PDFs as a scanner would give them."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from pin_assets.core.ocr_settings import DEBIAN_TESSDATA, OcrSettings
from pin_assets.core.pdf import pdf_to_markdown
from pin_assets.core.pdf.images import image_placements
from pin_assets.core.pdf.layout import LayoutRun
from pin_assets.core.pdf.scan_pictures import scan_pictures
from tests.conftest import corpus_dir
from tests.test_pdf_ocr import scanned_copy

GNARLY_PAGES = Path(__file__).parent / "fixtures" / "gnarly-pages"
OCR = OcrSettings(enabled=True)


def _scan(name: str, dpi: int) -> bytes:
    with pymupdf.open(GNARLY_PAGES / name) as doc:
        return scanned_copy(doc, dpi)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes."""
    inter = pymupdf.Rect(a) & pymupdf.Rect(b)
    if inter.is_empty:
        return 0.0
    union = pymupdf.Rect(a).get_area() + pymupdf.Rect(b).get_area() - inter.get_area()
    return inter.get_area() / union


def test_the_picture_of_a_scanned_page_is_cropped_where_the_original_drew_it() -> None:
    """The Wikipedia page's portrait (an embedded image at 378,181-543,332 in the original) is found on a
    100-dpi scan of the page, and nothing else is: not the small logo, not the text column or the infobox."""
    with pymupdf.open(GNARLY_PAGES / "edgar_pg1.pdf") as original:
        drawn = max(image_placements(original[0]), key=lambda p: p["width"] * p["height"])["bbox"]
    with pymupdf.open(stream=_scan("edgar_pg1.pdf", 100), filetype="pdf") as doc:
        page = doc[0]
        scan = image_placements(page)[0]
        pictures, _ = scan_pictures(page, scan, [], [])
    assert len(pictures) == 1
    crop = pictures[0]
    assert _overlap((crop.x0, crop.y0, crop.x1, crop.y1), drawn) >= 0.8, (crop, drawn)
    assert crop.image["zoom"] == pytest.approx(100 / 72, abs=0.01)  # cropped at the scan's own resolution


@pytest.mark.skipif(not Path(DEBIAN_TESSDATA, "eng.traineddata").is_file(), reason="no English tessdata")
def test_a_scanned_page_keeps_its_picture_and_its_text_without_the_picture_s_fragments() -> None:
    """Converted with OCR, the scan's portrait is a content image placed beside its infobox, the page's prose
    is read, and none of the one- or two-letter fragments Tesseract reads in the portrait is a paragraph."""
    doc = pdf_to_markdown(_scan("edgar_pg1.pdf", 100), ocr=OCR)
    assert doc.metadata["ocr_pages"][0]["reason"] == "scanned"
    assert len(doc.images) == 1 and doc.markdown.count("![](content_image/") == 1
    image = doc.images[0]
    assert abs(image.width - round(165 * 100 / 72)) <= 20 and abs(image.height - round(151 * 100 / 72)) <= 20
    text = " ".join(doc.markdown.split())
    assert "mainly followed the political policies of his predecessors" in text, doc.markdown
    paragraphs = [p.strip() for p in doc.markdown.split("\n\n") if p.strip() and not p.startswith(("![", "|"))]
    stray = [p for p in paragraphs if sum(c.isalnum() for c in p) <= 3]
    assert not stray, stray


@pytest.mark.parametrize("name", ["failing_anchor_pg4_pg4.pdf", "lots_of_sci_tables_pg1.pdf",
                                  "guidebook_failed_pages_pg3.pdf"])
def test_a_scan_of_text_alone_has_no_picture(name: str) -> None:
    """A dense journal page, a ruled certificate table and a two-column index, scanned: no picture over the
    text, its columns or its table."""
    with pymupdf.open(stream=_scan(name, 150), filetype="pdf") as doc:
        page = doc[0]
        pictures, _ = scan_pictures(page, image_placements(page)[0], [], [])
    assert pictures == []


def test_line_art_the_layout_model_boxes_is_cropped_to_its_ink() -> None:
    """A bar chart of flat colours and a map (corpus/pdf's picture_classification, both embedded images in the
    original) have too few varied mid-tones to be found by their tones; on a 150-dpi scan the layout model's
    figure regions, drawn over well beyond their text, are cropped to the ink where the originals were drawn."""
    with pymupdf.open(corpus_dir("pdf") / "picture_classification.pdf") as original:
        drawn = [image_placements(page)[0]["bbox"] for page in original]
        scans = scanned_copy(original, 150)
    layout = LayoutRun()
    with pymupdf.open(stream=scans, filetype="pdf") as doc:
        for page, box in zip(doc, drawn, strict=True):
            regions = layout.regions(page)
            pictures, _ = scan_pictures(page, image_placements(page)[0], [], [], regions)
            assert len(pictures) == 1, (page.number, pictures, regions)
            crop = pictures[0]
            assert _overlap((crop.x0, crop.y0, crop.x1, crop.y1), box) >= 0.8, (page.number, crop, box)
