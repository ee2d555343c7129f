"""The documents the unit tests run on: single pages cut from the corpus, whole corpus PDFs, and
generated pages for what the corpus lacks (tables without ruling lines, one-page documents with a
"Downloaded from" footer and a running title, two-column prose whose lines and lists align across
the gutter, the classic trap for a table detector, Chinese and Japanese text set one character per
run, and text that runs up, down or vertically on the page).

Generated pages are drawn with PyMuPDF's base-14 fonts and its built-in CJK fonts at fixed positions,
so they are the same on every machine and need nothing downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
_SPEC_RE = re.compile(r"^(?P<path>(pdf|bench|generated)/[\w.\-]+\.pdf)(#(?P<page>\d+))?$")


def stem_of(spec: str) -> str:
    """The file stem a test document gets: ``bench/demo1.pdf#5`` -> ``demo1-p5``."""
    match = _SPEC_RE.match(spec)
    if not match:
        raise ValueError(f"bad document spec {spec!r}: want pdf/NAME.pdf, bench/NAME.pdf#PAGE or generated/NAME.pdf")
    stem = Path(match["path"]).stem
    return f"{stem}-p{match['page']}" if match["page"] else stem


def build(specs: list[str], folder: Path) -> dict[str, Path]:
    """Write one PDF per distinct spec into ``folder``; returns spec -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for spec in sorted(set(specs)):
        match = _SPEC_RE.match(spec)
        if not match:
            raise ValueError(f"bad document spec {spec!r}")
        target = folder / f"{stem_of(spec)}.pdf"
        kind, name = match["path"].split("/", 1)
        if kind == "generated":
            target.write_bytes(GENERATORS[Path(name).stem]())
        else:
            source = CORPUS / kind / name
            if match["page"]:
                target.write_bytes(_one_page(source, int(match["page"])))
            else:
                target.write_bytes(source.read_bytes())
        out[spec] = target
    return out


def page_count(path: Path) -> int:
    with pymupdf.open(path) as doc:
        return doc.page_count


def _one_page(source: Path, page: int) -> bytes:
    """Page ``page`` (1-based) of ``source`` as a PDF of its own."""
    with pymupdf.open(source) as src, pymupdf.open() as doc:
        doc.insert_pdf(src, from_page=page - 1, to_page=page - 1)
        return doc.tobytes(garbage=3, deflate=True)


# ---------------------------------------------------------------- drawing helpers


def _text(page: pymupdf.Page, x: float, y: float, text: str, size: float = 10, font: str = "tiro",
          align: str = "left") -> None:
    """One line at baseline ``y``; ``align`` right or center measures the text first."""
    width = pymupdf.get_text_length(text, fontname=font, fontsize=size)
    if align == "right":
        x -= width
    elif align == "center":
        x -= width / 2
    page.insert_text((x, y), text, fontname=font, fontsize=size)


def _wrap(text: str, width: float, size: float, font: str = "tiro") -> list[str]:
    """Greedy line breaking at spaces for a column ``width`` points wide."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and pymupdf.get_text_length(trial, fontname=font, fontsize=size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def _paragraph(page: pymupdf.Page, x: float, y: float, width: float, text: str, size: float = 10,
               leading: float = 12.5, font: str = "tiro", indent: float = 0.0) -> float:
    """A left-aligned paragraph; returns the baseline after its last line."""
    for i, line in enumerate(_wrap(text, width - indent, size, font)):
        _text(page, x + (indent if i == 0 else 0), y, line, size, font)
        y += leading
    return y


def _table(page: pymupdf.Page, x: float, y: float, columns: list[tuple[float, str]], rows: list[list[str]],
           size: float = 9.5, leading: float = 13.0, header_font: str = "tibo") -> float:
    """Rows of cells with no ruling lines: ``columns`` gives each column's anchor x (left edge for
    ``left``, right edge for ``right``) relative to ``x``. The first row is set in ``header_font``."""
    for r, row in enumerate(rows):
        font = header_font if r == 0 else "tiro"
        for (anchor, align), cell in zip(columns, row, strict=True):
            if cell:
                _text(page, x + anchor, y, cell, size, font, align)
        y += leading
    return y


def _rule(page: pymupdf.Page, x0: float, x1: float, y: float, width: float = 0.6) -> None:
    page.draw_line((x0, y), (x1, y), width=width)


# ---------------------------------------------------------------- generated documents


