"""OCR of PDF pages without a readable text layer, on scanned copies of real corpus PDFs (every page
rasterized into an image-only PDF: the original's text layer is the expected text), docling's OCR test
page upright and turned, and pages generated here: an invisible garbage text layer, text drawn as vector
outlines, a font without a ToUnicode map. OCR costs 1-3 s a page, so each test OCRs one or two pages."""

from __future__ import annotations

import difflib
import importlib.util
from functools import cache
from pathlib import Path

import pymupdf
import pytest

from pin_assets.core.convert import parse_document
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.ocr_settings import DEBIAN_TESSDATA, OcrSettings
from pin_assets.core.pdf import pdf_to_markdown
from pin_assets.core.pdf.readability import readability
from pin_assets.core.record import document_ori_meta
from pin_assets.core.signals import compute_signals
from pin_assets.core.sources.listing import SAMPLE_PDF_DIR as BUNDLED
from pin_assets.core.tokenizer import WordPunctTokenizer
from tests.conftest import SHARED_CORPUS

SHARED_PDF = SHARED_CORPUS / "pdf"
PDF_DIR = SHARED_PDF if SHARED_PDF.is_dir() else BUNDLED
OCR_DIR = SHARED_CORPUS / "ocr"
SCORER = SHARED_CORPUS.parent / "tools" / "score_md.py"
OCR = OcrSettings()

pytestmark = pytest.mark.skipif(
    not (Path(DEBIAN_TESSDATA) / "eng.traineddata").is_file(),
    reason="Tesseract's eng.traineddata is not installed (Debian package tesseract-ocr-eng)",
)


@cache
def scorer():
    """The shared scorer's normalisation, so similarity here is the one the closing note reports."""
    if not SCORER.exists():
        pytest.skip("the shared scorer is not available")
    spec = importlib.util.spec_from_file_location("score_md", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def similarity(want: str, got: str) -> float:
    norm = scorer().norm
    return difflib.SequenceMatcher(None, norm(want).split(), norm(got).split(), autojunk=False).ratio()


def scanned_copy(doc: pymupdf.Document, dpi: int = 150) -> bytes:
    """Every page rasterized (grey, as a scanner gives it) into an image-only PDF of the same page size."""
    out = pymupdf.open()
    for page in doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        copy = out.new_page(width=page.rect.width, height=page.rect.height)
        copy.insert_image(copy.rect, stream=pix.tobytes("png"))
    return out.tobytes()


@pytest.mark.parametrize("name", ["2305.03393v1-pg9", "amt_handbook_sample"])
def test_scanned_copy_reads_like_the_original(name: str) -> None:
    original = pymupdf.open(PDF_DIR / f"{name}.pdf")
    want = "\n".join(page.get_text() for page in original)
    without = pdf_to_markdown(scanned_copy(original))
    assert without.scanned_pages == list(range(original.page_count)) and not without.metadata.get("ocr_pages")
    doc = pdf_to_markdown(scanned_copy(original), ocr=OCR)
    assert similarity(want, doc.markdown) >= 0.75, (name, similarity(want, doc.markdown))
    assert doc.scanned_pages == [] and not any("scanned" in w for w in doc.warnings), doc.warnings
    pages = doc.metadata["ocr_pages"]
    assert [p["page"] for p in pages] == list(range(original.page_count))
    assert all(p["reason"] == "scanned" and p["rotation"] == 0 and p["confidence"] >= 0.75 for p in pages)
    # the scan itself is not a content image once its text is read; the figures seen on it are (scan_pictures.py)
    figures = {"2305.03393v1-pg9": [], "amt_handbook_sample": ["Figure 7-26. Self-locking nuts.",
                                                               "Figure 7-27. Stainless steel self-locking nut."]}
    assert [image.caption for image in doc.images] == figures[name], doc.images


def test_ocr_headings_come_from_box_sizes() -> None:
    source = pymupdf.open()
    page = source.new_page()
    page.insert_text((72, 100), "Annual Report", fontsize=20)
    body = ("Revenue grew in every region this year and margins improved as costs fell. "
            "The board thanks all staff for their work during a difficult period.")
    page.insert_textbox(pymupdf.Rect(72, 140, 520, 400), body, fontsize=11)
    doc = pdf_to_markdown(scanned_copy(source, dpi=200), ocr=OCR)
    assert doc.markdown.startswith("# Annual Report\n\n"), doc.markdown
    assert similarity(body, doc.markdown.split("\n\n", 1)[1]) >= 0.9
    assert "```" not in doc.markdown  # Tesseract's monospaced glyph-less font does not make code blocks


@pytest.mark.parametrize(("name", "rotation"), [("ocr_test", 0), ("ocr_test_rotated_90", 90),
                                                ("ocr_test_rotated_180", 180)])
def test_docling_ocr_page_upright_and_turned(name: str, rotation: int) -> None:
    path = OCR_DIR / f"{name}.pdf"
    if not path.exists():
        pytest.skip("the OCR corpus is only in the shared corpus")
    doc = pdf_to_markdown(path.read_bytes(), ocr=OCR)
    want = (OCR_DIR / f"{name}.expected.md").read_text()
    assert similarity(want, doc.markdown) >= 0.95, doc.markdown
    assert [(p["page"], p["rotation"]) for p in doc.metadata["ocr_pages"]] == [(0, rotation)]


def test_invisible_garbage_layer_is_replaced_and_a_good_one_kept() -> None:
    source = pymupdf.open()
    page = source.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 300), "Invoices are due within thirty days of delivery, "
                        "and late payments carry interest at the statutory rate.", fontsize=14)
    scan = pymupdf.open("pdf", scanned_copy(source, dpi=200))
    garbage = "eseyoed peulejuod jjes UMOpyJeP PUe 4qG_d s98)puNng 8uljD0q O] UOISISAUOD"
    scan[0].insert_text((72, 90), garbage, fontsize=14, render_mode=3)
    doc = pdf_to_markdown(scan.tobytes(), ocr=OCR)
    assert "invoices are due within thirty days" in scorer().norm(doc.markdown)
    assert "UMOpyJeP" not in doc.markdown
    assert doc.metadata["ocr_pages"][0]["reason"] == "invisible_text"

    good = pymupdf.open("pdf", scanned_copy(source, dpi=72))  # a proper OCR layer (here: the true text)
    good[0].insert_text((72, 90), "Invoices are due within thirty days of delivery.", fontsize=14, render_mode=3)
    kept = pdf_to_markdown(good.tobytes(), ocr=OCR)
    assert "Invoices are due within thirty days of delivery." in kept.markdown
    assert "ocr_pages" not in kept.metadata


