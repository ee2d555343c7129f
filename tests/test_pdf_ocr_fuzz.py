"""Hostile and fuzzed input for the OCR line joining and the ruled-picture grid: random pieces of lines (overlapping,
touching, stacked, empty) never raise and lose no word, and pictures of noise, solid ink, blank paper, slivers
and grids too fine to read never raise and never give more cells than the cap. Seeded, so a failure repeats."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pymupdf
import pytest

from pin_assets.core.pdf.image_tables import MAX_CELLS, ruled_cells
from pin_assets.core.pdf.ocr.pieces import _stray, rejoin_pieces

WORDS = ("by", "a", "of", "the", "sometimes", "force.", "Edgar's", "-", "7", "|", "administrative", "")


def _piece(x0: float, y0: float, words: list[str], size: float) -> dict:
    spans, x = [], x0
    for word in words:
        width = max(len(word), 1) * 0.5 * size
        spans.append({"text": word + " ", "bbox": (x, y0, x + width, y0 + size), "size": size,
                      "origin": (x, y0 + 0.8 * size)})
        x += width + 0.3 * size
    bbox = (x0, y0, max(x - 0.3 * size, x0 + 1), y0 + size)
    return {"type": 0, "bbox": bbox, "lines": [{"dir": (1.0, 0.0), "wmode": 0, "bbox": bbox, "spans": spans}]}


def _words(pieces: list[dict]) -> Counter:
    return Counter(w for p in pieces for line in p["lines"] for s in line["spans"] for w in s["text"].split())


@pytest.mark.parametrize("seed", range(40))
def test_rejoining_random_pieces_never_raises_and_keeps_every_word(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([6.0, 10.0, 13.0, 30.0])
    pieces = []
    for _ in range(rng.randrange(0, 60)):
        baseline = rng.choice([100.0, 100.5, 113.0, 126.0, rng.uniform(0, 800)])
        words = [rng.choice(WORDS) for _ in range(rng.randrange(1, 6))]
        pieces.append(_piece(rng.uniform(-20, 600), baseline, words, size * rng.choice([1.0, 1.0, 0.5, 2.0])))
    solid = [p for p in pieces if not _stray(p)]
    want = _words(solid)
    out = rejoin_pieces(pieces, word_gap=rng.choice([0.0, 3.0, 50.0]))
    got = _words(out)
    assert all(got[w] >= n for w, n in want.items()), (want - got)
    assert sum(got.values()) <= sum(_words(pieces).values())  # nothing written twice


def _picture_page(pixels: bytes, width: int, height: int) -> pymupdf.Page:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=400)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, width, height, pixels, False)
    page.insert_image(pymupdf.Rect(20, 20, 380, 380), pixmap=pix)
    return page


def _grid(width: int, height: int, step: int) -> bytes:
    return bytes(0 if (x % step == 0 or y % step == 0 or x == width - 1 or y == height - 1) else 255
                 for y in range(height) for x in range(width))


@pytest.mark.parametrize("kind", ["noise", "black", "white", "sliver", "fine_grid", "grid"])
def test_ruled_cells_of_hostile_pictures(kind: str) -> None:
    rng = random.Random(kind)
    width, height = (300, 2) if kind == "sliver" else (300, 300)
    pixels = {"noise": lambda: bytes(rng.randrange(256) for _ in range(width * height)),
              "black": lambda: bytes(width * height), "white": lambda: b"\xff" * (width * height),
              "sliver": lambda: bytes(width * height), "fine_grid": lambda: _grid(width, height, 4),
              "grid": lambda: _grid(width, height, 100)}[kind]()
    page = _picture_page(pixels, width, height)
    cells = ruled_cells(page, pymupdf.Rect(20, 20, 380, 380), 200 / 72)
    assert len(cells) <= MAX_CELLS
    if kind in ("noise", "black", "white", "sliver", "fine_grid"):
        assert cells == []  # no grid, or one too fine to read cell by cell
    else:
        assert len(cells) == 9 and all(rect in pymupdf.Rect(20, 20, 380, 380) for *_, rect in cells)


@pytest.mark.parametrize("kind", ["noise", "black", "tiny", "slide_of_noise"])
def test_hostile_scans_and_slides_convert_with_ocr_on(kind: str) -> None:
    """Whole-page OCR (columns, pictures on the scan, line joining) and picture reading on pages of noise,
    solid ink, a 2 x 2 px scan and a slide whose only picture is noise: the document converts, nothing raises."""
    from pin_assets.core.ocr_settings import DEBIAN_TESSDATA, OcrSettings
    from pin_assets.core.pdf import pdf_to_markdown

    if not (Path(DEBIAN_TESSDATA) / "eng.traineddata").is_file():
        pytest.skip("Tesseract's eng.traineddata is not installed")
    rng = random.Random(kind)
    side = 2 if kind == "tiny" else 120
    pixels = bytes(side * side) if kind == "black" else bytes(rng.randrange(256) for _ in range(side * side))
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=200)
    page.insert_image(page.rect if kind != "slide_of_noise" else pymupdf.Rect(20, 40, 180, 180),
                      pixmap=pymupdf.Pixmap(pymupdf.csGRAY, side, side, pixels, False))
    if kind == "slide_of_noise":
        page.insert_text((20, 30), "Quarterly figures", fontsize=12)
    parsed = pdf_to_markdown(doc.tobytes(), ocr=OcrSettings())
    assert isinstance(parsed.markdown, str) and parsed.page_count == 1
    if kind == "slide_of_noise":
        assert "Quarterly figures" in parsed.markdown
