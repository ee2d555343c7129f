"""PDF text beyond plain horizontal Latin lines: rotated lines and pages, Chinese and Japanese joining,
emphasis that CommonMark reads as emphasis, and headings that need more than bold.

Every document is generated here with PyMuPDF (its built-in CJK fonts "china-s" and "japan" included),
so each case pins one behaviour on a real PDF; emphasis is also checked with markdown-it on many
random style mixes.
"""

from __future__ import annotations

import random
import re

import pymupdf
from markdown_it import MarkdownIt

from pin_assets.core.pdf import pdf_to_markdown
from pin_assets.core.pdf.cjk import drop_spaced_out
from pin_assets.core.pdf.inline import inline_text, plain_text
from pin_assets.core.pdf.model import Row, Span, Style

MD = MarkdownIt("commonmark")
PROSE = ("The northern region grew fastest this quarter, while the southern region held steady after a "
         "strong spring season and the coastal offices reported flat sales.")


def _markdown(doc: pymupdf.Document) -> str:
    return pdf_to_markdown(doc.tobytes()).markdown


def _page(doc: pymupdf.Document) -> pymupdf.Page:
    return doc.new_page(width=595, height=842)


def _paragraph(page: pymupdf.Page, y: float, text: str = PROSE, size: float = 10, font: str = "tiro") -> float:
    """Body text wrapped at 450 points from x=72; returns the next baseline."""
    line = ""
    for word in text.split():
        if line and pymupdf.get_text_length(f"{line} {word}", fontname=font, fontsize=size) > 450:
            page.insert_text((72, y), line, fontname=font, fontsize=size)
            y, line = y + size * 1.25, word
        else:
            line = f"{line} {word}".strip()
    page.insert_text((72, y), line, fontname=font, fontsize=size)
    return y + size * 1.25


# ---------------------------------------------------------------- rotated text


def test_rotated_sidebar_is_kept_and_side_stamp_dropped():
    doc = pymupdf.open()
    page = _page(doc)
    y = _paragraph(page, 100)
    _paragraph(page, y + 20, "A second paragraph of ordinary text follows the first one on this page.")
    page.insert_text((20, 700), "arXiv:2101.00001v1 [cs.CL] 1 Jan 2021", fontname="tiro", fontsize=12, rotate=90)
    page.insert_text((540, 150), "Sidebar running down the page", fontname="helv", fontsize=9, rotate=-90)
    page.insert_text((300, 600), "Upside down note", fontname="helv", fontsize=10, rotate=180)
    md = _markdown(doc)
    assert "Sidebar running down the page" in md
    assert "Upside down note" in md
    assert "arXiv" not in md
    assert md.index("northern region") < md.index("second paragraph")


def test_page_of_rotated_text_reads_upright_in_order():
    """A page whose text all runs up (or down, or upside down) the page is read turned upright: text,
    headings and paragraph order come out as on a normal page (such pages used to convert to nothing)."""
    lines = ["Quarterly results by region", "The northern region grew fastest this quarter,",
             "while the southern region held steady.", "", "", "Outlook for the next year is cautious."]
    for rotate in (90, -90, 180):
        doc = pymupdf.open()
        page = _page(doc)
        for i, text in enumerate(lines):
            if not text:
                continue
            size = 16 if i == 0 else 10
            if rotate == 90:
                point = (80 + i * 14, 700)
            elif rotate == -90:
                point = (500 - i * 14, 100)
            else:
                point = (500, 700 - i * 14)
            page.insert_text(point, text, fontname="helv", fontsize=size, rotate=rotate)
        md = _markdown(doc)
        assert md.startswith("# Quarterly results by region"), (rotate, md)
        assert "grew fastest this quarter, while the southern" in md, (rotate, md)
        assert md.index("southern region") < md.index("Outlook"), (rotate, md)


