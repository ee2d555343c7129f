"""Superscripts, subscripts and footnotes on generated pages: marks stay apart from the figures and words
they follow (written as the JATS converter writes them), and footnotes are kept after the page's body."""

from __future__ import annotations

import pymupdf

from pin_assets.core.pdf import pdf_to_markdown


def table_with_marks() -> bytes:
    """A borderless table whose figures carry footnote marks, with the footnotes at the foot of the page."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 90), "Population of the largest countries by the latest census or estimate.", fontsize=11)
    rows = [("Country", "Population", "Year"), ("Indonesia", "273,879,750", "2020"),
            ("Germany", "83,190,556", "2021"), ("Kenya", "47,564,296", "2019")]
    marks = {"273,879,750": "1", "83,190,556": "2"}
    y = 130
    for row in rows:
        for x, cell in zip((72, 250, 400), row, strict=True):
            page.insert_text((x, y), cell, fontsize=11)
            if cell in marks:
                page.insert_text((x + pymupdf.get_text_length(cell, fontsize=11) + 0.5, y - 4), marks[cell], fontsize=7)
        y += 18
    page.insert_text((72, 260), "The table lists the figures as the statistics offices published them.", fontsize=11)
    page.insert_text((72, 740), "1", fontsize=6)
    page.insert_text((76, 744), "2020 estimate by the national statistics office", fontsize=8)
    page.insert_text((72, 754), "2", fontsize=6)
    page.insert_text((76, 758), "Mid-year figure", fontsize=8)
    return doc.tobytes()


def test_table_cells_keep_their_footnote_marks_apart_and_the_footnotes() -> None:
    md = pdf_to_markdown(table_with_marks()).markdown
    assert "| Indonesia | 273,879,750¹ | 2020 |" in md
    assert "| Germany | 83,190,556² | 2021 |" in md
    assert "| Kenya | 47,564,296 | 2019 |" in md
    assert md.endswith("¹ 2020 estimate by the national statistics office\n\n² Mid-year figure\n")
    assert md.index("published them.") < md.index("¹ 2020 estimate")  # at the foot, after the text above it


def test_exponents_and_chemical_indices_keep_their_scripts() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    x = 72.0
    for text, size, rise in (("Water is H", 11, 0), ("2", 7, 3), ("O; the room is 40 m", 11, 0), ("2", 7, -5),
                             (" and the note", 11, 0), ("a,b", 7, -5), (" ends here.", 11, 0)):
        page.insert_text((x, 100 + rise), text, fontsize=size)
        x += pymupdf.get_text_length(text, fontsize=size)
    md = pdf_to_markdown(doc.tobytes()).markdown
    assert md == "Water is H₂O; the room is 40 m² and the note<sup>a,b</sup> ends here.\n"
