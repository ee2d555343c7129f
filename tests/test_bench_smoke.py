"""The benchmark runner still runs: ``python -m bench --quick`` on one page yields every row, as numbers.

The full benchmark takes ten minutes and its numbers depend on the machine, so tests never assert
speed targets; they assert that each section still produces its rows with numeric values, so a
refactor of the pipeline that breaks a benchmark is caught before someone needs the numbers.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

from bench.report import Row, format_value, markdown_table, write_section
from bench.stats import SCRIPT as STATS_SCRIPT
from bench.stats import parse_table
from tests.conftest import REPO, SHARED_CORPUS, corpus_dir

EXPECTED_ROWS = [
    "render webp: pin render_pdf_pages",
    "render webp: pdf2image (poppler)",
    "render webp: bare PyMuPDF loop",
    "render webp: pin vs pdf2image",
    "render webp: pin time / bare time",
    "parse: pin pdf_to_markdown",
    "parse: pymupdf4llm default (layout)",
    "parse: pymupdf4llm use_layout(False)",
    "parse: pin vs pymupdf4llm default",
    "parse: pin pages OCR'd",
    "units: pin pdf_to_markdown pass rate",
    "units: pymupdf4llm default (layout) table",
    "units: plain get_text() absent",
    "units corpus speed: pin vs pymupdf4llm default",
    "end to end: Dagster pin_job",
    "end to end: plain loop, same core + pool",
    "end to end: Dagster overhead",
    "scaling: 1 docs, time per document",
    "scaling: 8 docs, time per document",
    "scaling: time per doc 8N / N",
    "scaling: peak RSS 8N / N",
    "realsyn scale: 2,000 sentences, peak RSS",
    "realsyn scale: 32,000 sentences, time per sentence",
    "realsyn scale: 32,000 sentences, recall@3 vs exact",
    "realsyn scale: peak RSS 16N / N",
    "realsyn scale: time per sentence 16N / N",
    "realsyn scale: CPU time per sentence 16N / N",
    "realsyn codec at 2,000: PQ",
    "realsyn encoder: PyTorch",
    "realsyn encoder: ONNX Runtime",
    "realsyn encoder: OpenVINO vs PyTorch (auto picks it)",
]
SHARED_ROWS = [  # scored against the shared corpus's references: printed only where ../shared is present
    "parse quality: pin pdf_to_markdown similarity",
    "parse quality: pymupdf4llm default (layout) heading recall",
    "parse quality: pymupdf4llm use_layout(False) table recall",
    "ocr: pin scanned pages (all)",
    "ocr: pin scanned pages (English)",
    "ocr: similarity to the original's text (English)",
]
TARGET_ROWS = ["render webp: pin vs pdf2image", "render webp: pin time / bare time",
               "parse: pin vs pymupdf4llm default", "end to end: Dagster overhead", "scaling: peak RSS 8N / N",
               "realsyn scale: peak RSS 16N / N", "realsyn encoder: OpenVINO vs PyTorch (auto picks it)"]


def table_rows(text: str) -> dict[str, list[str]]:
    """Body rows of the printed Markdown table, by benchmark name."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 6 and cells[0] not in ("benchmark", "---"):
            rows[cells[0]] = cells
    return rows


def test_quick_bench_prints_every_row_with_numbers(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(corpus_dir("pdf") / "2305.03393v1-pg9.pdf", inputs / "one-page.pdf")
    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--inputs", str(inputs), "--out", str(results)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = table_rows(done.stdout)
    expected = EXPECTED_ROWS + (["stats: count_where, 100,000 signal rows"] if STATS_SCRIPT.exists() else [])
    expected += SHARED_ROWS if (SHARED_CORPUS / "pdf").is_dir() else []
    missing = [name for name in expected if name not in rows]
    assert not missing, f"rows missing from the table: {missing}\n{done.stdout}"
    for name, cells in rows.items():
        value = float(cells[1].replace(",", ""))
        assert math.isfinite(value), f"{name}: value {cells[1]!r} is not a number"
        assert cells[5] in ("", "met", "MISSED"), f"{name}: status {cells[5]!r}"
    for name in TARGET_ROWS:
        assert rows[name][4] and rows[name][5], f"{name} has no target or no met/MISSED verdict"
    assert rows["parse: pin pdf_to_markdown"][2] == "pages/s"
    written = results.read_text()
    assert "## Machine" in written and "- cpu: " in written and "- pymupdf: " in written
    assert "| render webp: pin render_pdf_pages |" in written
    assert written.count("## RealSyn at corpus scale") == 1 and "| realsyn encoder: PyTorch |" in written


def test_table_cells_are_numbers_and_verdicts() -> None:
    table = markdown_table([Row("a", 12.345, "pages/s"), Row("b", 0.5, "x", "how", "<= 1.25", True),
                            Row("c | d", 3.0, "x", met=False)])
    rows = table_rows(table)
    assert rows["a"][1] == "12.3" and rows["b"][5] == "met" and rows["c / d"][5] == "MISSED"
    assert format_value(float("nan")) == "n/a" and format_value(1234.5) == "1,234"


def test_stats_table_is_read_by_column_name() -> None:
    stdout = (
        "cpus: 2\n\n| rows | files | Parquet MB | exact quantiles (s) | rows/s (default) | count_where (s) |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n| 1,000,000 | 1 | 270 | 2.50 | 400,000 | 0.125 |\n"
    )
    rows = {row.name: row for row in parse_table(stdout, runs=5)}
    assert rows["stats: exact quantiles, 1M signal rows"].value == 2.5
    assert rows["stats: rows/s (default), 1M signal rows"].unit == "rows/s"
    assert rows["stats: count_where, 1M signal rows"].value == 0.125
    assert "files 1" in rows["stats: count_where, 1M signal rows"].how
    assert parse_table("no table here", runs=5) == []


def test_a_section_run_alone_replaces_only_its_own_part_of_the_results(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# results\n\n## Results\n\n| a |\n\n## Web pages\n\nweb table\n")
    write_section(results, "RealSyn", ["first run"], "| old |", ["note one"])
    assert results.read_text().endswith("## Web pages\n\nweb table\n\n## RealSyn\n\nfirst run\n\n| old |\n\n"
                                        "- note one\n")
    write_section(results, "RealSyn", ["second run"], "| new |", [])
    results.write_text(results.read_text() + "\n## After\n\nkept\n")
    write_section(results, "RealSyn", ["third run"], "| newer |", [])
    text = results.read_text()
    assert text.count("## RealSyn") == 1 and "| newer |" in text and "| old |" not in text and "| new |" not in text
    assert text.index("## Web pages") < text.index("## RealSyn") < text.index("## After") and "kept" in text