def test_text_drawn_as_vector_outlines_is_read() -> None:
    source = pymupdf.open()
    page = source.new_page()
    text = ("This paragraph was drawn as vector outlines, so the page has no text layer at all. "
            "Optical character recognition reads it back from the rendered page.")
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 400), text, fontsize=14)
    svg = pymupdf.open("svg", page.get_svg_image(text_as_path=True).encode())
    outlined = svg.convert_to_pdf()
    assert pymupdf.open("pdf", outlined)[0].get_text().strip() == ""
    without_ocr = pdf_to_markdown(outlined).markdown.strip()  # what is drawn is kept, as a picture of it
    assert without_ocr.startswith("![](content_image/") and "\n" not in without_ocr, without_ocr
    doc = pdf_to_markdown(outlined, ocr=OCR)
    assert "content_image" not in doc.markdown  # read as text, not also kept as a figure
    assert similarity(text, doc.markdown) >= 0.9, doc.markdown
    assert doc.metadata["ocr_pages"][0]["reason"] == "vector_text"


def test_font_without_tounicode_is_read_by_ocr() -> None:
    """A CID font stripped of its ToUnicode map: MuPDF reports glyph numbers, which read as garbage."""
    source = pymupdf.open()
    page = source.new_page()
    page.insert_font(fontname="F0", fontbuffer=pymupdf.Font("cjk").buffer)
    page.insert_text((72, 100), "Quarterly results were strong in every region.", fontname="F0", fontsize=16)
    for xref in range(1, source.xref_length()):
        if source.xref_get_key(xref, "ToUnicode")[0] != "null":
            source.xref_set_key(xref, "ToUnicode", "null")
    data = source.tobytes()
    assert "Quarterly" not in pdf_to_markdown(data).markdown
    doc = pdf_to_markdown(data, ocr=OCR)
    assert "Quarterly results were strong in every region." in doc.markdown
    assert doc.metadata["ocr_pages"][0]["reason"] == "unmapped_glyphs"