def financial_statement() -> bytes:
    """A one-page income statement: a table without rules, a running title, a page number and a
    "Downloaded from" footer, as annual reports downloaded from investor sites look."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _text(page, 56, 40, "NORTHWIND HOLDINGS PLC  |  ANNUAL REPORT AND ACCOUNTS 2024", 7.5, "helv")
    _text(page, 539, 40, "Financial statements", 7.5, "helv", "right")
    _text(page, 56, 92, "Consolidated income statement", 16, "hebo")
    y = _paragraph(page, 56, 118, 483, (
        "For the year ended 31 December 2024. All amounts are stated in thousands of euros unless otherwise "
        "indicated. The notes on pages 48 to 71 form an integral part of these consolidated financial "
        "statements and should be read together with the strategic report."), 10)
    columns = [(0, "left"), (300, "right"), (400, "right"), (483, "right")]
    rows = [
        ["", "Note", "2024", "2023"],
        ["Revenue", "4", "12,431", "11,078"],
        ["Cost of sales", "", "(7,204)", "(6,512)"],
        ["Gross profit", "", "5,227", "4,566"],
        ["Distribution costs", "", "(1,118)", "(1,032)"],
        ["Administrative expenses", "5", "(1,906)", "(1,744)"],
        ["Operating profit", "", "2,203", "1,790"],
        ["Finance income", "6", "87", "41"],
        ["Finance costs", "6", "(312)", "(298)"],
        ["Profit before tax", "", "1,978", "1,533"],
        ["Income tax expense", "7", "(455)", "(368)"],
        ["Profit for the year", "", "1,523", "1,165"],
    ]
    y = _table(page, 56, y + 18, columns, rows)
    y = _paragraph(page, 56, y + 14, 483, (
        "Profit for the year is attributable in full to the owners of the parent company. There were no "
        "discontinued operations in either year, and no items of other comprehensive income were "
        "reclassified to profit or loss during the period."), 10)
    _text(page, 56, y + 16, "Earnings per share", 12, "hebo")
    eps = [
        ["", "Note", "2024", "2023"],
        ["Basic earnings per share (cents)", "8", "30.5", "23.4"],
        ["Diluted earnings per share (cents)", "8", "30.1", "23.0"],
    ]
    y = _table(page, 56, y + 40, columns, eps)
    _paragraph(page, 56, y + 14, 483, (
        "Diluted earnings per share take into account the dilutive effect of share options granted to "
        "employees under the long-term incentive plan, calculated with the treasury stock method."), 10)
    _text(page, 297.5, 800, "43", 9, "tiro", "center")
    _text(page, 56, 822, "Downloaded from http://www.northwind-holdings.example.com/investors/reports on "
          "14 March 2025", 6.5, "helv")
    return doc.tobytes()


def results_table() -> bytes:
    """A page of a paper with a booktabs results table (horizontal rules only), a journal running title
    with the page number, and a DOI and "Downloaded for" line at the foot."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _text(page, 72, 46, "Journal of Applied Text Mining 12 (2024) 101-118", 8, "tiit")
    _text(page, 540, 46, "107", 8, "tiro", "right")
    _text(page, 72, 90, "4.2 Results on the held-out test set", 11, "tibo")
    y = _paragraph(page, 72, 110, 468, (
        "Table 3 compares our tagger with three baselines on the held-out test set of 1,204 documents. "
        "All systems were trained on the same split and tuned on the development set only; we report the "
        "mean of five runs with different random seeds, and throughput measured on a single CPU core."), 10)
    _text(page, 72, y + 10, "Table 3: Precision, recall and F1 on the held-out test set.", 9, "tiro")
    columns = [(0, "left"), (260, "right"), (330, "right"), (390, "right"), (468, "right")]
    top = y + 22
    _rule(page, 72, 540, top, 0.9)
    _table(page, 72, top + 13, columns, [["Method", "Precision", "Recall", "F1", "Pages/s"]], 9.5)
    _rule(page, 72, 540, top + 18, 0.5)
    rows = [
        ["Rule baseline", "71.2", "64.8", "67.8", "210"],
        ["CRF tagger", "78.9", "75.1", "77.0", "35"],
        ["BiLSTM-CRF", "83.4", "81.7", "82.5", "12"],
        ["Ours (small)", "85.1", "84.0", "84.5", "48"],
        ["Ours (large)", "87.6", "86.2", "86.9", "9"],
    ]
    y = _table(page, 72, top + 31, columns, rows, 9.5, header_font="tiro")
    _rule(page, 72, 540, y - 8, 0.9)
    y = _paragraph(page, 72, y + 14, 468, (
        "The large model gains 4.4 F1 points over the strongest baseline but runs at nine pages per second; "
        "the small model keeps most of the gain at four times the speed. Errors concentrate on documents "
        "with nested lists and on tables whose columns are separated only by white space."), 10)
    y = _paragraph(page, 72, y + 8, 468, (
        "We also checked whether the gains hold on scanned pages. After optical character recognition the "
        "ranking of the systems is unchanged, although every score drops by three to six points."), 10)
    _text(page, 72, 742, "https://doi.org/10.1016/j.jatm.2024.03.007", 7, "tiro")
    _text(page, 72, 752, "Downloaded for Anonymous User (n/a) at City University Library from "
          "ScienceDirect.example.com on May 05, 2025.", 7, "tiro")
    return doc.tobytes()


