"""The result table: one row per number, each with its unit, how it was obtained, and its target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

HEADER = ("benchmark", "value", "unit", "how", "target", "met")


@dataclass(frozen=True)
class Row:
    """A single measured or derived number; ``met`` is None where the issue sets no target."""

    name: str
    value: float
    unit: str
    how: str = ""
    target: str = ""
    met: bool | None = None


def format_value(value: float) -> str:
    """Three significant figures or so: benchmark noise makes more digits a lie."""
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| --- | ---: | --- | --- | --- | --- |"]
    for row in rows:
        met = "" if row.met is None else ("met" if row.met else "MISSED")
        cells = (row.name, format_value(row.value), row.unit, row.how, row.target, met)
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


METHOD = """\
- Every timed number is the median of the runs after one untimed warm-up; contenders are interleaved
  within each run and ratios are taken within a run, then their median reported, so load from other
  processes on a shared machine mostly cancels out of the ratios (rates still move with it).
- render: `render_pdf_pages` with the pipeline's default `RenderOptions` writing one file per page, vs
  pdf2image (pdftoppm writing PNG/JPEG files itself; for WebP, `convert_from_path` then
  `Image.save(quality=80)` with Pillow's default effort), vs a bare PyMuPDF loop (pixmap, the pipeline's
  encoder and settings, write). One process, one thread each.
- parse: each tool in its own worker process (pymupdf4llm switches PyMuPDF into layout mode globally when
  imported); pymupdf4llm with its defaults (layout model on; no images written) and with
  `use_layout(False)`. Quality: `/work/shared/tools/score_md.py ref` on `/work/shared/corpus/pdf`.
- end to end: a generated batch (distinct PDFs cut from the bench PDFs, one page each by default) through
  `pin_job` (`execute_in_process`, SQLite instance and local store in a temp folder, as `pin materialize`)
  vs a plain loop of the same core calls in the same stage order through the same `run_isolated` pool
  (ingest hashing, parse, render, signals, record build, validation and JSONL), each run in a fresh
  subprocess. Set-up is excluded from both and shown separately: Python imports, and for Dagster also
  creating the temp SQLite instance and registering the batch (the run is timed as `pin materialize`
  times itself: `execute_in_process` only).
- scaling: `pin_job` on N, 2N, 4N, 8N documents, one run each after a warm-up; peak RSS is the largest
  sum of resident memory over the run process and all its descendants (forkserver, pool workers), polled
  every 50 ms; shared pages are counted once per process, so it overstates true use but is comparable.
"""


def write_results(path: Path, table: str, machine: dict[str, str], notes: list[str], command: str) -> None:
    """RESULTS.md: the command, the machine, the table, and what a reader must know to trust it."""
    lines = ["# pin-factory benchmark results", "", f"Command: `{command}`", "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += ["", "## Results", "", table, "", "## Method", "", METHOD]
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_section(path: Path, heading: str, intro: list[str], table: str, notes: list[str]) -> None:
    """Replace the ``## heading`` section of RESULTS.md (up to the next ``## ``), or append it.

    Sections run on their own (``--only realsyn``) keep the rest of the file, whose numbers came from
    other runs; the intro says which command and machine load produced this one.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# pin-factory benchmark results"]
    title = f"## {heading}"
    section = [title, "", *intro, "", table, ""] + [f"- {note}" for note in notes] + ([""] if notes else [])
    if title in lines:
        start = lines.index(title)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = section
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += section
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
