"""Tables, rows and word spaces on real third-party pages (copied from the gnarly dev set, see
``tests/fixtures/gnarly-pages/PROVENANCE.md``): a table ruled only between its rows, a landscape table the
layout model takes for a figure, an infobox beside justified prose, and a text layer without word spaces.

Each page is converted once per module, with the layout model as shipped (the default).
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import pymupdf

from pin_assets.core.pdf.convert import pdf_to_markdown
from pin_assets.core.pdf.word_gaps import spaced_blocks

PAGES = Path(__file__).parent / "fixtures" / "gnarly-pages"


@cache
def markdown_of(name: str) -> str:
    return pdf_to_markdown((PAGES / f"{name}.pdf").read_bytes()).markdown


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of the Markdown as rows of cell texts: GFM pipe tables and HTML tables alike."""
    found = []
    for block in re.findall(r"(?:^\|.*\|$\n?){2,}", markdown, flags=re.M):
        lines = [line.strip() for line in block.strip().split("\n") if not re.fullmatch(r"\|(-+\|)+", line.strip())]
        found.append([[c.strip() for c in line[1:-1].split(" | ")] for line in lines])
    for table in re.findall(r"<table>.*?</table>", markdown, flags=re.S):
        found.append([[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr)]
                      for tr in re.findall(r"<tr>.*?</tr>", table)])
    return found


def row_of(markdown: str, label: str) -> list[str]:
    """The first table row whose first cell is ``label``."""
    rows = [row for table in tables(markdown) for row in table if row and row[0] == label]
    assert rows, f"no table row starts with {label!r}"
    return rows[0]


def test_rows_between_rules_are_one_row_each():
    """A certificate table with horizontal rules and no vertical ones (``find_tables`` sees no grid): each
    label stands centred beside a description of two or three lines and its value sits at the top. Between
    two rules is one row, so each value stays in its label's row; the label "RoHS | Exempt" keeps its bar
    inside its cell (an HTML table, where a pipe table's escaped bar would split the row)."""
    markdown = markdown_of("lots_of_sci_tables_pg1")
    assert row_of(markdown, "Halogen Free")[-1] == "Y"
    assert row_of(markdown, "TSCA")[-1] == "Y"
    assert row_of(markdown, "RoHS")[-1] == "TBD"
    exempt = row_of(markdown, "RoHS | Exempt")
    assert exempt[1].startswith("If “7a”, “7c”, or “15”, then product contains lead") and exempt[-1] == "TBD"
    assert len(row_of(markdown, "REACH")) == len(exempt)


def test_table_the_model_calls_a_figure_is_read_under_its_caption():
    """A landscape table set without vertical rules, which the layout model boxes as a figure: the caption
    "Table 1 ..." above it makes it a table region. The header has no cell over the row labels, a label
    runs over two lines ("Specific physical" / "features"), list dashes stay with their items, and the
    "Table continues" note under the last rule is not a row."""
    markdown = markdown_of("pdftotext_two_column_issue_pg3")
    (table,) = tables(markdown)
    assert table[0] == ["", "Neonate and childhood", "Adolescence and adult age"]
    assert [row[0] for row in table[1:]] == ["Specific physical features", "Lymphatic system", "Bone", "ENT", "Renal"]
    physical = row_of(markdown, "Specific physical features")
    assert physical[1].startswith("Neonate: - Redundant nuchal skin - Puffiness") and physical[2] == "Short stature"
    assert row_of(markdown, "ENT")[2] == "Progressive sensorineural hearing loss"
    assert "Table continues" in markdown and not any("Table continues" in c for row in table for c in row)


def test_infobox_takes_no_words_from_the_justified_column_beside_it():
    """A Wikipedia printout: the infobox's "Predecessor | Eadwig" line shares its baseline with a justified
    body line whose word spaces are wide enough to look like cells, and whose last word reaches the
    infobox's edge. The infobox row keeps its two cells and the body line stays whole in its paragraph."""
    markdown = markdown_of("edgar_pg1")
    assert row_of(markdown, "Predecessor") == ["Predecessor", "Eadwig"]
    assert "mainly associated with Æthelwold, Bishop of Winchester. Monasteries aggressively acquired" in markdown


def test_words_the_text_layer_runs_together_are_spaced_as_printed():
    """An RNA paper whose justified lines carry no space characters: the glyph gaps show the words."""
    text = " ".join(markdown_of("failing_pdf_pg9_pg1").split())
    assert "and play an important role in binding proteins and consolidat" in text
    assert "RNAMotifScan (Zhong et al. 2010) is based on the assumption" in text
    assert "andplayanimportant" not in text and "thesearchspace" not in text


def lines_of(blocks: list[dict]) -> list[dict]:
    return [line for block in blocks for line in block.get("lines", ())]


def test_lines_with_their_spaces_are_left_as_they_are():
    """On pages whose text layer has its spaces (three typesetters, a table, two columns, a manual), the
    glyph-gap pass changes no line: it adds spaces only where a line reads as unspaced."""
    for name in ("ti89_guidebook_programming_pg19", "load_v_error_pg15", "failing_anchor_pg4_pg4",
                 "lots_of_sci_tables_pg1", "edgar_pg1"):
        page = pymupdf.open(PAGES / f"{name}.pdf")[0]
        raw = page.get_textpage().extractRAWDICT()["blocks"]
        before = ["".join(c["c"] for s in line["spans"] for c in s["chars"]) for line in lines_of(raw)]
        after = ["".join(s["text"] for s in line["spans"]) for line in lines_of(spaced_blocks(raw))]
        assert after == before, name


def test_words_set_apart_without_spaces_inside_a_spaced_line_are_split():
    """A caption whose first words were placed one by one, 0.12 em apart with no space character (under
    MuPDF's 0.15 em), in a line whose other words carry spaces: the run "Compositionofthesamples" is too
    long for a word and its glyph gaps show three breaks. The line under it, spaced as usual, is unchanged."""
    doc = pymupdf.open()
    page = doc.new_page()
    font, size, x = pymupdf.Font("helv"), 10, 72.0
    page.insert_text((x, 100), "Table 1", fontname="helv", fontsize=size)
    x += font.text_length("Table 1 ", size)
    for word in ("Composition", "of", "the"):
        page.insert_text((x, 100), word, fontname="helv", fontsize=size)
        x += font.text_length(word, size) + 0.12 * size
    page.insert_text((x, 100), "samples used in this study, by weight.", fontname="helv", fontsize=size)
    page.insert_text((72, 130), "An ordinary line of body text follows with its own spaces.", fontname="helv",
                     fontsize=size)
    assert "Compositionofthesamples" in page.get_text()
    markdown = pdf_to_markdown(doc.tobytes()).markdown
    assert "Table 1 Composition of the samples used in this study, by weight." in markdown
    assert "An ordinary line of body text follows with its own spaces." in markdown


def test_a_tall_bullet_does_not_pull_the_next_line_into_its_row():
    """A textbook's list whose bullets come from TeX's symbol font: the bullet's box reaches into the next
    line, whose words were read as the end of the bullet's row ("structure ofthe problem", "ar-gument").
    The baselines are a line apart, so each line is its own row and the words are spaced as printed."""
    text = " ".join(markdown_of("bws_book_ch2_pg2").split())
    assert "depending on the structure of the problem you are solving." in text
    assert "by comparing and contrasting them" in text
    assert "classify a presented argument as an inductive one" in text