_LEFT = (
    "Water samples were taken at twelve sites along the river between June and September. Each site was "
    "visited every second week, always within two hours of sunrise, so that daily swings in temperature and "
    "dissolved oxygen would not mask the trends we were looking for. The protocol had three steps:"
)
_LEFT_LIST = [
    "1. Collect two litres of water at mid-depth.",
    "2. Filter through a 0.45 micron membrane.",
    "3. Store the filters at four degrees.",
]
_LEFT_AFTER = (
    "Filters were analysed within a week of collection. Blanks were carried through every step of the "
    "protocol, and no blank exceeded the detection limit of the method."
)
_RIGHT = (
    "Discharge at the gauging station ranged from four to thirty cubic metres per second over the season. "
    "The wettest weeks fell in late July, when two storms raised the water level by more than a metre "
    "within a day. The sites fall into three groups:"
)
_RIGHT_LIST = [
    "- Upstream riffles above the weir.",
    "- Pools in the middle reach.",
    "- Tidal flats near the estuary.",
]
_RIGHT_AFTER = (
    "Turbidity followed discharge closely at the upstream sites, but at the tidal flats it tracked the tide "
    "rather than the river, which is why those sites are reported separately."
)


def two_column_prose() -> bytes:
    """Two justified-looking columns whose baselines line up across the gutter, each with a short list,
    under a running header; a detector that sees columns of aligned text as a table fails here."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _text(page, 72, 44, "Field Notes on River Ecology 7(2)", 8, "tiit")
    _text(page, 540, 44, "118", 8, "tiro", "right")
    _text(page, 306, 92, "Seasonal Patterns of Turbidity in a Lowland River", 15, "tibo", "center")
    _text(page, 306, 112, "Maria Keller and Jonas Brandt", 10, "tiro", "center")
    width, left_x, right_x = 222, 72, 318
    for x, heading, prose, items, after in (
        (left_x, "2 Methods", _LEFT, _LEFT_LIST, _LEFT_AFTER),
        (right_x, "3 Study area", _RIGHT, _RIGHT_LIST, _RIGHT_AFTER),
    ):
        _text(page, x, 150, heading, 11, "tibo")
        y = _paragraph(page, x, 168, width, prose, 10)
        for item in items:
            _text(page, x + 8, y, item, 10)
            y += 12.5
        _paragraph(page, x, y + 4, width, after, 10)
    _text(page, 72, 760, "Downloaded from https://academic.example.org/fnre/article/7/2/117/6543210 by guest "
          "on 05 May 2025", 7, "helv")
    return doc.tobytes()


def running_report() -> bytes:
    """A three-page report with a running header and "Page N of 3" footers, and a summary table
    without rules on page 2."""
    doc = pymupdf.open()
    bodies = [
        ("1 Summary", "The third quarter saw stable water quality at all monitored intakes. Nitrate levels "
         "stayed below the regulatory limit throughout, and the two short turbidity events in August were "
         "handled by the treatment works without any interruption of supply to customers."),
        ("2 Measurements", "Mean values per intake for the quarter are listed below. Each value is the mean "
         "of the weekly grab samples; the limit column gives the level set by the operating licence."),
        ("3 Outlook", "Works on the new sedimentation basin start in the fourth quarter. During construction "
         "the northern intake will run at reduced capacity, and sampling there moves to twice a week."),
    ]
    for index, (heading, body) in enumerate(bodies):
        page = doc.new_page(width=595, height=842)
        _text(page, 56, 40, "Lakeside Water Authority - Quarterly Water Quality Report Q3 2024", 8, "helv")
        if index == 0:
            _text(page, 56, 90, "Quarterly Water Quality Report", 18, "hebo")
            top = 130
        else:
            top = 90
        _text(page, 56, top, heading, 13, "hebo")
        y = _paragraph(page, 56, top + 22, 483, body, 10.5, 13.5)
        if index == 1:
            columns = [(0, "left"), (230, "right"), (330, "right"), (430, "right")]
            rows = [
                ["Intake", "Nitrate (mg/l)", "Turbidity (NTU)", "Limit (mg/l)"],
                ["North", "18.2", "0.41", "50"],
                ["East", "22.7", "0.38", "50"],
                ["Reservoir", "9.6", "0.22", "50"],
            ]
            y = _table(page, 56, y + 16, columns, rows, 10, 14)
            _paragraph(page, 56, y + 12, 483, (
                "No intake came close to the nitrate limit. The East intake remains the highest, as in every "
                "quarter since the monitoring programme began."), 10.5, 13.5)
        _text(page, 297.5, 810, f"Page {index + 1} of 3", 8, "helv", "center")
    return doc.tobytes()


_ZH_TITLE = "数据工厂的数据处理流程"
_ZH_BODY = ("数据工厂把各种文档转换为训练数据，每一页都保留文字、表格和图片的阅读顺序，"
            "并且记录每份文档的来源与许可信息，以便之后追溯。")
_JA_BODY = "このツールは文書を学習用データに変換し、各ページの文字と表と画像の順序を保ちます。"


def cjk_notice() -> bytes:
    """A Chinese notice whose title is set one character per run with a space glyph after each (as
    many Chinese PDFs are written), a Chinese paragraph wrapped mid-sentence, and a Japanese one."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    x = 56
    for char in _ZH_TITLE:
        page.insert_text((x, 80), char + " ", fontname="china-s", fontsize=16)
        x += 24
    y = 120
    for text, font in ((_ZH_BODY, "china-s"), (_JA_BODY, "japan")):
        for k in range(0, len(text), 30):
            page.insert_text((56, y), text[k:k + 30], fontname=font, fontsize=11)
            y += 16
        y += 14
    return doc.tobytes()


