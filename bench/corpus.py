"""Benchmark inputs: the real PDFs, and generated batches of distinct documents made from them.

Generated documents must differ byte for byte, or ingest (content-addressed by sha256) would store one
copy and the batch would shrink to four documents. Each copy gets its own metadata subject, which
changes the bytes and the hash but not the pages a parser or renderer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pymupdf

from pin_assets.core.sources.listing import SAMPLE_PDF_DIR as SAMPLE

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@dataclass(frozen=True)
class Inputs:
    """The throughput PDFs, the folder of PDFs with reference Markdown, and where they came from."""

    pdfs: list[Path]
    reference_dir: Path | None
    origin: str

    @property
    def pages(self) -> int:
        return sum(page_count(p) for p in self.pdfs)


def find_inputs(limit: int | None = None) -> Inputs:
    """/work/shared/corpus/bench (fallback: the bundled sample PDFs), first ``limit`` files if given."""
    bench_dir = SHARED / "corpus" / "bench"
    pdfs = sorted(bench_dir.glob("*.pdf"))
    origin = str(bench_dir)
    if not pdfs:
        pdfs, origin = sorted(SAMPLE.glob("*.pdf")), str(SAMPLE)
    if not pdfs:
        raise SystemExit(f"bench: no input PDFs in {bench_dir} or {SAMPLE}")
    reference = SHARED / "corpus" / "pdf"
    has_reference = reference.is_dir() and any(reference.glob("*.expected.md"))
    return Inputs(pdfs[:limit] if limit else pdfs, reference if has_reference else None, origin)


def page_count(path: Path) -> int:
    with pymupdf.open(path) as doc:
        return doc.page_count


def make_batch(sources: list[Path], folder: Path, count: int, pages_per_doc: int = 1) -> Path:
    """Write ``count`` distinct PDFs into ``folder``, cycling over the pages of ``sources``.

    ``pages_per_doc`` pages are cut from consecutive pages of a source into each document (0 = the whole
    source file). Slices keep a 100-document batch small enough to repeat five times on two cores while
    every page is still a real page of a real paper; the subject metadata makes every file unique.
    """
    folder.mkdir(parents=True, exist_ok=True)
    slices = _slices(sources, pages_per_doc)
    for index in range(count):
        source, first, last = slices[index % len(slices)]
        with pymupdf.open(source) as original, pymupdf.open() as out:
            out.insert_pdf(original, from_page=first, to_page=last)
            out.set_metadata({"title": f"{source.stem} p{first + 1}", "subject": f"pin-bench copy {index}"})
            out.save(folder / f"doc-{index:05d}.pdf")
    return folder


def _slices(sources: list[Path], pages_per_doc: int) -> list[tuple[Path, int, int]]:
    """(file, first page, last page) windows over every source, in order."""
    slices = []
    for source in sources:
        pages = page_count(source)
        step = pages if pages_per_doc <= 0 else pages_per_doc
        for first in range(0, pages, step):
            slices.append((source, first, min(first + step, pages) - 1))
    return slices
