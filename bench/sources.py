"""Stages after parsing, on the bundled sample batch: compiled renders, signals and RealSyn's embeddings.

The sample's documents (`pin_assets/data/sample`) are parsed once, untimed. Then: the JATS articles' and
web pages' Markdown is laid out and rasterized (PyMuPDF Story) in each format; the quality signals are
computed for every document with the pipeline's default tokenizer; and the sentences RealSyn splits
from them are embedded by the default text encoder on the CPU (images use the same encoder on their
caption and context text, so sentences/s is the figure that matters).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.report import Row
from bench.timing import interleaved
from pin_assets.core import kinds
from pin_assets.core.convert import parse_document, render_document
from pin_assets.core.document import ParsedDocument
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf_pages import RenderOptions
from pin_assets.core.signals import ImageFacts, compute_signals
from pin_assets.core.sources.assets import folder_assets
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.core.tokenizer import default_tokenizer

DOCUMENT_SUFFIXES = (".pdf", ".nxml", ".html")


def sample_documents() -> list[tuple[str, bytes, ParsedDocument]]:
    """(kind, raw bytes, parsed document) for every document of the sample batch."""
    docs = []
    for path in sorted(SAMPLE_DIR.rglob("*")):
        if path.suffix in DOCUMENT_SUFFIXES:
            data = path.read_bytes()
            kind = detect_kind(data, path.name)
            assets = folder_assets(path.parent) if kinds.get(kind).assets == "beside" else None
            docs.append((kind, data, parse_document(data, kind, DocumentLimits(), assets)))
    return docs


def _compiled_renderer(docs: list[tuple[str, bytes, ParsedDocument]], fmt: str) -> Callable[[], float]:
    options, limits = RenderOptions(fmt=fmt), DocumentLimits()

    def run() -> float:
        began = time.perf_counter()
        for kind, data, parsed in docs:
            for _ in render_document(data, kind, parsed, options, limits):
                pass
        return time.perf_counter() - began

    return run


def run(formats: list[str], runs: int, warmup: int = 1, max_sentences: int | None = None) -> list[Row]:
    docs = sample_documents()
    compiled = [d for d in docs if not kinds.get(d[0]).paged]
    pages = sum(parsed.page_count for _, _, parsed in compiled)
    samples = interleaved({fmt: _compiled_renderer(compiled, fmt) for fmt in formats}, runs, warmup)
    rows = [
        Row(f"compiled render {fmt}", samples.rate(fmt, pages), "pages/s",
            f"{len(compiled)} sample JATS/HTML docs, {pages} pages, 100 dpi; {samples.spread(fmt)}")
        for fmt in formats
    ]
    tokenizer = default_tokenizer()
    facts = [[ImageFacts(i.width, i.height, len(i.data)) for i in parsed.images] for _, _, parsed in docs]

    def signals() -> float:
        began = time.perf_counter()
        for (_, _, parsed), images in zip(docs, facts, strict=True):
            compute_signals(parsed.markdown, images, tokenizer, page_count=parsed.page_count,
                            scanned_pages=len(parsed.scanned_pages))
        return time.perf_counter() - began

    timed = interleaved({"signals": signals}, runs, warmup)
    chars = sum(len(parsed.markdown) for _, _, parsed in docs)
    rows.append(Row("signals: compute_signals", timed.rate("signals", len(docs)), "docs/s",
                    f"{len(docs)} sample docs, {chars:,} chars, tokenizer {tokenizer.name}; {timed.spread('signals')}"))
    rows.append(_embedding_row(docs, runs, warmup, max_sentences))
    return rows


def _embedding_row(
    docs: list[tuple[str, bytes, ParsedDocument]], runs: int, warmup: int, max_sentences: int | None
) -> Row:
    from pin_assets.core.realsyn.sentences import split_sentences
    from resources.embeddings import MiniLMEncoder

    sentences = [seg.text for _, _, parsed in docs for seg in split_sentences(parsed.markdown)][:max_sentences]
    encoder = MiniLMEncoder(device="cpu")

    def encode() -> float:
        began = time.perf_counter()
        encoder.encode_texts(sentences)
        return time.perf_counter() - began

    timed = interleaved({"encode": encode}, runs, warmup)
    mean_chars = sum(map(len, sentences)) / max(1, len(sentences))
    return Row(f"realsyn: {encoder.name} text embedding, CPU, {encoder.runtime}",
               timed.rate("encode", len(sentences)), "sentences/s",
               f"{len(sentences)} sample sentences, {mean_chars:.0f} chars mean, batch {encoder.batch_size}; "
               f"{timed.spread('encode')}")



