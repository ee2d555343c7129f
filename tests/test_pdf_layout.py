"""The layout model as evidence beside the text layer, on real pages nobody here wrote and on generated
vector charts: page furniture removed from one-page documents, a table without ruling lines kept with its
header row and its sentence cells, figures drawn as paths kept as content images, and a model that cannot
be loaded costing one warning, never the document.

The real pages are in ``tests/fixtures/gnarly-pages`` (see its PROVENANCE.md). The model is compiled once
per test process; each page is converted once per module.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from pin_assets.core.document import VECTOR_FIGURES
from pin_assets.core.pdf.convert import pdf_to_markdown
from pin_assets.core.pdf.table_grid import regular, table_markdown

PAGES = Path(__file__).parent / "fixtures" / "gnarly-pages"


@cache
def converted(name: str, layout_model: str = "auto"):
    return pdf_to_markdown((PAGES / f"{name}.pdf").read_bytes(), layout_model=layout_model)


def flat(markdown: str) -> str:
    """The Markdown's text with its markup and line breaks folded, as a reader would search it."""
    return " ".join(re.sub(r"[#*|_]", " ", markdown).split())


@pytest.mark.parametrize(("name", "furniture", "body"), [
    ("failing_anchor_pg4_pg4", ["MCSER Publishing, Rome-Italy", "Mediterranean Journal of Social Sciences"],
     "Whites are always getting promoted in the workplace over Blacks"),
    ("load_v_error_pg15", ["journal.pone.0194893", "Gravitropic movement and ultradian growth oscillations"],
     "The power and control of gravitropic movements in plants"),
])
def test_running_lines_of_a_one_page_document_go_with_the_model(name, furniture, body):
    """One page gives repetition nothing to find: the header and footer regions do, and the same page read
    without the model keeps the lines (so it is the model's evidence that removes them)."""
    with_model, without = flat(converted(name).markdown), flat(converted(name, "off").markdown)
    for line in furniture:
        assert line not in with_model
    assert any(line in without for line in furniture)
    assert body.lower() in with_model.lower()
    assert not converted(name).warnings


@pytest.mark.parametrize(("name", "furniture", "body"), [
    ("large_prompt_hint2_pg1", ["Proc. R. Soc. Lond. B (2004)", "2003 The Royal Society", "DOI 10.1098/rspb"],
     "Author for correspondence (wright.571@osu.edu)"),
    ("lots_of_chem_tables_pg2", ["Electronic Supplementary Material (ESI) for RSC Advances",
                                 "This journal is © The Royal Society of Chemistry 2016"],
     "Table S1 Chemicals and reagents"),
    ("pdftotext_two_column_issue_pg3", ["Transition in Turner syndrome, 2015", "Downloaded from"],
     "Clinical features in Turner syndrome"),
])
def test_publisher_lines_at_the_edge_go_by_their_wording(name, furniture, body):
    """A journal's citation footer, a copyright line whose © is a symbol-font glyph, a DOI line, a
    publisher's supplementary-material banner, and a running head turned along the edge of a landscape page
    ending in its page number: page furniture by wording and place, on pages where the model marks none."""
    markdown = flat(converted(name).markdown)
    for line in furniture:
        assert line not in markdown
    assert body in markdown


def test_an_index_entry_at_the_top_is_no_running_head():
    """A manual's index: the right column's first entry "deleting, 281" is the page's topmost line and ends
    in a page number, like a running head; it is set as close to the entry under it as the whole column is,
    so it stays, in its column's order. The footer "Index 601" goes."""
    markdown = flat(converted("guidebook_failed_pages_pg3").markdown)
    assert "deleting, 281" in markdown and "Index 601" not in markdown
    assert markdown.index("Define, 287") < markdown.index("deleting, 281") < markdown.index("display graph")


def test_table_without_rules_keeps_its_header_and_sentence_cells():
    """The TI-89 command table: no ruling lines, descriptions are sentences running over two lines. Inside
    the model's table region it is one table whose header row is the table's header and each command
    stands in the row of its whole description; the running footer is gone."""
    markdown = converted("ti89_guidebook_programming_pg19").markdown
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in markdown.split("\n")
            if line.startswith("|")]
    assert rows[0] == ["Command", "Description"] and set(rows[1][0]) <= {"-"}
    cells = {row[0]: row[1] for row in rows[2:] if len(row) == 2}
    assert cells["dim"] == "Returns the number of characters in a string."
    assert cells["&"] == "Appends (concatenates) two strings into one string."
    assert cells["ord"].startswith("Returns the character code of the first character within a string.")
    assert list(cells)[-1] == "string" and len(cells) == 14  # every command of the page, in its order
    assert "Chapter 17: Programming" not in flat(markdown)