def test_text_pages_are_not_ocrd() -> None:
    data = (PDF_DIR / "multi_page.pdf").read_bytes()
    with_ocr, without = pdf_to_markdown(data, ocr=OCR), pdf_to_markdown(data)
    assert with_ocr.markdown == without.markdown and "ocr_pages" not in with_ocr.metadata


def test_missing_tessdata_turns_ocr_off_with_one_warning(tmp_path: Path) -> None:
    source = pymupdf.open()
    for _ in range(2):
        source.new_page().insert_text((72, 100), "A scanned page of text.", fontsize=20)
    data = scanned_copy(source)
    doc = pdf_to_markdown(data, ocr=OcrSettings(tessdata=str(tmp_path)))
    off = [w for w in doc.warnings if w.startswith("OCR is off")]
    assert len(off) == 1 and str(tmp_path) in off[0] and "tesseract-ocr-eng" in off[0]
    assert doc.scanned_pages == [0, 1] and "ocr_pages" not in doc.metadata
    assert any("no OCR was run" in w for w in doc.warnings)


def test_ocr_page_budget_leaves_the_rest_scanned() -> None:
    source = pymupdf.open()
    for word in ("First", "Second"):
        source.new_page().insert_text((72, 100), f"{word} page of the scanned report.", fontsize=20)
    doc = pdf_to_markdown(scanned_copy(source), ocr=OcrSettings(max_pages=1))
    assert [p["page"] for p in doc.metadata["ocr_pages"]] == [0] and doc.scanned_pages == [1]
    assert "First page of the scanned report." in doc.markdown
    assert any("OCR stopped after 1 pages" in w for w in doc.warnings)


def test_ocr_pages_reach_ori_meta_and_signals() -> None:
    path = OCR_DIR / "ocr_test.pdf"
    data = path.read_bytes() if path.exists() else scanned_copy(pymupdf.open(PDF_DIR / "amt_handbook_sample.pdf"))
    parsed = parse_document(data, "pdf", DocumentLimits())
    meta = document_ori_meta(source_uri="file:///x.pdf", filename="x.pdf", title=parsed.title,
                             page_count=parsed.page_count, page_offsets=parsed.page_offsets,
                             scanned_pages=parsed.scanned_pages, metadata=parsed.metadata)
    assert [p["page"] for p in meta["ocr_pages"]] == [0] and meta["scanned_pages"] == []
    assert 0.75 <= meta["ocr_confidence"] <= 1.0
    row = compute_signals(parsed.markdown, [], WordPunctTokenizer(), page_count=parsed.page_count,
                          scanned_pages=len(parsed.scanned_pages), ocr_pages=len(meta["ocr_pages"]))
    assert row["ocr_page_count"] == 1 and row["scanned_page_count"] == 0
    off = parse_document(data, "pdf", DocumentLimits(ocr=OcrSettings(enabled=False)), None)
    assert off.scanned_pages == [0] and "ocr_pages" not in off.metadata


def test_readability_tells_text_from_misreadings() -> None:
    assert readability("Docling bundles PDF document conversion to JSON and Markdown.") >= 0.9
    assert readability("数据工厂是一个把文档转换为训练数据的系统。") >= 0.9
    assert readability("مرحبا بكم في المصنع") >= 0.9
    assert readability("eseyoed peulejuod jjes Aseo ue Ul UMOpyJeP PUe NOS/ O] UOISISAUOD 4qG_d") < 0.6
    assert readability("SUR LS—MERARRAWAREHAR, CiZRMM AMEN , EMRFS BRIRAVIAREVAR") < 0.6
    assert readability("ome) ~ oO cc os Qe oOo = O oS OH © 2 5OG OOo£ lec a 8 o~= CcSa") < 0.6
    assert readability("") == 0.0


