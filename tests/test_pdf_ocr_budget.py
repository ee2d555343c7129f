"""OCR's budget counts Tesseract's work (page reads), never seconds: the same document gives the same record on
any machine under any load, and ``doc_timeout_s`` only guards against a hung document.

Tesseract is replaced here by a reader that returns a real text layer's blocks (from pages made here) and
records every read it is asked for, so the tests show exactly which reads the budget allows, in
milliseconds, while the clock is made to jump an hour at every look.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pymupdf
import pytest
from pydantic import ValidationError

from pin_assets.core.convert import parse_document
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.ocr_settings import OcrSettings
from pin_assets.core.pdf.ocr import OcrRun, Reading, ocr_zoom, read_cost, render_pixels
from pin_assets.core.pdf.ocr import run as ocr_run
from resources.processing import ProcessingResource

TEXTS = ("The committee met on Tuesday and agreed the budget for the coming year.",
         "Members asked for a report on the state of the harbour walls before winter.",
         "The meeting closed at nine with thanks to the staff of the town library.")


def _layer_blocks(text: str) -> list[dict]:
    """A real text layer's blocks: what a reading of a page holding ``text`` looks like to the converter."""
    with pymupdf.open() as doc:
        page = doc.new_page()
        page.insert_text((72, 100), text, fontsize=11)
        return page.get_text("dict")["blocks"]


@pytest.fixture
def tessdata(tmp_path: Path) -> str:
    """A tessdata folder with only English in it (the fake reader never opens it)."""
    (tmp_path / "eng.traineddata").write_bytes(b"")
    return str(tmp_path)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, str]]:
    """Every read the run makes, as (page, angle, language); readings of confidence 0.7 (a text, but not a
    good reading), so each page goes on to try the other orientations."""
    calls: list[tuple[int, int, str]] = []

    def fake_ocr_page(page: pymupdf.Page, angle: int, language: str, zoom: float, tessdata: str) -> Reading:
        calls.append((page.number, angle, language))
        text = TEXTS[page.number]
        return Reading(_layer_blocks(text), page.rect.width, page.rect.height, angle, language, 0.7, text)

    monkeypatch.setattr(ocr_run, "ocr_page", fake_ocr_page)
    return calls


@pytest.fixture
def jumping_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every clock an hour later at each look: a budget in seconds would be spent before the first page."""
    ticks = itertools.count(start=1_000_000, step=3600)
    for name in ("monotonic", "perf_counter", "time"):
        monkeypatch.setattr(time, name, lambda: float(next(ticks)))


def _scan(pages: int, width: float = 612, height: float = 792, dpi: float = 10) -> bytes:
    """An image-only PDF of ``pages`` pages of ``width`` x ``height`` pt, each a grey raster of ``dpi``
    covering the page: a scan (coarse: the fake reader never looks at it)."""
    doc = pymupdf.open()
    for _ in range(pages):
        page = doc.new_page(width=width, height=height)
        pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, round(width * dpi / 72), round(height * dpi / 72)),
                             False)
        pix.clear_with(200)
        page.insert_image(page.rect, pixmap=pix)
    return doc.tobytes()


def test_the_read_budget_decides_which_reads_are_made(tessdata, reads, jumping_clock) -> None:
    run = OcrRun(OcrSettings(tessdata=tessdata, max_page_reads=6))
    with pymupdf.open("pdf", _scan(3)) as doc:
        got = [run.read(page, "scanned", "") for page in doc]
    # page 1: upright and the three other orientations (4 reads); page 2: upright and 180 degrees fit, 90 and
    # 270 do not (its best reading so far is kept); page 3: no read left, it stays unread
    assert reads == [(0, 0, "eng"), (0, 180, "eng"), (0, 90, "eng"), (0, 270, "eng"),
                     (1, 0, "eng"), (1, 180, "eng")]
    assert [r is not None for r in got] == [True, True, False]
    assert run.reads == 6 and run.skipped == [2]
    assert [p["page"] for p in run.pages] == [0, 1] and run.metadata()["ocr_page_reads"] == 6
    assert run.warnings == ["OCR stopped after 2 pages (6 page reads): the document's OCR budget (ocr_max_pages=200, "
                            "ocr_max_page_reads=6) is spent; pages from 3 on that need OCR are left unread"]


def test_a_try_in_several_languages_costs_one_read_each() -> None:
    assert [read_cost(lang) for lang in ("eng", "ara+eng", "ara+kor+jpn+heb+hin+chi_sim")] == [1, 2, 6]


def test_a_big_render_costs_one_read_per_four_megapixels() -> None:
    letter_200_dpi = round(8.5 * 200) * round(11 * 200)
    korean_report = 1700 * 2386  # corpus/pdf's normal_4pages: 8.5 x 11.9 in., 4.06 MP at 200 dpi
    tabloid = round(11 * 200) * round(17 * 200)
    assert [read_cost("eng", px) for px in (1, letter_200_dpi, korean_report, tabloid, 12_000_000)] == [1, 1, 1, 2, 3]
    assert read_cost("ara+eng", 12_000_000) == 6


# gnarly's newspaper_pg1: a 1182.8 x 1921.3 pt (16.4 x 26.7 in.) page covered by a 2497 x 4056 px scan
NEWSPAPER = (1182.79, 1921.26)


def test_a_big_scan_costs_its_pixels(tessdata, reads) -> None:
    """The newspaper page at 200 dpi would be 17.5 MP; it is read from 12 MP, which costs 3 reads of the
    budget, so a second orientation (3 more) does not fit in 5."""
    with pymupdf.open("pdf", _scan(1, *NEWSPAPER)) as doc:
        page = doc[0]
        assert 11_900_000 < render_pixels(page, ocr_zoom(page, 200)) <= 12_000_000
        run = OcrRun(OcrSettings(tessdata=tessdata, max_page_reads=5))
        assert run.read(page, "scanned", "") is not None
    assert reads == [(0, 0, "eng")] and run.reads == 3


def test_the_record_does_not_depend_on_the_clock_or_the_timeout(tessdata, reads, jumping_clock) -> None:
    data = _scan(3)
    ocr = OcrSettings(tessdata=tessdata, max_page_reads=5)
    hurried = parse_document(data, "pdf", DocumentLimits(timeout_s=0.001, ocr=ocr))
    patient = parse_document(data, "pdf", DocumentLimits(timeout_s=86_400, ocr=ocr))
    assert hurried.markdown == patient.markdown and hurried.metadata == patient.metadata
    assert TEXTS[0] in hurried.markdown and TEXTS[1] in hurried.markdown and TEXTS[2] not in hurried.markdown
    assert hurried.scanned_pages == [2]  # 4 reads, then 1, then none left
    assert len(reads) == 2 * 5


def test_the_read_budget_is_a_setting_checked_at_the_door() -> None:
    assert ProcessingResource(ocr_max_page_reads=7).limits().ocr.max_page_reads == 7
    assert ProcessingResource().limits().ocr == OcrSettings()  # the resource's default is the converter's
    for bad in (-1, 1_000_001):
        with pytest.raises(ValidationError, match="ocr_max_page_reads"):
            ProcessingResource(ocr_max_page_reads=bad)
