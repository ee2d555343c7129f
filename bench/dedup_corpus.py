"""A dev corpus of known near-duplicates built from real web pages, for the duplicate-detection benchmark.

Each page of ``corpus/web`` is converted to Markdown by the project's HTML converter (the base document),
and pages with at least :data:`MIN_WORDS` words get edited copies, each tagged with its kind:

``boilerplate_added``    real boilerplate of the page (its ``without`` snippets in evaldata.json: menus,
                         teasers, comment prompts) and common site chrome added above and below
``boilerplate_removed``  the first and last 15% of the blocks removed (lead-in, related links, footer)
``reordered``            the blocks shuffled
``words_5/10/20``        5, 10 or 20% of the words replaced by words drawn from the whole corpus
``pdf``                  the page's main content laid out as a PDF with PyMuPDF's Story, then converted
                         back by the project's PDF converter (the same article as PDF and as HTML)

A base and its copies form one known group; every other page is a group of its own. Seeded: the same
corpus gives the same documents on every run.
"""

from __future__ import annotations

import io
import json
import random
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pymupdf
from markdown_it import MarkdownIt

from pin_assets.core.convert import parse_document
from pin_assets.core.dedup.clusters import BatchInput, ClusterResult, ClusterSettings, find_clusters
from pin_assets.core.dedup.index import build_index, index_name
from pin_assets.core.dedup.lsh import lsh_params
from pin_assets.core.dedup.signatures import SignatureWriter, visible_text
from pin_assets.core.document import ConversionError
from pin_assets.core.limits import DocumentLimits

WEB = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"
MIN_WORDS = 80
KINDS = ("boilerplate_added", "boilerplate_removed", "reordered", "words_5", "words_10", "words_20", "pdf")
CHROME = [
    "Skip to main content", "Home | News | Sport | Culture | Contact", "We use cookies to improve your "
    "experience. By continuing to browse you accept our cookie policy. Accept all | Settings",
    "Subscribe to our newsletter and never miss a story.", "Share on Facebook Share on Twitter Share by email",
    "Related articles", "© 2024 All rights reserved. Imprint | Privacy | Terms of use",
]
_CSS = "body{font-family:sans-serif;font-size:10pt} h1{font-size:16pt} h2{font-size:13pt} td,th{border:1px solid}"
_PAGE = pymupdf.paper_rect("a4")
_WHERE = _PAGE + (50, 60, -50, -60)


@dataclass(frozen=True)
class DevDocument:
    doc_id: str
    group: str  # the base page's file name: documents of one group are duplicates of each other
    kind: str  # "base" or one of KINDS
    text: str  # visible text of the Markdown, as the signals stage compares it


def html_to_pdf(html: str) -> bytes:
    """Lay HTML out on A4 pages with PyMuPDF's Story (offline, built-in fonts), as a PDF in memory."""
    story = pymupdf.Story(html=html, user_css=_CSS)
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    more = True
    while more:
        device = writer.begin_page(_PAGE)
        more, _ = story.place(_WHERE)
        story.draw(device)
        writer.end_page()
    writer.close()
    return buffer.getvalue()


def markdown_as_pdf_markdown(markdown: str, after: str = "") -> str:
    """The article printed to PDF (with the HTML ``after`` it, e.g. a print footer), read back as Markdown."""
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    return parse_document(html_to_pdf(f"<html><body>{html}{after}</body></html>"), "pdf", DocumentLimits()).markdown


def _blocks(markdown: str) -> list[str]:
    return [b for b in markdown.split("\n\n") if b.strip()]


