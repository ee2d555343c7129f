"""OCR throughput and accuracy on scanned copies of the reference PDFs.

Every page of each reference PDF is rasterized (grey, 150 dpi, as a scanner gives it) into an image-only
PDF; our converter OCRs it with the pipeline's settings, and the Markdown is compared with the Markdown of
the text-layer original (the same converter on the real PDF) by the shared scorer's normalisation and
word-sequence similarity, so order, paragraphs and headings count as well as words. OCR runs in this process:
only the pymupdf4llm contenders need a process of their own (see :mod:`bench.parse_worker`).
"""

from __future__ import annotations

import difflib
import importlib.util
import time
from pathlib import Path

import pymupdf

from bench.report import Row

SCAN_DPI = 150


def scanned_copy(pdf: Path, dpi: int = SCAN_DPI) -> bytes:
    """``pdf`` with every page replaced by a grey raster of itself (no text layer left)."""
    out = pymupdf.open()
    with pymupdf.open(pdf) as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
            copy = out.new_page(width=page.rect.width, height=page.rect.height)
            copy.insert_image(copy.rect, stream=pix.tobytes("png"))
    return out.tobytes()


def run(reference_dir: Path, scorer_path: Path) -> tuple[list[Row], list[str]]:
    """Rows: OCR pages/s and mean similarity to the originals' text; a note with each document's score."""
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.pdf import pdf_to_markdown

    settings = DocumentLimits().ocr  # as the parse stage runs it

    spec = importlib.util.spec_from_file_location("score_md", scorer_path)
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    took: dict[str, float] = {}
    counts: dict[str, tuple[int, int]] = {}  # pages, pages OCR'd
    scores: dict[str, float] = {}
    latin: set[str] = set()
    for pdf in sorted(reference_dir.glob("*.pdf")):
        data = scanned_copy(pdf)
        began = time.perf_counter()
        doc = pdf_to_markdown(data, ocr=settings)
        took[pdf.stem] = time.perf_counter() - began
        counts[pdf.stem] = (doc.page_count, len(doc.metadata.get("ocr_pages", ())))
        with pymupdf.open(pdf) as original:
            text = "\n".join(page.get_text() for page in original)
        letters = [c for c in text if c.isalpha()]
        if letters and sum(c.isascii() for c in letters) >= 0.9 * len(letters):
            latin.add(pdf.stem)
        reference = pdf_to_markdown(pdf.read_bytes()).markdown  # the text-layer original's Markdown
        want, got = scorer.norm(reference).split(), scorer.norm(doc.markdown).split()
        scores[pdf.stem] = difflib.SequenceMatcher(None, want, got, autojunk=False).ratio()
    rows = []
    for label, names in (("all", set(scores)), ("English", latin)):
        pages = sum(counts[n][0] for n in names)
        seconds = sum(took[n] for n in names)
        ocr_pages = sum(counts[n][1] for n in names)
        rows.append(Row(f"ocr: pin scanned pages ({label})", pages / seconds if seconds else float("nan"),
                        "pages/s", f"{pages} pages of {len(names)} scanned copies ({SCAN_DPI} dpi), "
                        f"{ocr_pages} OCR'd; one run"))
    mean = sum(scores[n] for n in latin) / len(latin) if latin else float("nan")
    rows.append(Row("ocr: similarity to the original's text (English)", mean, "score 0-1",  # its Markdown
                    f"mean word-sequence similarity over {len(latin)} scanned copies in Latin script",
                    ">= 0.75", mean >= 0.75))
    notes = ["ocr similarity per scanned copy (Korean and Arabic read with kor and ara where installed): "
             + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())]
    return rows, notes