def test_auto_language_reads_a_chinese_scan() -> None:
    if not (Path(DEBIAN_TESSDATA) / "chi_sim.traineddata").is_file():
        pytest.skip("chi_sim.traineddata is not installed (Debian package tesseract-ocr-chi-sim)")
    source = pymupdf.open()
    page = source.new_page()
    text = "数据工厂把文档转换为训练数据。它读取网页和论文，提取文字与图片，并按照阅读顺序排列。"
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 200), text, fontname="china-s", fontsize=16)
    doc = pdf_to_markdown(scanned_copy(source, dpi=200), ocr=OCR)
    got = "".join(doc.markdown.split())
    assert difflib.SequenceMatcher(None, text, got, autojunk=False).ratio() >= 0.9, got
    assert doc.metadata["ocr_pages"][0]["language"] == "chi_sim"


def test_scanned_pdf_through_the_graph_has_ocr_in_its_record(tmp_path: Path) -> None:
    """The parse stage OCRs with ProcessingResource's settings; the record's ori_meta lists the page
    and the quality signals count it."""
    from dagster import DagsterInstance

    from resources import StorageResource
    from tests.pipeline_support import read_records, run_batch

    source = tmp_path / "scans"
    source.mkdir()
    text = pymupdf.open()
    text.new_page().insert_textbox(pymupdf.Rect(72, 72, 520, 300), "Shipping terms: goods travel at the "
                                   "buyer's risk once they leave the warehouse.", fontsize=16)
    (source / "scan.pdf").write_bytes(scanned_copy(text, dpi=200))
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        assert run_batch(instance, storage, "scans", source, workers=1).success
    [record] = read_records(storage)
    meta = record["meta"]["ori_meta"]
    assert "goods travel at the buyer's risk" in record["md"]
    assert [p["page"] for p in meta["ocr_pages"]] == [0] and meta["scanned_pages"] == []
    assert meta["ocr_confidence"] >= 0.75
    assert record["quality_signals"]["ocr_page_count"] == 1
    assert record["quality_signals"]["scanned_page_count"] == 0


def test_arabic_text_layer_is_kept_with_ocr_on() -> None:
    """An Arabic layer whose lam ligatures MuPDF maps to stray Latin letters and a control code reads oddly
    to the readability check (0.32, 2.7% unmapped), which once had English OCR replace it with Latin
    fragments. A layer in a script the check does not judge is kept unless it is mostly unmapped glyphs."""
    source = pymupdf.open()
    page = source.new_page()
    page.insert_htmlbox(pymupdf.Rect(72, 72, 520, 300), "<p dir='rtl' style='font-size:16px'>السلام عليكم "
                        "والإسلام الكلام الجميل للأطفال</p>")
    layer = page.get_text()
    assert readability(layer) < 0.5 and "\x0c" in layer  # what made it look like garbage
    doc = pdf_to_markdown(source.tobytes(), ocr=OCR)
    assert "ocr_pages" not in doc.metadata
    assert sum("\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff" for c in doc.markdown) >= 20, doc.markdown


def test_scanned_two_column_page_reads_in_order_and_in_paragraphs() -> None:
    """A scanned copy of a two-column page: OCR'd words go through the text layer's row, column and
    paragraph logic, so the column that runs on into the next is one paragraph, read column by column."""
    from tests.test_pdf_flow import COLUMNS, FONT, LEAD, SIZE, full_line, wrapped

    width = COLUMNS[0][1] - COLUMNS[0][0]
    source = pymupdf.open()
    page = source.new_page()
    left = wrapped("Harvest reports from the northern farms arrived late this year because heavy rain closed "
                   "the roads for most of the autumn and the carriers could not reach the valleys", width)
    left[-1] = full_line(left[-1], "until", width)
    right = wrapped("the middle of November. Prices at the market stayed high all winter as a result.", width)
    second = wrapped("Fishing boats along the coast had a quiet season with calm seas and modest catches.", width)
    for column, lines, top in ((0, left, 80), (1, right, 80), (1, second, 80 + LEAD * (len(right) + 1))):
        for k, line in enumerate(lines):
            page.insert_text((COLUMNS[column][0], top + k * LEAD), line, fontname=FONT, fontsize=SIZE)
    doc = pdf_to_markdown(scanned_copy(source, dpi=200), ocr=OCR)
    norm = scorer().norm
    paragraphs = [norm(p) for p in doc.markdown.split("\n\n") if p.strip()]
    assert len(paragraphs) == 2, doc.markdown
    assert similarity(" ".join(left + right), doc.markdown.split("\n\n")[0]) >= 0.9, doc.markdown
    assert paragraphs[0].startswith("harvest reports") and paragraphs[1].startswith("fishing boats"), doc.markdown