def test_a_poster_sized_vector_figure_is_rendered_at_most_4000_pixels_a_side_and_4_megapixels():
    """The same chart drawn eight times larger (a poster page, as a mind map on a 24.6 x 46.5 in. page in
    the bench corpus): rendered at 150 dpi it would be about 5,400 px wide, so it is rendered smaller, to
    4,000 px on its longer side at most and 4 MP, the caps LaTeX figures have too."""
    import io

    import pymupdf
    from PIL import Image

    from bench.vector_charts import chart_page
    from pin_assets.core.content_images import MAX_FIGURE_PIXELS, MAX_FIGURE_SIDE

    with pymupdf.open(stream=chart_page("grouped")) as chart:
        poster = pymupdf.open()
        page = poster.new_page(width=chart[0].rect.width * 8, height=chart[0].rect.height * 8)
        page.show_pdf_page(page.rect, chart, 0)
    parsed = pdf_to_markdown(poster.tobytes())
    assert len(parsed.images) == 1
    width, height = Image.open(io.BytesIO(parsed.images[0].data)).size
    assert max(width, height) <= MAX_FIGURE_SIDE and 0.98 * MAX_FIGURE_PIXELS <= width * height <= MAX_FIGURE_PIXELS


def test_vector_chart_is_a_content_image_and_its_labels_are_not_prose(tmp_path):
    """A matplotlib chart drawn as paths becomes one content image, counted in ``vector_figures``; its
    tick labels are neither prose nor a table, the caption stays text, and the ruled table under it stays a
    table with its header row."""
    from bench.vector_charts import TABLE_ROWS, chart_page

    parsed = pdf_to_markdown(chart_page("grouped"))
    markdown = parsed.markdown
    assert len(parsed.images) == 1 and parsed.metadata[VECTOR_FIGURES] == "1"
    assert re.search(r"!\[[^\]]*\]\([^)]+\)", markdown)
    assert "Figure 1. The grouped chart" in flat(markdown)
    assert "Distilled Quantized" not in flat(markdown) and "81.2 79.5" not in flat(markdown)
    tables = [line for line in markdown.split("\n") if line.startswith("|")]
    assert tables[0] == "| " + " | ".join(TABLE_ROWS[0]) + " |" and len(tables) == len(TABLE_ROWS) + 1


def test_vector_figures_is_a_signal_of_the_record(tmp_path):
    """The record of a page with a chart drawn as paths counts it in the ``vector_figures`` signal (and in
    ``ori_meta``); a page whose only picture is a raster logo counts none."""
    from bench.vector_charts import chart_page
    from pin_assets.core.convert_files import convert_file
    from pin_assets.core.pdf_pages import RenderOptions

    (tmp_path / "chart.pdf").write_bytes(chart_page("grouped"))
    chart = convert_file(tmp_path / "chart.pdf", tmp_path / "out", RenderOptions(dpi=30))
    assert chart["quality_signals"]["vector_figures"] == 1 and chart["meta"]["ori_meta"][VECTOR_FIGURES] == "1"
    assert chart["quality_signals"]["image_count"] == 1
    plain = convert_file(PAGES / "lots_of_sci_tables_pg1.pdf", tmp_path / "out", RenderOptions(dpi=30))
    assert plain["quality_signals"]["vector_figures"] == 0 and plain["quality_signals"]["image_count"] == 1


@pytest.mark.parametrize("model", ["missing.onnx", "broken.onnx"])
def test_a_model_that_cannot_load_costs_one_warning_not_the_document(tmp_path, model):
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx graph" * 64)
    parsed = pdf_to_markdown((PAGES / "load_v_error_pg15.pdf").read_bytes(), layout_model=str(tmp_path / model))
    layout_warnings = [w for w in parsed.warnings if "layout model" in w]
    assert len(layout_warnings) == 1 and parsed.metadata["layout_model"] == "unavailable"
    assert flat(parsed.markdown) == flat(converted("load_v_error_pg15", "off").markdown)


def test_grid_made_regular_drops_empty_columns_and_grid_rows():
    """A header drawn as fills a few points off the body's rules: an empty column, and a grid row that only
    a header cell's fill spans. The regular grid has neither, so the table is plain GFM with its header
    row; a real span stays a span, written as HTML with ``<th>`` for the header row."""
    grid = [(0, 0, 2, 1, "Jumper"), (0, 1, 1, 1, ""), (0, 2, 1, 1, "Boot Mode"),
            (1, 1, 1, 1, ""), (1, 2, 1, 1, ""),
            (2, 0, 1, 1, "JP1"), (2, 1, 1, 1, ""), (2, 2, 1, 1, "Reserved"),
            (3, 0, 1, 1, "JP2"), (3, 1, 1, 1, ""), (3, 2, 1, 1, "Installed")]
    assert table_markdown(regular(grid)) == "| Jumper | Boot Mode |\n|---|---|\n| JP1 | Reserved |\n| JP2 | Installed |"
    spanning = [(0, 0, 1, 2, "Turns"), (1, 0, 1, 1, "Pr"), (1, 1, 1, 1, "Re"), (2, 0, 1, 1, "64.7"),
                (2, 1, 1, 1, "47.2")]
    assert table_markdown(regular(spanning)).startswith('<table>\n<tr><th colspan="2">Turns</th></tr>')
