"""PDF unit tests (olmOCR-bench kinds) and speed: this project against pymupdf4llm and plain get_text().

Every tool converts the same test documents (see :mod:`bench.pdf_units`) in its own worker process
(:mod:`bench.parse_worker`); the Markdown is scored with :mod:`bench.pdf_units.score`, giving a pass
rate per test kind. In the same run the tools are timed, interleaved, on those documents and on the
throughput corpus (``corpus/bench``), so quality and speed sit side by side as ratios.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.parse import Worker
from bench.pdf_units import docs
from bench.pdf_units.score import KINDS, Result, load_cases, score
from bench.report import Row
from bench.timing import interleaved

LABELS = {
    "pin": "pin pdf_to_markdown",
    "pymupdf4llm-layout": "pymupdf4llm default (layout)",
    "gettext": "plain get_text()",
}
RIVAL = "pymupdf4llm-layout"
QUICK_DOC = "generated/results_table.pdf"


def markdown_by_spec(worker: Worker, built: dict[str, Path], folder: Path) -> dict[str, str]:
    """Ask a worker to convert every test document; the Markdown keyed by document spec."""
    folder.mkdir(parents=True, exist_ok=True)
    worker.ask(f"dump {folder}")
    return {spec: (folder / f"{path.stem}.md").read_text(encoding="utf-8") for spec, path in built.items()}


def run(throughput_pdfs: list[Path], throughput_pages: int, runs: int, warmup: int = 1,
        scratch: Path | None = None, quick: bool = False) -> tuple[list[Row], list[str], dict[str, Result]]:
    """Rows for the table, notes, and each tool's scored result (for the failures list).

    ``quick`` keeps only the tests of one generated page (pymupdf4llm takes seconds a page), for the
    smoke test; its pass rates say nothing.
    """
    cases = load_cases()
    if quick:
        cases = [c for c in cases if c["pdf"] == QUICK_DOC]
    with tempfile.TemporaryDirectory(prefix="pin-units-", dir=scratch) as tmp:
        folder = Path(tmp)
        built = docs.build([c["pdf"] for c in cases], folder / "docs")
        pdfs = sorted(built.values())
        unit_pages = sum(docs.page_count(p) for p in pdfs)
        workers = {tool: Worker(tool, pdfs) for tool in LABELS}
        try:
            results = {tool: score(cases, markdown_by_spec(w, built, folder / tool)) for tool, w in workers.items()}
            samples = interleaved({t: (lambda w=w: float(w.ask("time")["seconds"])) for t, w in workers.items()},
                                  runs, warmup)
        finally:
            for worker in workers.values():
                worker.close()
        corpus = {tool: Worker(tool, throughput_pdfs) for tool in ("pin", RIVAL)}
        try:
            corpus_samples = interleaved(
                {t: (lambda w=w: float(w.ask("time")["seconds"])) for t, w in corpus.items()}, runs, warmup)
        finally:
            for worker in corpus.values():
                worker.close()
    rows: list[Row] = []
    for tool, label in LABELS.items():
        result = results[tool]
        rows.append(Row(f"units: {label} pass rate", 100 * result.rate, "%", result.summary()))
        for kind in KINDS:
            if kind in result.total:
                rows.append(Row(f"units: {label} {kind}", 100 * result.kind_rate(kind), "%",
                                f"{result.passed.get(kind, 0)}/{result.total[kind]} tests"))
    lead = 100 * (results["pin"].rate - results[RIVAL].rate)
    rows.append(Row("units: pin minus pymupdf4llm default", lead, "points", "pass rate, same run", "> 0", lead > 0))
    for tool, label in LABELS.items():
        rows.append(Row(f"units speed: {label}", samples.rate(tool, unit_pages), "pages/s",
                        f"{len(pdfs)} test documents, {unit_pages} pages; {samples.spread(tool)}"))
    rows.append(Row("units speed: pin vs pymupdf4llm default", samples.ratio(RIVAL, "pin"), "x faster",
                    "time ratio per run"))
    for tool in ("pin", RIVAL):
        rows.append(Row(f"units corpus speed: {LABELS[tool]}", corpus_samples.rate(tool, throughput_pages),
                        "pages/s", f"{len(throughput_pdfs)} PDFs, {throughput_pages} pages; "
                        f"{corpus_samples.spread(tool)}"))
    ratio = corpus_samples.ratio(RIVAL, "pin")
    rows.append(Row("units corpus speed: pin vs pymupdf4llm default", ratio, "x faster", "time ratio per run, "
                    "text layer", ">= 3", ratio >= 3))
    notes = [f"units: {sum(results['pin'].total.values())} tests on {len(pdfs)} documents "
             f"(bench/pdf_units/cases.jsonl); pin fails: {', '.join(results['pin'].failed) or 'none'}"]
    return rows, notes, results