_SIDEBAR = "Key figures are unaudited"
_STAMP = "arXiv:2403.01234v2 [cs.CL] 5 Mar 2024"
_TURNED = [
    ("Regional sales by quarter", 15),
    ("Sales rose in every region during the year, led by the northern offices, which opened two new", 10),
    ("branches in the spring and doubled their online orders by the autumn.", 10),
    ("", 10),
    ("The southern region held steady despite the loss of one large customer in the third quarter.", 10),
]
_VERTICAL = ["縦書きの日本語の文章です。", "右から左へ読みます。", "三列目の文です。"]


def rotated_pages() -> bytes:
    """Three pages of text that does not run left to right: a paper page with a sidebar running down
    its right margin and an arXiv stamp up its left one; a landscape report set sideways on a portrait
    page (all its text runs up the page); and a page of vertical Japanese, read right to left."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _text(page, 72, 90, "1 Introduction", 12, "tibo")
    y = _paragraph(page, 72, 110, 440, _LEFT + " " + _RIGHT, 10)
    _paragraph(page, 72, y + 8, 440, _LEFT_AFTER, 10)
    page.insert_text((30, 600), _STAMP, fontname="tiro", fontsize=14, rotate=90)
    page.insert_text((560, 120), _SIDEBAR, fontname="helv", fontsize=9, rotate=-90)
    page = doc.new_page(width=595, height=842)
    x = 90
    for text, size in _TURNED:
        if text:
            page.insert_text((x, 760), text, fontname="helv", fontsize=size, rotate=90)
        x += 14 if size == 10 else 24
    page = doc.new_page(width=595, height=842)
    for i, column in enumerate(_VERTICAL):
        page.insert_text((520 - 18 * i, 90), column, fontname="japan", fontsize=10, rotate=-90)
    return doc.tobytes()


GENERATORS = {
    "cjk_notice": cjk_notice,
    "rotated_pages": rotated_pages,
    "financial_statement": financial_statement,
    "results_table": results_table,
    "two_column_prose": two_column_prose,
    "running_report": running_report,
}
