"""Pages holding vector charts, as matplotlib, Excel and arXiv figures reach a PDF: drawn as paths, with
tick labels, legends and axis titles as text. Used by the tests and by :mod:`bench.pdf_quality`.

Each chart is saved by matplotlib as a one-page vector PDF (``savefig(format="pdf")``) and placed on a
Letter page with ``show_pdf_page``, so it stays paths and text; around it stand a heading, a paragraph
and a "Figure N." caption, and on one page a ruled table that must stay a table. matplotlib is a test and
benchmark dependency only (the ``test`` extra).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pymupdf

WIDTH, HEIGHT = 612, 792
BODY = ("The measurements were repeated on three independent runs and the figure below shows their mean. "
        "Each series was normalised to its first value so that the trends can be compared directly, and the "
        "shaded band marks the spread between the runs.")


def _figure(draw: Callable, size: tuple[float, float] = (6.0, 3.6)) -> bytes:
    """A matplotlib figure drawn by ``draw(fig)`` as vector PDF bytes (fonts embedded, no raster)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    fig = plt.figure(figsize=size)
    try:
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def line_chart(fig) -> None:
    ax = fig.add_subplot()
    xs = list(range(2010, 2025))
    ax.plot(xs, [1 + 0.08 * i + 0.05 * (i % 3) for i in range(len(xs))], label="Solar capacity")
    ax.plot(xs, [1 + 0.03 * i for i in range(len(xs))], label="Wind capacity", linestyle="--")
    ax.fill_between(xs, [0.9 + 0.03 * i for i in range(len(xs))], [1.1 + 0.03 * i for i in range(len(xs))],
                    alpha=0.2)
    ax.set_xlabel("Year")
    ax.set_ylabel("Installed capacity (relative)")
    ax.set_title("Capacity growth by source")
    ax.grid(True)
    ax.legend()


def bar_chart(fig) -> None:
    ax = fig.add_subplot()
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    ax.bar(names, [12, 15, 19, 23, 28, 31, 35, 34, 29, 22, 16, 13], color="tab:orange")
    ax.set_ylabel("Mean temperature (°C)")
    ax.set_xlabel("Month")


