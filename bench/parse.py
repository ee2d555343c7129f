"""Parse throughput and quality: `pdf_to_markdown` against pymupdf4llm in both of its modes.

Speed alone would reward a parser that drops content, so every tool is also scored on the reference
corpus (``*.expected.md``) with the shared scorer, and the speed target counts only at equal or better
quality. Tools run in separate worker processes (see :mod:`bench.parse_worker`) and are timed
interleaved, one ``time`` command each per repetition. Ours runs with the pipeline's OCR settings, so
the per-page OCR decision is in its time; the share of pages it OCR'd is reported, and OCR itself is
measured on scanned copies of the reference PDFs (:mod:`bench.ocr`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import ocr
from bench.corpus import REPO, SHARED
from bench.report import Row
from bench.timing import interleaved

LABELS = {
    "pin": "pin pdf_to_markdown",
    "pymupdf4llm-layout": "pymupdf4llm default (layout)",
    "pymupdf4llm-nolayout": "pymupdf4llm use_layout(False)",
}
SCORER = SHARED / "tools" / "score_md.py"
METRICS = ("similarity", "heading_recall", "table_recall")
QUALITY_SLACK = 0.01  # scores are printed to 3 decimals; a 0.01 dip is rounding, not a loss


class Worker:
    """A parse_worker process: one request line in, one JSON line out."""

    def __init__(self, tool: str, pdfs: list[Path]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.parse_worker", tool, *map(str, pdfs)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.ask_ready()

    def ask_ready(self) -> None:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if "ready" not in line:
            raise RuntimeError(f"parse worker did not start: {line!r}")

    def ask(self, command: str) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"parse worker died on {command!r} (exit {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        """Ask the worker to quit; kill it if it does not within a minute (or the pipe is gone)."""
        try:
            if self.process.poll() is None and self.process.stdin:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def score(reference_dir: Path, md_dir: Path) -> dict[str, float]:
    """The shared scorer's summary line (``reference docs=7 similarity=0.812 ...``) as numbers."""
    done = subprocess.run([sys.executable, str(SCORER), "ref", str(reference_dir), str(md_dir)],
                          capture_output=True, text=True, check=True)
    summary = done.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", summary) if key in METRICS}


def quality(tool: str, reference_dir: Path) -> dict[str, float]:
    pdfs = sorted(reference_dir.glob("*.pdf"))
    worker = Worker(tool, pdfs)
    try:
        with tempfile.TemporaryDirectory(prefix="pin-bench-md-") as tmp:
            worker.ask(f"dump {tmp}")
            return score(reference_dir, Path(tmp))
    finally:
        worker.close()


def run(
    pdfs: list[Path], pages: int, reference_dir: Path | None, runs: int, warmup: int = 1
) -> tuple[list[Row], list[str]]:
    notes: list[str] = []
    workers = {tool: Worker(tool, pdfs) for tool in LABELS}
    try:
        contenders: dict[str, Callable[[], float]] = {
            tool: (lambda w=worker: float(w.ask("time")["seconds"])) for tool, worker in workers.items()
        }
        samples = interleaved(contenders, runs, warmup)
        counted = workers["pin"].ask("ocr")
    finally:
        for worker in workers.values():
            worker.close()
    rows = [Row(f"parse: {LABELS[tool]}", samples.rate(tool, pages), "pages/s", f"{pages} pages; "
                f"{samples.spread(tool)}") for tool in LABELS]
    speedup = samples.ratio("pymupdf4llm-layout", "pin")
    rows.append(Row("parse: pin vs pymupdf4llm default", speedup, "x faster", "time ratio per run"))
    rows.append(Row("parse: pin vs pymupdf4llm use_layout(False)", samples.ratio("pymupdf4llm-nolayout", "pin"),
                    "x faster", "time ratio per run"))
    share = Row("parse: pin pages OCR'd", counted["ocr_pages"] / max(counted["pages"], 1), "fraction",
                f"{counted['ocr_pages']} of {counted['pages']} pages (pages with a readable text layer are not)")
    if reference_dir is None or not SCORER.exists():
        notes.append("parse quality not scored: /work/shared/corpus/pdf/*.expected.md or score_md.py missing")
        rows[-2] = Row(rows[-2].name, speedup, rows[-2].unit, rows[-2].how + "; quality unknown", ">= 3",
                       speedup >= 3)
        return [*rows, share], notes
    scores = {tool: quality(tool, reference_dir) for tool in LABELS}
    docs = len(list(reference_dir.glob("*.expected.md")))
    for tool in LABELS:
        for metric in METRICS:
            rows.append(Row(f"parse quality: {LABELS[tool]} {metric.replace('_', ' ')}", scores[tool][metric],
                            "score 0-1", f"mean over {docs} reference docs"))
    as_good = all(scores["pin"][m] >= scores["pymupdf4llm-layout"][m] - QUALITY_SLACK for m in METRICS)
    worse = [m for m in METRICS if scores["pin"][m] < scores["pymupdf4llm-layout"][m] - QUALITY_SLACK]
    rows[3] = Row(rows[3].name, speedup, rows[3].unit,
                  "time ratio per run; quality " + ("equal or better" if as_good else f"worse in {', '.join(worse)}"),
                  ">= 3 at equal or better quality", speedup >= 3 and as_good)
    ocr_rows, ocr_notes = ocr.run(reference_dir, SCORER)
    return [*rows, share, *ocr_rows], notes + ocr_notes