def _replace_words(text: str, share: float, vocabulary: list[str], rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = rng.choice(vocabulary)
    return " ".join(words)


def variant(kind: str, markdown: str, boilerplate: list[str], vocabulary: list[str], rng: random.Random) -> str:
    """The Markdown of one edited copy."""
    blocks = _blocks(markdown)
    if kind == "boilerplate_added":
        top = CHROME[:3] + boilerplate[:2]
        bottom = boilerplate[2:] + CHROME[3:]
        return "\n\n".join(top + blocks + bottom)
    if kind == "boilerplate_removed":
        cut = max(1, round(len(blocks) * 0.15))
        return "\n\n".join(blocks[cut:-cut] if len(blocks) > 2 * cut else blocks[cut:])
    if kind == "reordered":
        rng.shuffle(blocks)
        return "\n\n".join(blocks)
    if kind.startswith("words_"):
        return _replace_words(markdown, int(kind.split("_")[1]) / 100, vocabulary, rng)
    if kind == "pdf":
        return markdown_as_pdf_markdown(markdown)
    raise ValueError(kind)


def convert_pages(web: Path = WEB) -> dict[str, tuple[str, list[str]]]:
    """``file -> (Markdown, boilerplate snippets)`` for every page the converter reads."""
    evaldata = json.loads((web / "evaldata.json").read_text(encoding="utf-8"))
    pages: dict[str, tuple[str, list[str]]] = {}
    for item in sorted(evaldata.values(), key=lambda i: i["file"]):
        try:
            doc = parse_document((web / "pages" / item["file"]).read_bytes(), "html", DocumentLimits())
        except ConversionError:
            continue
        pages[item["file"]] = (doc.markdown, [s for s in item.get("without") or [] if s.strip()])
    return pages


class _TooSlow(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TooSlow


def build(web: Path = WEB, cache: Path | None = None, seed: int = 0, pdf_seconds: int = 60,
          progress: bool = False) -> list[DevDocument]:
    """The dev corpus (bases and edited copies), from ``cache`` (JSON) when it holds one.

    A PDF copy that takes longer than ``pdf_seconds`` to lay out and convert back is left out (and not
    counted), so one pathological page cannot stall the benchmark.
    """
    if cache is not None and cache.is_file():
        return [DevDocument(**d) for d in json.loads(cache.read_text(encoding="utf-8"))]
    rng = random.Random(seed)
    pages = convert_pages(web)
    vocabulary = sorted({w for md, _ in pages.values() for w in visible_text(md).split()})
    docs: list[DevDocument] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for number, (name, (markdown, boilerplate)) in enumerate(pages.items()):
            if progress:
                print(f"dev corpus: page {number + 1}/{len(pages)} {name}", file=sys.stderr, flush=True)
            text = visible_text(markdown)
            docs.append(DevDocument(name, name, "base", text))
            if len(text.split()) < MIN_WORDS:
                continue
            for kind in KINDS:
                signal.alarm(pdf_seconds if kind == "pdf" else 0)
                try:
                    edited = variant(kind, markdown, boilerplate, vocabulary, rng)
                except (ConversionError, _TooSlow):
                    continue
                finally:
                    signal.alarm(0)
                docs.append(DevDocument(f"{name}#{kind}", name, kind, visible_text(edited)))
    finally:
        signal.signal(signal.SIGALRM, previous)
    if cache is not None:
        cache.write_text(json.dumps([d.__dict__ for d in docs], ensure_ascii=False), encoding="utf-8")
    return docs


def cluster_texts(folder: Path, batches: dict[str, list[tuple[str, str]]], threshold: float,
                  bands: int | None = None, rows: int | None = None, keep: str = "longest") -> ClusterResult:
    """Signature file and bucket index per batch from ``(doc_id, visible text)`` pairs, then the clusters.

    The same core functions the ``duplicate_clusters`` asset runs, on local files instead of the store.
    """
    if bands is None or rows is None:
        bands, rows = lsh_params(threshold)
    inputs = []
    for name, docs in batches.items():
        signatures = folder / f"{name}.parquet"
        if not signatures.exists():
            with SignatureWriter(signatures) as writer:
                for doc_id, text in docs:
                    writer.add(doc_id, name, text)
        index = folder / f"{name}.{index_name(bands, rows)}"
        info = build_index(signatures, index, bands, rows)
        inputs.append(BatchInput(name, lambda p=signatures: pa.OSFile(str(p)), lambda p=index: pa.OSFile(str(p)),
                                 info))
    return find_clusters(inputs, ClusterSettings(threshold, bands, rows, keep))
