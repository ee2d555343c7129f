"""Text that flows as written: a paragraph that crosses a column break and a page break comes out as one
paragraph with exact page offsets; one that ends at a break is not joined to the next."""

from __future__ import annotations

import pymupdf

from pin_assets.core.pdf import pdf_to_markdown

FONT, SIZE, LEAD = "helv", 10, 12.5  # also the OCR test's two-column page
COLUMNS = ((72, 296), (316, 540))


def wrapped(text: str, width: float) -> list[str]:
    """Lines of ``text`` filled to ``width`` points, as a typesetter fills a column."""
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and pymupdf.get_text_length(trial, fontname=FONT, fontsize=SIZE) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def full_line(start: str, end: str, width: float) -> str:
    """A line that fills ``width`` and ends with ``end``: ``start`` padded with words in between."""
    line = start
    while pymupdf.get_text_length(f"{line} and {end}", fontname=FONT, fontsize=SIZE) <= width:
        line += " and"
    return f"{line} {end}"


def set_lines(page: pymupdf.Page, column: int, top: float, lines: list[str]) -> float:
    x0, _ = COLUMNS[column]
    y = top
    for line in lines:
        page.insert_text((x0, y), line, fontname=FONT, fontsize=SIZE)
        y += LEAD
    return y


FILLER = ("The committee met in the spring to review the accounts of the previous year and to agree on the "
          "plans for the coming season, which had been delayed by the weather.")
RUN_ON = ("Sales of the new line rose steadily through the summer months while the older products held their "
          "ground in most of the regional markets that the firm had served for many years and the board")


def two_column_document() -> tuple[bytes, str]:
    """A paragraph starting low in column 1, running through column 2 and ending on page 2, where the
    word 'companies' is hyphenated across the page break."""
    width = COLUMNS[0][1] - COLUMNS[0][0]
    doc = pymupdf.open()
    page = doc.new_page()
    y = set_lines(page, 0, 80, wrapped(FILLER, width))
    first = wrapped(RUN_ON, width)
    filler_lines = wrapped(" ".join([FILLER] * 6), width)
    y = set_lines(page, 0, y + LEAD, filler_lines[: int((700 - y) / LEAD) - len(first) - 1])
    set_lines(page, 0, y + LEAD, first)  # column 1 ends "... and the board"
    second = wrapped("decided to open two more shops in the north of the country, where rival " * 8, width)
    second = [*second[:40], full_line("where the shops of rival retail", "compa-", width)]
    set_lines(page, 1, 80, second)
    page2 = doc.new_page()
    set_lines(page2, 0, 80, wrapped("nies had closed their doors. The new shops opened in the autumn.", width))
    set_lines(page2, 0, 160, wrapped("A second paragraph starts here and ends here.", width))
    return doc.tobytes(), RUN_ON


def test_paragraph_runs_on_across_a_column_and_a_page_break() -> None:
    data, run_on = two_column_document()
    doc = pdf_to_markdown(data)
    paragraphs = doc.markdown.split("\n\n")
    [joined] = [p for p in paragraphs if p.startswith("Sales of the new line")]
    assert "the board decided to open two more shops" in joined  # column 1 into column 2
    assert joined.endswith("companies had closed their doors. The new shops opened in the autumn.")
    assert "\n" not in joined
    assert paragraphs[-1] == "A second paragraph starts here and ends here.\n"
    start = doc.page_offsets[1]
    assert doc.markdown[start:].startswith("nies had closed their doors.")  # the page breaks inside the word
    assert doc.markdown[:start].endswith(" compa") and doc.page_offsets[0] == 0


def test_a_closed_paragraph_is_not_joined_across_a_break() -> None:
    width = COLUMNS[0][1] - COLUMNS[0][0]
    doc = pymupdf.open()
    page = doc.new_page()
    set_lines(page, 0, 80, wrapped(FILLER, width))  # ends with a full stop
    set_lines(page, 1, 80, wrapped("new paragraph that happens to start in lower case for a brand name.", width))
    md = pdf_to_markdown(doc.tobytes()).markdown
    assert "weather.\n\nnew paragraph" in md