GNARLY_PAGES = Path(__file__).parent / "fixtures" / "gnarly-pages"


def test_ocr_drops_words_invented_between_lines_and_keeps_word_spaces() -> None:
    """A real two-column paper whose letter-shifted text layer is OCR'd (gnarly's olmo page, see the
    fixture's PROVENANCE.md): Tesseract reads "Serena" and "was" into the white between two lines of the
    abstract and a lone "2" half a line off a sentence; they are dropped, so the sentences read through.
    The proceedings footer under the page number is furniture, and the abstract's first sentence, its
    column read alone, runs across the line end ("ubiqui-" / "tous")."""
    doc = pdf_to_markdown((GNARLY_PAGES / "olmo-page-1_pg1.pdf").read_bytes(), ocr=OCR)
    assert doc.metadata["ocr_pages"][0]["reason"] == "shifted_glyphs"
    text = " ".join(doc.markdown.split())
    assert "in both NLP research and in commercial product offerings." in text, doc.markdown
    assert "We believe that full access to open language models for the research community" in text, doc.markdown
    assert "Serena" not in text and "Meeting of the" not in text, doc.markdown  # the footer under the page number
    assert "Language models (LMs) have become ubiquitous in both NLP research" in text, doc.markdown


def test_a_two_column_page_is_read_column_by_column() -> None:
    """A real two-column paper OCR'd whole (gnarly's large_prompt_hint3 page, see the fixture's
    PROVENANCE.md). MuPDF has Tesseract read a render as one block, so a line of the left column and the
    line beside it in the right column were read as one line, garbled where their baselines drift apart
    ("feeatan ee System aaa"); each column is now read alone, for the page's one read. Words that meet
    without a gap MuPDF sees as a space are spaced ("itcan", "ona" read as one block)."""
    doc = pdf_to_markdown((GNARLY_PAGES / "large_prompt_hint3_pg1.pdf").read_bytes(), ocr=OCR)
    assert doc.metadata["ocr_pages"][0]["reason"] == "tiny_fonts" and doc.metadata["ocr_page_reads"] == 1
    text = " ".join(doc.markdown.split())
    for sentence in ("translation. The system matches the student response against the original prompt",
                     "CALL-SLT uses a similar basic strategy, though many of the details are different",
                     "Open Source CALL system based on the “translation game” idea of Wang and Seneff",
                     "CALL-SLT is an Open Source", "it can also be deployed on a mobile platform"):
        assert sentence in text, doc.markdown
    assert "feeatan" not in text, doc.markdown
    assert text.index("idea of Wang and Seneff [5]") < text.index("[6] to build"), doc.markdown


def test_ocr_lines_stay_whole_where_a_justified_scan_stretches_them() -> None:
    """A real 96-dpi scan of a Wikipedia page (gnarly's edgar_image page, see the fixture's PROVENANCE.md):
    its justified lines stretch their spaces wider than the cut between columns, and Tesseract ends one
    line early and writes its rest ("for over a") as a line of its own overlapping it, beside the infobox.
    The lines stay whole, so "by" and "of" are not dropped as strays and "for over a" is no cell of the
    infobox, which is still a table beside them."""
    doc = pdf_to_markdown((GNARLY_PAGES / "edgar_image_pg1.pdf").read_bytes(), ocr=OCR)
    assert doc.metadata["ocr_pages"][0]["reason"] == "scanned"
    paragraphs = [" ".join(p.split()) for p in doc.markdown.split("\n\n")]
    prose = [p for p in paragraphs if not p.startswith("|")]
    for words in ("England had suffered from Viking invasions for over a century", "sometimes by force.",
                  "Bishop of Winchester. Monasteries"):
        assert any(words in p for p in prose), doc.markdown
    assert not any("for over a" in p for p in paragraphs if p.startswith("|")), doc.markdown
    assert any("| Predecessor | Eadwig |" in p for p in paragraphs), doc.markdown