def grouped_bars(fig) -> None:
    ax = fig.add_subplot()
    groups = ["Baseline", "Pruned", "Distilled", "Quantized"]
    for k, (label, values) in enumerate((("Accuracy", [81.2, 79.5, 80.1, 78.8]),
                                         ("Recall", [77.4, 75.0, 76.3, 74.9]))):
        positions = [i + 0.4 * k for i in range(len(groups))]
        bars = ax.bar(positions, values, width=0.4, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks([i + 0.2 for i in range(len(groups))], groups)
    ax.set_ylim(60, 90)
    ax.legend(loc="lower right")


def scatter_chart(fig) -> None:
    ax = fig.add_subplot()
    xs = [((i * 37) % 101) / 10 for i in range(80)]
    ys = [x * 0.8 + ((i * 53) % 17) / 6 for i, x in enumerate(xs)]
    ax.scatter(xs[:40], ys[:40], s=12, label="Cohort 1")
    ax.scatter(xs[40:], ys[40:], s=12, marker="^", label="Cohort 2")
    ax.legend()
    ax.set_xlabel("Dose (mg)")
    ax.set_ylabel("Response (a.u.)")


def panels(fig) -> None:
    for k in range(4):
        ax = fig.add_subplot(2, 2, k + 1)
        ax.plot(range(10), [(i * (k + 1)) % 7 for i in range(10)], marker="o", markersize=3)
        ax.set_title(f"Panel {'abcd'[k]}", fontsize=8)
        ax.tick_params(labelsize=6)


def pie_chart(fig) -> None:
    ax = fig.add_subplot()
    ax.pie([35, 25, 20, 12, 8], labels=["Coal", "Gas", "Hydro", "Nuclear", "Other"], autopct="%1.0f%%")
    ax.set_title("Electricity generation mix")


def step_histogram(fig) -> None:
    ax = fig.add_subplot()
    values = [((i * 7919) % 1000) / 100 for i in range(400)]
    ax.hist(values, bins=20, histtype="stepfilled", alpha=0.6, label="Sample A")
    ax.hist([v * 0.7 + 1 for v in values], bins=20, histtype="step", label="Sample B")
    ax.set_xlabel("Latency (ms)")
    ax.set_ylabel("Requests")
    ax.legend()


# name: (draw function, figure size in inches, layout): "full" a chart across the page; "column" a chart in
# the left column of a two-column page beside text; "table" a chart above a ruled table.
CHARTS: dict[str, tuple[Callable, tuple[float, float], str]] = {
    "line": (line_chart, (6.0, 3.6), "full"),
    "bars": (bar_chart, (6.0, 3.4), "full"),
    "grouped": (grouped_bars, (6.0, 3.4), "table"),
    "scatter": (scatter_chart, (3.2, 2.6), "column"),
    "panels": (panels, (6.0, 4.0), "full"),
    "pie": (pie_chart, (4.0, 3.4), "full"),
    "histogram": (step_histogram, (3.2, 2.6), "column"),
}
TABLE_ROWS = [["Model", "Accuracy", "Recall", "Size (MB)"], ["Baseline", "81.2", "77.4", "420"],
              ["Pruned", "79.5", "75.0", "198"], ["Distilled", "80.1", "76.3", "143"],
              ["Quantized", "78.8", "74.9", "105"]]


def chart_page(name: str) -> bytes:
    """A one-page PDF: heading, paragraph, the chart as vector paths, its caption, and per layout a
    second column of text or a ruled table."""
    draw, size, layout = CHARTS[name]
    chart = pymupdf.open("pdf", _figure(draw, size))
    doc = pymupdf.open()
    page = doc.new_page(width=WIDTH, height=HEIGHT)
    page.insert_text((72, 80), f"Results for the {name} experiment", fontname="hebo", fontsize=15)
    column = 468 if layout != "column" else 222
    y = _paragraph(page, 72, 110, column, BODY)
    width, height = size[0] * 72, size[1] * 72
    scale = min(1.0, column / width)
    box = pymupdf.Rect(72, y + 6, 72 + width * scale, y + 6 + height * scale)
    page.show_pdf_page(box, chart, 0)
    y = _paragraph(page, 72, box.y1 + 18, column, f"Figure 1. The {name} chart of the mean over three runs; "
                   "error bands show one standard deviation.", size=9)
    if layout == "column":
        _paragraph(page, 318, 110, 222, BODY + " " + BODY + " The second column continues the discussion of "
                   "the measurements without any figure of its own.")
    if layout == "table":
        y = _paragraph(page, 72, y + 12, 468, "Table 1. Accuracy, recall and size of each model.", size=9)
        _ruled_table(page, 72, y, TABLE_ROWS)
    return doc.tobytes(deflate=True)


def _paragraph(page: pymupdf.Page, x: float, y: float, width: float, text: str, size: float = 10) -> float:
    """Text wrapped to ``width``, first baseline at ``y``; returns the baseline below the last line."""
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and pymupdf.get_text_length(trial, fontname="tiro", fontsize=size) > width:
            page.insert_text((x, y), line, fontname="tiro", fontsize=size)
            y += size * 1.3
            line = word
        else:
            line = trial
    page.insert_text((x, y), line, fontname="tiro", fontsize=size)
    return y + size * 1.3


def _ruled_table(page: pymupdf.Page, x: float, y: float, rows: list[list[str]]) -> None:
    """A fully ruled grid, header row in bold."""
    widths = [140, 100, 100, 100]
    height = 18
    edges = [x + sum(widths[:i]) for i in range(len(widths) + 1)]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            page.insert_text((edges[c] + 4, y + r * height + 13), cell, fontname="hebo" if r == 0 else "helv",
                             fontsize=9)
    for r in range(len(rows) + 1):
        page.draw_line((edges[0], y + r * height), (edges[-1], y + r * height), width=0.6)
    for edge in edges:
        page.draw_line((edge, y), (edge, y + len(rows) * height), width=0.6)


def write_chart_pages(folder: Path) -> list[Path]:
    """Every chart page as ``folder/chart-<name>.pdf``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in CHARTS:
        path = folder / f"chart-{name}.pdf"
        path.write_bytes(chart_page(name))
        paths.append(path)
    return paths


def count_figures(md_dir: Path, pdfs: list[Path]) -> tuple[int, int, int, int]:
    """(pages whose chart came out as at least one image, tables other than the ruled one, ruled tables kept
    with their header row, ruled tables wanted) over the Markdown of the chart pages."""
    kept = junk = ruled = wanted = 0
    for pdf in pdfs:
        md_path = md_dir / f"{pdf.stem}.md"
        markdown = md_path.read_text(encoding="utf-8") if md_path.exists() else ""
        kept += bool(re.search(r"!\[[^\]]*\]\([^)]+\)|<img\b", markdown))
        tables = _tables(markdown)
        expect_table = CHARTS[pdf.stem.removeprefix("chart-")][2] == "table"
        wanted += expect_table
        good = [t for t in tables if t and [c.lower() for c in t[0]] == [c.lower() for c in TABLE_ROWS[0]]]
        ruled += expect_table and bool(good)
        junk += len(tables) - (1 if expect_table and good else 0)
    return kept, junk, ruled, wanted


def _tables(markdown: str) -> list[list[list[str]]]:
    """GFM and HTML tables of the Markdown as grids of plain cell text."""
    from bench.pdf_units.score import tables

    return [[[re.sub(r"\s+", " ", c).strip() for c in row] for row in grid] for grid in tables(markdown)]