def test_rotate_page_keeps_its_rotated_caption_and_its_lower_picture():
    """A landscape page stored portrait with /Rotate 90 (as overrun_on_pg8_pg21 in corpus/gnarly): its text
    and images lie in the unrotated 612 x 792 frame while the page displays 792 x 612. The caption printed
    sideways beside the figure (horizontal in the stored frame, near its foot) was turned with the displayed
    size, landed off the page and was dropped as a margin stamp; a picture below y 612 was clipped away."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    labels = ["Class hierarchy of types in the package", "StaticType and DynamicType",
              "NamedType, TypeParameter and ConstructedType"]
    for i, text in enumerate(labels):  # running up the stored page: left to right as displayed
        page.insert_text((140 + i * 40, 640), text, fontname="helv", fontsize=10, rotate=90)
    page.insert_text((224, 660), "Fig. 2. The type system and its metaclass hierarchy", fontname="tiro", fontsize=9)
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 40), False)
    pix.clear_with(90)
    page.insert_image(pymupdf.Rect(400, 680, 520, 760), pixmap=pix)
    page.set_rotation(90)
    parsed = pdf_to_markdown(doc.tobytes())
    assert "Fig. 2. The type system and its metaclass hierarchy" in parsed.markdown, parsed.markdown
    assert parsed.markdown.index(labels[0]) < parsed.markdown.index(labels[2])
    assert len(parsed.images) == 1 and "content_image/" in parsed.markdown


def test_vertical_japanese_columns_read_right_to_left():
    doc = pymupdf.open()
    page = _page(doc)
    columns = ["縦書きの日本語の文章です。", "右から左へ読みます。", "三列目の文です。"]
    for i, column in enumerate(columns):
        page.insert_text((500 - i * 20, 100), column, fontname="japan", fontsize=12, rotate=-90)
    md = _markdown(doc)
    assert "".join(columns) in md, md


# ---------------------------------------------------------------- CJK joining


def test_characters_placed_one_by_one_with_spaces_join():
    """Each character its own run followed by a space glyph, as many Chinese PDFs write text."""
    doc = pymupdf.open()
    page = _page(doc)
    x = 72
    for char in "数据工厂的数据处理流程":
        page.insert_text((x, 100), char + " ", fontname="china-s", fontsize=12)
        x += 18
    x = 72
    for char in "日本語のテキスト":  # and each character with the space as a run of its own
        page.insert_text((x, 140), char, fontname="japan", fontsize=12)
        page.insert_text((x + 12, 140), " ", fontname="helv", fontsize=12)
        x += 17
    md = _markdown(doc)
    assert "数据工厂的数据处理流程" in md, md
    assert "日本語のテキスト" in md, md


def test_wrapped_chinese_and_japanese_lines_join_without_spaces():
    text_zh = "数据工厂把文档转换为训练数据，每一页都保留文字、表格和图片的顺序，并记录来源与许可信息。"
    text_ja = "このツールは文書を学習用データに変換し、各ページの文字と表と画像の順序を保ちます。"
    doc = pymupdf.open()
    page = _page(doc)
    for y0, text, font in ((100, text_zh, "china-s"), (200, text_ja, "japan")):
        for k in range(0, len(text), 14):  # 14 characters a line: every join falls between two CJK characters
            page.insert_text((72, y0 + 15 * (k // 14)), text[k:k + 14], fontname=font, fontsize=11)
    md = _markdown(doc)
    assert text_zh in md, md
    assert text_ja in md, md


def test_spaces_between_cjk_words_and_latin_stay():
    assert drop_spaced_out("数 据 工 厂") == "数据工厂"
    assert drop_spaced_out("第一章 总则") == "第一章 总则"  # a gap between two words is kept
    assert drop_spaced_out("使用 PyMuPDF 转换") == "使用 PyMuPDF 转换"
    assert drop_spaced_out("한국어 문장") == "한국어 문장"  # Korean separates words with spaces


# ---------------------------------------------------------------- emphasis


def _span(text: str, bold: bool = False, italic: bool = False, mono: bool = False) -> Span:
    return Span(text, 10, bold, italic, mono, False, 0, 0)


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_bold_next_to_bold_italic_is_valid_emphasis():
    """The case from a real paper: a bold-italic run, a bold run, a word hyphenated over two lines."""
    rows = [Row([_span("Abstract", True, True), _span("—Stereo matching is de-", True)], 0, 0, 300, 10),
            Row([_span("signed", True, True), _span(" to run in real time.")], 0, 12, 300, 22)]
    style = Style(10, {}, set(), set())
    md = inline_text(rows, style)
    assert "****" not in md and "de-" not in md
    html = MD.render(md)
    assert "*" not in _visible(html), md
    assert "<strong>" in html and _visible(html) == plain_text(rows, style)


def test_random_style_mixes_always_parse_as_emphasis():
    """Whatever the mix of bold, italic and code runs, split inside words or not, every marker the
    converter writes is read by CommonMark as emphasis, and the visible text is the plain text."""
    rng = random.Random(7)
    vocabulary = ["data", "factory", "(see", "note)", "x1", "—", "3.2", "Results:", "de-", "signed", "“quoted”",
                  "数据", "工厂。", "e.g.", "a/b", "word,"]
    style = Style(10, {}, set(), set())
    for _ in range(400):
        spans = []
        for _ in range(rng.randint(1, 7)):
            text = rng.choice(vocabulary) + rng.choice(["", " ", " "])
            flags = rng.choice([(False, False, False), (True, False, False), (False, True, False),
                                (True, True, False), (False, False, True)])
            spans.append(_span(text, *flags))
        row = Row(spans, 0, 0, 300, 10)
        md = inline_text([row], style)
        html = MD.render(md)
        assert "*" not in _visible(html), (md, spans)
        assert _visible(html).replace(" ", "") == plain_text([row], style).replace(" ", ""), (md, spans)


def test_generated_pdf_emphasis_merges_runs_and_keeps_markers_outside_words():
    doc = pymupdf.open()
    page = _page(doc)
    x = 72
    for text, font in (("Abstract", "tibi"), (": Stereo matching ", "tibo"), ("is fast", "tibo"),
                       (" and ", "tiro"), ("accurate", "tiit"), (" on every benchmark.", "tiro")):
        page.insert_text((x, 100), text, fontname=font, fontsize=10)
        x += pymupdf.get_text_length(text, fontname=font, fontsize=10)
    md = _markdown(doc)
    assert "**Abstract: Stereo matching is fast** and *accurate* on every benchmark." in md, md


# ---------------------------------------------------------------- headings


def test_headings_follow_size_ranks_and_numbering():
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 60), "Turbidity in a Lowland River", fontname="tibo", fontsize=18)
    page.insert_text((72, 90), "1 Introduction", fontname="tibo", fontsize=14)
    y = _paragraph(page, 110)
    page.insert_text((72, y + 10), "1.1 Study area", fontname="tibo", fontsize=12)
    y = _paragraph(page, y + 30)
    page.insert_text((72, y + 10), "3.2 Results", fontname="tibo", fontsize=10)
    y = _paragraph(page, y + 26)
    page.insert_text((72, y + 10), "Sampling design", fontname="tibo", fontsize=10)
    _paragraph(page, y + 26)
    lines = [line for line in _markdown(doc).splitlines() if line.startswith("#")]
    assert lines == ["# Turbidity in a Lowland River", "## 1 Introduction", "### 1.1 Study area",
                     "##### 3.2 Results", "#### Sampling design"], lines


def test_short_bold_lines_of_a_caption_are_not_headings():
    """A court caption: bold party lines and a bold "and" stack without body text between them."""
    doc = pymupdf.open()
    page = _page(doc)
    for i, text in enumerate(["JOHN DOE,", "Plaintiff/Respondent", "and", "ACME CORPORATION,",
                              "Defendant/Appellant"]):
        page.insert_text((200, 100 + 16 * i), text, fontname="tibo", fontsize=10)
    _paragraph(page, 220)
    md = _markdown(doc)
    assert not [line for line in md.splitlines() if line.startswith("#")], md
    assert "Plaintiff/Respondent" in md


def test_author_and_date_lines_do_not_merge_into_the_title():
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 80), "Seasonal Patterns of Turbidity in a Lowland River", fontname="tibo", fontsize=20)
    page.insert_text((72, 110), "Maria Keller", fontname="tiro", fontsize=14)
    page.insert_text((72, 128), "March 3, 2024", fontname="tiro", fontsize=14)
    _paragraph(page, 170)
    md = _markdown(doc)
    title = [line for line in md.splitlines() if line.startswith("#")]
    assert title[0] == "# Seasonal Patterns of Turbidity in a Lowland River", md
    assert not any("Keller" in line and "2024" in line for line in md.splitlines()), md
    assert not any(line.startswith("#") and "2024" in line for line in md.splitlines()), md


def test_bold_numbered_list_is_a_list_and_big_numbers_take_no_heading_level():
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 60), "Field Protocol", fontname="tibo", fontsize=16)
    page.insert_text((500, 400), "12", fontname="tibo", fontsize=30)  # a big figure number claims no level
    y = _paragraph(page, 90)
    for i, step in enumerate(["Collect two litres of water.", "Filter the sample.", "Store the filters."]):
        page.insert_text((72, y + 8 + 14 * i), f"{i + 1}. {step}", fontname="tibo", fontsize=10)
    _paragraph(page, y + 60)
    md = _markdown(doc)
    assert [line for line in md.splitlines() if line.startswith("#")] == ["# Field Protocol"], md
    assert "1. **Collect two litres of water.**" in md, md


def test_centred_chinese_title_over_two_lines_is_one_heading():
    doc = pymupdf.open()
    page = _page(doc)
    for y, line in ((80, "化学学科常用符号公式"), (106, "及其表示")):
        width = pymupdf.get_text_length(line, fontname="china-s", fontsize=21)
        page.insert_text((297 - width / 2, y), line, fontname="china-s", fontsize=21)
    for y, line in ((150, "又称化学反应式，是用化学式来描述各种物质之间的不同化学反应的式子。"),
                    (166, "在配平完的方程式后根据事实写上热量，放热反应与吸热反应分别标明。")):
        page.insert_text((72, y), line, fontname="china-s", fontsize=10.5)
    md = _markdown(doc)
    assert md.startswith("# 化学学科常用符号公式及其表示\n"), md


def test_rotated_header_cells_leave_header_removal_and_tables_alone():
    """A rotated label near the top of a page must not stop the running header from being found, nor
    join the rows of a table without rules into one line."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 40), "Journal of Applied Text Mining 12 (2024) 101-118", fontname="tiit", fontsize=8)
    page.insert_text((560, 30), "Supplementary material", fontname="helv", fontsize=8, rotate=-90)
    y = _paragraph(page, 100)
    for i, (name, value, share) in enumerate([("Method", "Pages/s", "Share"), ("Rule baseline", "210", "12%"),
                                               ("CRF tagger", "35", "40%"), ("Ours", "48", "48%")]):
        for x, cell in ((72, name), (300, value), (420, share)):
            page.insert_text((x, y + 20 + 14 * i), cell, fontname="tibo" if i == 0 else "tiro", fontsize=9.5)
    page.insert_text((250, y + 40), "Measured", fontname="helv", fontsize=8, rotate=90)
    _paragraph(page, y + 90, "The small model keeps most of the gain at four times the speed of the large one.")
    md = _markdown(doc)
    assert "Journal of Applied Text Mining" not in md, md
    assert "| CRF tagger | 35 | 40% |" in md, md
    assert "Supplementary material" in md and "Measured" in md