def _hangul(text: str) -> int:
    return sum("\uac00" <= c <= "\ud7af" for c in text)


def test_a_korean_scan_is_read_in_korean_and_its_next_page_starts_there() -> None:
    """A scanned Korean document without a text layer: English reads no text, the try in every installed
    script finds Hangul (with Hebrew, Devanagari or Arabic letters sprinkled through it), so the page is
    read again in ``kor+eng``; the next page starts in Korean and costs 2 reads, not the search again.
    Its words are spaced: Tesseract's gaps between syllables are told from its word spaces."""
    if not (Path(DEBIAN_TESSDATA) / "kor.traineddata").is_file():
        pytest.skip("kor.traineddata is not installed (Debian package tesseract-ocr-kor)")
    text = ("국회입법조사처는 국회의 입법 활동을 지원하기 위하여 법률안과 정책에 관한 조사와 분석을 합니다. 보고서는 "
            "누구나 읽을 수 있도록 누리집에 공개되며, 의원과 위원회의 요청에 따라 작성됩니다. 코로나 관련 보험약관의 "
            "문제점과 개선 과제를 살펴보고 그에 따른 방안을 제시하였습니다.")
    sentences = text.split(". ")
    source = pymupdf.open()
    for page_text in (text, ". ".join(sentences[1:] + sentences[:1])):  # not the same lines: no running head
        source.new_page().insert_textbox(pymupdf.Rect(72, 72, 520, 400), page_text, fontname="korea", fontsize=16)
    doc = pdf_to_markdown(scanned_copy(source, dpi=200), ocr=OCR)
    pages = doc.metadata["ocr_pages"]
    assert [p["language"] for p in pages] == ["kor+eng", "kor+eng"], pages
    got = "".join(doc.markdown.split())
    assert _hangul(got) >= 0.8 * 2 * _hangul(text), doc.markdown
    assert not any("\u0590" <= c <= "\u06ff" or "\u0900" <= c <= "\u097f" for c in got), doc.markdown
    words = {w.strip(".,") for w in text.split()}  # Korean is written with spaces between words
    read = {w.strip(".,") for w in doc.markdown.split()}
    assert len(words & read) >= 0.6 * len(words), doc.markdown  # 4 of its 35 words with MuPDF's spaces alone
    # page 1: English, Chinese, three orientations, every other script (5), kor+eng (2); page 2: kor+eng
    assert doc.metadata["ocr_page_reads"] == 12 + 2, doc.metadata


def test_an_arabic_scan_is_read_in_arabic() -> None:
    """A scanned Arabic page: English Tesseract reads it as Latin fragments that pass for words ("Gye Jag
    sla", readability about 0.7), so the other scripts are tried and the page comes back in Arabic."""
    if not (Path(DEBIAN_TESSDATA) / "ara.traineddata").is_file():
        pytest.skip("ara.traineddata is not installed (Debian package tesseract-ocr-ara)")
    source = pymupdf.open()
    source.new_page().insert_htmlbox(pymupdf.Rect(72, 72, 520, 400), "<p dir='rtl' style='font-size:18px'>"
                                     "تعتبر البرمجة من الأدوات القوية التي يمكن أن تعزز الإنتاجية وتساعد في "
                                     "إيجاد حلول فعالة للمشكلات في العمل اليومي. يمتلك كل من هذه الأدوات ميزات "
                                     "فريدة تجعلها مثالية لتحليل البيانات وبناء التطبيقات، ويستخدمها الباحثون "
                                     "والطلاب في مختلف المجالات.</p>")
    doc = pdf_to_markdown(scanned_copy(source, dpi=200), ocr=OCR)
    assert doc.metadata["ocr_pages"][0]["language"] == "ara+eng", doc.metadata
    arabic = sum("\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff" for c in doc.markdown)
    assert arabic >= 60 and "إيجاد حلول" in doc.markdown, doc.markdown


def test_an_arabic_line_with_latin_words_reads_right_to_left() -> None:
    """A scanned copy of a real Arabic page (corpus right_to_left_01, also bundled as a sample): MuPDF gives
    the line "للمشكلات. يمتلك كل من R و Python ميزات" of the OCR reading left to right, so it came out
    letter by letter reversed ("نم لك كلتمي .تالكشملل"); it is read right to left by the characters' boxes."""
    if not (Path(DEBIAN_TESSDATA) / "ara.traineddata").is_file():
        pytest.skip("ara.traineddata is not installed (Debian package tesseract-ocr-ara)")
    original = pymupdf.open(PDF_DIR / "right_to_left_01.pdf")
    original.select([0])
    doc = pdf_to_markdown(scanned_copy(original), ocr=OcrSettings(languages="ara+eng"))
    text = " ".join(doc.markdown.split())
    assert "للمشكلات. يمتلك كل من" in text and "كلتمي" not in text, doc.markdown


def test_a_table_pictured_with_its_rulings_is_read_cell_by_cell() -> None:
    """A real slide whose table is a picture ruled on every side (gnarly's slideshow page 38, see the
    fixtures' PROVENANCE.md): read whole, Tesseract ran the lines of two cells together ("ALTULN
    5totimesless") and lost the shaded header; read cell by cell inside the grid its pixels show, the
    table is the page's, for one read. A diagram of framed boxes (gnarly's ambiguous page) is no grid."""
    from pin_assets.core.pdf.image_tables import ruled_cells

    doc = pdf_to_markdown((GNARLY_PAGES / "slideshow_mostly_images_pg38.pdf").read_bytes(), ocr=OCR)
    assert doc.metadata["ocr_page_reads"] == 1, doc.metadata
    for row in ("| Instead of | Consider |",
                "| ALT greater than 3 times ULN to less than or equal to ALT 5 times ULN | ALT > 3 times ULN to",
                "| CrCl 30 mL per minute to 50 mL per minute | CrCl 30 mL/minute to 50 mL/minute |"):
        assert row in doc.markdown, doc.markdown
    with pymupdf.open(GNARLY_PAGES / "ambiguous_pg1.pdf") as diagram:
        page = diagram[0]
        boxes = [pymupdf.Rect(info["bbox"]) for info in page.get_image_info()]
        assert boxes and all(ruled_cells(page, box, OCR.dpi / 72) == [] for box in boxes)


def test_text_inside_pictures_of_a_page_with_a_small_layer_is_read() -> None:
    """Real pages whose text layer holds only a title (gnarly's ambiguous and treasurer-report pages, see
    the fixtures' PROVENANCE.md): the diagram's boxes and the report's tables are images. Each large
    picture is read within the read budget, its words follow its content image, a grid of label and
    number comes out as a table, and the layer's own lines (a footer) are kept as they were."""
    doc = pdf_to_markdown((GNARLY_PAGES / "ambiguous_pg1.pdf").read_bytes(), ocr=OCR)
    text = " ".join(doc.markdown.split())
    assert [p["reason"] for p in doc.metadata["ocr_pages"]] == ["picture_text"], doc.metadata
    for words in ("Read this first", "Greek Yogurt", "Apples and Bananas"):
        assert words in text, doc.markdown
    assert text.index("Hello") < text.index("](content_image") < text.index("Greek Yogurt"), doc.markdown
    doc = pdf_to_markdown((GNARLY_PAGES / "slideshow_mostly_good_some_pages_should_get_filtered_pg15.pdf")
                          .read_bytes(), ocr=OCR)
    assert doc.metadata["ocr_page_reads"] == 2, doc.metadata
    assert "| Donations | 400 |" in doc.markdown and "| Fundraising & grants | 8,710 |" in doc.markdown, doc.markdown
    assert "Treasurer's Cumulative Report - Summary" in doc.markdown, doc.markdown  # a dash between words is text
    off = pdf_to_markdown((GNARLY_PAGES / "ambiguous_pg1.pdf").read_bytes(), ocr=OcrSettings(enabled=False))
    assert "Greek Yogurt" not in off.markdown and "ocr_pages" not in off.metadata
