"""Per-document quality signals for PIN records (PIN §3.3, modelled on RedPajama-v2).

One call, :func:`compute_signals`, turns a document's Markdown, the facts of its content images and a
tokenizer into a flat ``{name: number}`` row. The row is what the ``quality_signals`` asset writes to
Parquet and what :mod:`pin_assets.core.stats` aggregates, so every value is a plain ``int`` or ``float``
(never ``None``: an undefined ratio, such as the mean word length of a document without words, is
``0.0``) and the set of names is fixed by :data:`SIGNAL_DEFINITIONS`.

What a *block* is
-----------------
The Markdown is parsed with markdown-it-py (CommonMark plus tables) and read as a sequence of text
blocks and images, in document order:

* Leaf blocks are the unit: a paragraph, a heading, a fenced or indented code block, or a whole table
  is one text block. Containers are transparent, so a list item or a block quote contributes one text
  block per paragraph (or code block, ...) inside it; a one-paragraph list item is one text block.
* Adjacent text blocks are *not* merged: two paragraphs in a row are two text blocks with no image
  between them. This is what makes PIN's Table 1 figures (about 112 tokens per block on arXiv) come
  out at paragraph scale rather than at "everything between two figures" scale.
* Images (``![alt](src)``, or PIN-14M's ``<img src='content_image/NAME'>`` tag) are items of their own.
  An image inside a paragraph (or table cell) splits that block: ``See ![](a) here`` is text block,
  image, text block. A run of text that holds only whitespace between images is no block, so a
  paragraph of two images on two lines is just I, I.
* Other raw HTML (``<!-- image -->`` placeholders, ``<div>``...) is neither text nor image and is ignored,
  as are link targets and image alt text. Empty headings (``#`` alone) are no block and no title.

The text of a block is what a reader sees: markup removed, code kept verbatim, soft and hard line
breaks as ``\\n``, table cells joined by a space and rows by ``\\n``; it is stripped of surrounding
whitespace. Lengths, token counts and all RedPajama-style text signals are computed on that visible
text (blocks joined by ``\\n``), so they do not change with the converter's choice of markup.
``doc_length`` alone is ``len(md)`` as DESIGN.md asks, measured with the images spelled as the exported
record spells them by default (``<img src='content_image/NAME'>``); the export sets it to the length of
the ``md`` it writes, so a record's signal always equals ``len(record["md"])``.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from markdown_it import MarkdownIt
from markdown_it.token import Token
from numpy.lib.stride_tricks import sliding_window_view

from pin_assets.core.image_refs import HTML_IMAGE_TAG, write_image_refs

if TYPE_CHECKING:
    from pin_assets.core.tokenizer import Tokenizer

INF = math.inf


@dataclass(frozen=True)
class ImageFacts:
    """What the signals need to know of one content image, without its bytes in memory."""

    width: int
    height: int
    bytes: int


class SignalDefinition(NamedTuple):
    """One signal: its column name, what it means, its unit and the closed range a valid value lies in."""

    name: str
    meaning: str
    unit: str
    valid_range: tuple[float, float]


_DUPE_SIZES = (5, 6, 7, 8, 9, 10)
_TOP_SIZES = (2, 3, 4)

SIGNAL_DEFINITIONS: tuple[SignalDefinition, ...] = (
    # PIN's own signals.
    SignalDefinition("image_text_interleaving_count",
                     "switches between text and image along the sequence of blocks (T,I,T gives 2)",
                     "switches", (0, INF)),
    SignalDefinition("text_block_count",
                     "text blocks: paragraphs, headings, code blocks, tables (list items and quotes "
                     "by their paragraphs), split where an image interrupts them", "blocks", (0, INF)),
    SignalDefinition("total_token_count", "tokens of all text blocks' visible text (tokenizer named in "
                     "the asset metadata)", "tokens", (0, INF)),
    SignalDefinition("avg_tokens_per_text_block", "total_token_count / text_block_count (0 without blocks)",
                     "tokens", (0, INF)),
    SignalDefinition("doc_length", "len(md): characters of the Markdown, markup and image links included (as "
                     "<img src='content_image/NAME'> tags, the record's default spelling)",
                     "chars", (0, INF)),
    SignalDefinition("avg_text_block_length", "mean visible characters per text block (0 without blocks)",
                     "chars", (0, INF)),
    SignalDefinition("bold_char_count", "visible characters inside strong emphasis (code spans inside "
                     "emphasis count, emphasis markers inside code do not)", "chars", (0, INF)),
    SignalDefinition("italic_char_count", "visible characters inside emphasis (***x*** counts in bold "
                     "and italic)", "chars", (0, INF)),
    SignalDefinition("title_count", "headings (ATX or setext, any level) with visible text", "headings",
                     (0, INF)),
    # RedPajama-v2 text signals, on the visible text.
    SignalDefinition("rps_doc_word_count", "words after normalisation (punctuation removed, lower-cased, "
                     "split on whitespace)", "words", (0, INF)),
    SignalDefinition("rps_doc_mean_word_length", "mean characters per normalised word", "chars", (0, INF)),
    SignalDefinition("rps_doc_frac_unique_words", "distinct normalised words / normalised words",
                     "fraction", (0, 1)),
    SignalDefinition("rps_doc_unigram_entropy", "entropy (natural log) of the normalised word "
                     "distribution", "nats", (0, INF)),
    SignalDefinition("rps_doc_frac_no_alph_words", "raw words (word/punct split) without any letter",
                     "fraction", (0, 1)),
    SignalDefinition("rps_doc_stop_word_fraction", "raw words that are English stop words (NLTK list, "
                     "case-insensitive)", "fraction", (0, 1)),
    *(SignalDefinition(f"rps_doc_frac_chars_dupe_{n}grams",
                       f"characters of normalised words covered by a word {n}-gram that occurs more than "
                       "once (overlaps counted once)", "fraction", (0, 1)) for n in _DUPE_SIZES),
    *(SignalDefinition(f"rps_doc_frac_chars_top_{n}gram",
                       f"characters in the most frequent word {n}-gram times its count / characters of "
                       f"all normalised words (0 if no {n}-gram repeats; overlapping repeats can exceed 1)",
                       "fraction", (0, n)) for n in _TOP_SIZES),
    SignalDefinition("rps_doc_frac_all_caps_words", "raw words that are all upper case (str.isupper)",
                     "fraction", (0, 1)),
    SignalDefinition("rps_doc_frac_lines_end_with_ellipsis", "lines of the visible text ending in '...' "
                     "or '\u2026'", "fraction", (0, 1)),
    # Image signals, from the ImageFacts of the content images.
    SignalDefinition("image_count", "content images of the document", "images", (0, INF)),
    SignalDefinition("image_min_side", "smallest min(width, height) over the images (0 without images)",
                     "px", (0, INF)),
    SignalDefinition("image_mean_aspect_ratio", "mean width/height over images with a height (0 without)",
                     "ratio", (0, INF)),
    SignalDefinition("image_total_bytes", "sum of the images' encoded sizes", "bytes", (0, INF)),
    # Pages, from the converter: PDF pages, or compiled pages for sources without pages.
    SignalDefinition("page_count", "pages of the document (compiled pages for sources without pages)", "pages",
                     (0, INF)),
    SignalDefinition("scanned_page_count", "PDF pages without a text layer that OCR did not read (OCR off, over "
                     "its budget, or no text found)", "pages", (0, INF)),
    SignalDefinition("scanned_page_fraction", "scanned_page_count / page_count (0 without pages)", "fraction",
                     (0, 1)),
    SignalDefinition("ocr_page_count", "PDF pages whose text came from OCR (scans, text drawn as outlines, "
                     "invisible or unmapped text layers; ori_meta.ocr_pages lists them)", "pages", (0, INF)),
    # What the converter had to leave out of a document it otherwise converted (the warnings say why).
    SignalDefinition("images_skipped", "images left out of the Markdown: over the max_image_pixels limit, or "
                     "could not be decoded or converted", "images", (0, INF)),
    SignalDefinition("pages_failed", "pages the converter could not read; each contributes no Markdown",
                     "pages", (0, INF)),
    SignalDefinition("warning_count", "warnings recorded while converting the document (the warnings column of "
                     "parsed_markdown: parts left out, scans, repairs, and what MuPDF and Tesseract reported)",
                     "warnings", (0, INF)),
    SignalDefinition("fallback_page_count", "PDF pages MuPDF could not read whose text poppler's pdftotext "
                     "recovered (text only, no images or styles)", "pages", (0, INF)),
    SignalDefinition("vector_figures", "PDF figures drawn as vector paths (charts, diagrams) rendered into content "
                     "images; they are among image_count", "images", (0, INF)),
    # Web pages, from the converter.
    SignalDefinition("main_content_fallback",
                     "1 when no main content was found in a web page and its body without boilerplate was "
                     "kept instead (less clean text), else 0", "flag", (0, 1)),
    # arXiv e-prints, from the converter.
    SignalDefinition("latex_fallback",
                     "1 when an arXiv e-print was converted by a fallback (pandoc, or the PDF path on its PDF: "
                     "no exact math) instead of LaTeXML, else 0 (ori_meta.converter, latex_fallback_reason)",
                     "flag", (0, 1)),
)

VALID_RANGES: dict[str, tuple[float, float]] = {d.name: d.valid_range for d in SIGNAL_DEFINITIONS}
# Signals that are whole counts (stored as int64, written as integers in PIN records); the rest are floats.
INTEGER_SIGNALS: frozenset[str] = frozenset({
    "image_text_interleaving_count", "text_block_count", "total_token_count", "doc_length", "bold_char_count",
    "italic_char_count", "title_count", "rps_doc_word_count", "image_count", "image_min_side", "image_total_bytes",
    "page_count", "scanned_page_count", "ocr_page_count", "main_content_fallback", "images_skipped",
    "pages_failed", "warning_count", "latex_fallback", "fallback_page_count", "vector_figures",
})
SIGNAL_NAMES: tuple[str, ...] = tuple(d.name for d in SIGNAL_DEFINITIONS)

# NLTK's English stop-word corpus, original 127-word version (nltk_data corpora/stopwords/english).
# Single letters such as "s" and "t" are there because a word/punct split cuts "it's" into it ' s.
ENGLISH_STOP_WORDS: frozenset[str] = frozenset({
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
    "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
    "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that",
    "these", "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had",
    "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as",
    "until", "while", "of", "at", "by", "for", "with", "about", "against", "between", "into", "through",
    "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off",
    "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how",
    "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not",
    "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don", "should",
    "now"
})

# NLTK's WordPunctTokenizer pattern, which RedPajama-v2 uses for its "raw words".
_RAW_WORD_RE = re.compile(r"\w+|[^\w\s]+")
_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
_WHITESPACE_RE = re.compile(r"\s+")
_ELLIPSES = ("...", "\u2026")

_MARKDOWN = MarkdownIt("commonmark").enable("table")


def validate_signal_row(row: dict[str, float | int]) -> list[str]:
    """Say which values of a signal row are missing, unknown or outside their valid range.

    Asset checks and tests use this instead of re-stating the ranges; an empty list means valid.
    """
    problems = [f"missing {name}" for name in SIGNAL_NAMES if name not in row]
    problems += [f"unknown {name}" for name in row if name not in VALID_RANGES]
    for name, value in row.items():
        low, high = VALID_RANGES.get(name, (-INF, INF))
        if not (low <= value <= high):
            problems.append(f"{name}={value} outside [{low}, {high}]")
    return problems


# ---------------------------------------------------------------------------------------------------
# Markdown to a sequence of text blocks and images


@dataclass
class BlockSequence:
    """The document read as text blocks and images, plus the emphasis tallies gathered on the way.

    ``items`` holds ``"T"`` / ``"I"`` in document order; ``texts`` the visible text of each ``"T"``.
    """

    items: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    bold_chars: int = 0
    italic_chars: int = 0
    titles: int = 0
    _parts: list[str] = field(default_factory=list)

    def add_text(self, text: str) -> None:
        self._parts.append(text)

    def add_image(self) -> None:
        self.end_block()
        self.items.append("I")

    def end_block(self) -> None:
        """Close the open text run; it becomes a text block only if it has visible characters."""
        text = "".join(self._parts).strip()
        self._parts.clear()
        if text:
            self.items.append("T")
            self.texts.append(text)

    def interleaving_count(self) -> int:
        return sum(1 for a, b in zip(self.items, self.items[1:], strict=False) if a != b)


def _feed_inline(seq: BlockSequence, inline: Token) -> None:
    """Add one inline token's children to the open block, tallying emphasis as we go."""
    strong = em = 0
    for child in inline.children or ():
        kind = child.type
        if kind in ("text", "text_special", "code_inline"):
            seq.add_text(child.content)
            seq.bold_chars += len(child.content) if strong else 0
            seq.italic_chars += len(child.content) if em else 0
        elif kind in ("softbreak", "hardbreak"):
            seq.add_text("\n")
        elif kind == "image":
            seq.add_image()
        elif kind == "html_inline" and HTML_IMAGE_TAG.fullmatch(child.content.strip()):
            seq.add_image()  # PIN-14M's <img src='content_image/NAME'>
        elif kind in ("strong_open", "strong_close"):
            strong += child.nesting
        elif kind in ("em_open", "em_close"):
            em += child.nesting


def _feed_table(seq: BlockSequence, tokens: list[Token], start: int) -> int:
    """Read a table (from its ``table_open``) as one text block; return the index after ``table_close``."""
    i = start + 1
    first_cell = True
    while tokens[i].type != "table_close":
        token = tokens[i]
        if token.type == "tr_open":
            first_cell = True
            seq.add_text("\n")
        elif token.type == "inline":
            seq.add_text("" if first_cell else " ")
            first_cell = False
            _feed_inline(seq, token)
        i += 1
    seq.end_block()
    return i + 1


def read_blocks(markdown: str) -> BlockSequence:
    """Parse Markdown into the text-block / image sequence described in the module docstring."""
    seq = BlockSequence()
    tokens = _MARKDOWN.parse(markdown)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "table_open":
            i = _feed_table(seq, tokens, i)
            continue
        if token.type in ("fence", "code_block"):
            seq.add_text(token.content)
            seq.end_block()
        elif token.type == "html_block":  # raw HTML is no text, but PIN-14M's image tags are images
            for _ in HTML_IMAGE_TAG.finditer(token.content):
                seq.add_image()
        elif token.type == "inline":
            blocks_before = len(seq.texts)
            _feed_inline(seq, token)
            seq.end_block()
            is_heading = tokens[i - 1].type == "heading_open"
            seq.titles += int(is_heading and len(seq.texts) > blocks_before)
        i += 1
    return seq


# ---------------------------------------------------------------------------------------------------
# RedPajama-v2 style text signals


def normalize_text(text: str) -> str:
    """RedPajama-v2's normalisation: drop ASCII punctuation, lower-case, collapse whitespace, NFD."""
    text = text.translate(_PUNCT_TABLE).lower()
    text = _WHITESPACE_RE.sub(" ", text.strip())
    return unicodedata.normalize("NFD", text)


def _safe_div(num: float, den: float) -> float:
    return num / den if den else 0.0


def _word_signals(norm_words: list[str]) -> dict[str, float | int]:
    counts = Counter(norm_words)
    total = len(norm_words)
    entropy = -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0
    return {
        "rps_doc_word_count": total,
        "rps_doc_mean_word_length": _safe_div(sum(map(len, norm_words)), total),
        "rps_doc_frac_unique_words": _safe_div(len(counts), total),
        "rps_doc_unigram_entropy": entropy,
    }


def _raw_word_signals(text: str) -> dict[str, float]:
    """Signals on the word/punct split of the visible text.

    Two documented departures from RedPajama-v2: a word "has a letter" if any character is a Unicode
    letter (RPv2 tests ``[a-zA-Z]``, which would call every Korean or Greek word letterless), and stop
    words are looked up lower-cased (RPv2's case-sensitive lookup misses a sentence-initial "The").
    """
    raw = _RAW_WORD_RE.findall(text)
    n = len(raw)
    no_alpha = sum(1 for w in raw if not any(map(str.isalpha, w)))
    stop = sum(1 for w in raw if w.lower() in ENGLISH_STOP_WORDS)
    caps = sum(1 for w in raw if w.isupper())
    return {
        "rps_doc_frac_no_alph_words": _safe_div(no_alpha, n),
        "rps_doc_stop_word_fraction": _safe_div(stop, n),
        "rps_doc_frac_all_caps_words": _safe_div(caps, n),
    }


def _ngram_rows(ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group the word ``n``-grams of ``ids``: (group of each n-gram, count per group, first start per group).

    Each n-gram window is viewed as one opaque byte string so numpy groups them exactly, without hashing.
    """
    windows = np.ascontiguousarray(sliding_window_view(ids, n))
    keys = windows.view(np.dtype((np.void, windows.dtype.itemsize * n))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return inverse.ravel(), counts, first


def _ngram_signals(norm_words: list[str]) -> dict[str, float]:
    """Duplicate and top n-gram character fractions, exactly as RedPajama-v2 defines them.

    Dupe: mark every word covered by an n-gram occurring more than once; score = marked word chars / all
    word chars. Top: the most frequent n-gram (ties go to the one seen first, as ``Counter.most_common``
    does); score = its chars x its count / all word chars, 0 when no n-gram repeats.
    """
    out = {f"rps_doc_frac_chars_dupe_{n}grams": 0.0 for n in _DUPE_SIZES}
    out.update({f"rps_doc_frac_chars_top_{n}gram": 0.0 for n in _TOP_SIZES})
    lengths = np.fromiter(map(len, norm_words), dtype=np.int64, count=len(norm_words))
    total_chars = int(lengths.sum())
    if total_chars == 0:
        return out
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in norm_words), dtype=np.int32,
                      count=len(norm_words))
    for n in sorted({*_DUPE_SIZES, *_TOP_SIZES}):
        if len(ids) < n:
            continue
        inverse, counts, first = _ngram_rows(ids, n)
        if n in _DUPE_SIZES:
            dupe = _dupe_fraction(inverse, counts, lengths, n, total_chars)
            out[f"rps_doc_frac_chars_dupe_{n}grams"] = dupe
        if n in _TOP_SIZES:
            out[f"rps_doc_frac_chars_top_{n}gram"] = _top_fraction(counts, first, lengths, n, total_chars)
    return out


def _dupe_fraction(inverse: np.ndarray, counts: np.ndarray, lengths: np.ndarray, n: int,
                   total_chars: int) -> float:
    starts = np.flatnonzero(counts[inverse] > 1)
    if starts.size == 0:
        return 0.0
    cover = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + n, -1)
    covered = np.cumsum(cover[:-1]) > 0
    return float(lengths[covered].sum()) / total_chars


def _top_fraction(counts: np.ndarray, first: np.ndarray, lengths: np.ndarray, n: int,
                  total_chars: int) -> float:
    best = int(counts.max())
    if best <= 1:
        return 0.0
    start = int(first[counts == best].min())
    return float(lengths[start:start + n].sum()) * best / total_chars


def _ellipsis_fraction(text: str) -> float:
    lines = text.split("\n") if text else []
    return _safe_div(sum(1 for line in lines if line.rstrip().endswith(_ELLIPSES)), len(lines))


def text_signals(text: str) -> dict[str, float | int]:
    """All RedPajama-v2 style signals of one plain text (exposed for tests and for non-Markdown text)."""
    norm_words = normalize_text(text).split()
    return {
        **_word_signals(norm_words),
        **_raw_word_signals(text),
        **_ngram_signals(norm_words),
        "rps_doc_frac_lines_end_with_ellipsis": _ellipsis_fraction(text),
    }


# ---------------------------------------------------------------------------------------------------
# Images and the whole row


def image_signals(images: Sequence[ImageFacts]) -> dict[str, float | int]:
    """Count, smallest side, mean aspect ratio and total bytes of the content images."""
    ratios = [im.width / im.height for im in images if im.height > 0]
    return {
        "image_count": len(images),
        "image_min_side": min((min(im.width, im.height) for im in images), default=0),
        "image_mean_aspect_ratio": _safe_div(sum(ratios), len(ratios)),
        "image_total_bytes": sum(im.bytes for im in images),
    }


def compute_signals(
    markdown: str,
    images: Sequence[ImageFacts],
    tokenizer: Tokenizer,
    *,
    page_count: int = 1,
    scanned_pages: int = 0,
    ocr_pages: int = 0,
    main_content_fallback: bool = False,
    images_skipped: int = 0,
    pages_failed: int = 0,
    warnings: int = 0,
    latex_fallback: bool = False,
    fallback_pages: int = 0,
    vector_figures: int = 0,
) -> dict[str, float | int]:
    """Every signal of :data:`SIGNAL_DEFINITIONS` for one document, in that order.

    ``images`` are the document's content images (normally in the order the Markdown references them);
    the image_* signals come from them, while the interleaving count follows the image links in the
    Markdown itself, since that is the sequence a model is trained on. ``page_count`` and
    ``scanned_pages`` (pages without a text layer that OCR did not read) come from the converter: a
    scanned PDF has little or no Markdown, and this is the signal that says why; ``ocr_pages`` counts
    the pages whose text is OCR's, which is noisier than a text layer's. ``main_content_fallback`` marks a
    web page kept whole (minus boilerplate) because its main content could not be found. ``images_skipped``
    and ``pages_failed`` are what the converter left out (see ``document.IMAGES_SKIPPED``); ``warnings`` is
    how many warnings the conversion recorded; ``fallback_pages`` the PDF pages a second engine read (see
    ``document.FALLBACK_PAGES``); ``vector_figures`` the PDF figures drawn as paths that became content images
    (``document.VECTOR_FIGURES``), which tells a chart-heavy paper from one whose images are photographs.
    ``latex_fallback`` marks an arXiv e-print that LaTeXML did not convert (``document.LATEX_FALLBACK``).
    """
    seq = read_blocks(markdown)
    blocks = len(seq.texts)
    tokens = sum(tokenizer.count_batch(seq.texts)) if blocks else 0
    pin = {
        "image_text_interleaving_count": seq.interleaving_count(),
        "text_block_count": blocks,
        "total_token_count": tokens,
        "avg_tokens_per_text_block": _safe_div(tokens, blocks),
        "doc_length": len(write_image_refs(markdown, "html")),
        "avg_text_block_length": _safe_div(sum(map(len, seq.texts)), blocks),
        "bold_char_count": seq.bold_chars,
        "italic_char_count": seq.italic_chars,
        "title_count": seq.titles,
    }
    pages = {
        "page_count": page_count,
        "scanned_page_count": scanned_pages,
        "scanned_page_fraction": _safe_div(scanned_pages, page_count),
        "ocr_page_count": ocr_pages,
        "main_content_fallback": int(main_content_fallback),
        "images_skipped": images_skipped,
        "pages_failed": pages_failed,
        "warning_count": warnings,
        "latex_fallback": int(latex_fallback),
        "fallback_page_count": fallback_pages,
        "vector_figures": vector_figures,
    }
    row = {**pin, **text_signals("\n".join(seq.texts)), **image_signals(images), **pages}
    return {name: row[name] for name in SIGNAL_NAMES}


def definitions_markdown() -> str:
    """The signal reference table for docs/signals.md, generated so the docs cannot drift from the code."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def bound(value: float) -> str:
        return "∞" if value == INF else f"{value:g}"

    rows = [
        f"| `{d.name}` | {cell(d.meaning)} | {d.unit} | {'int' if d.name in INTEGER_SIGNALS else 'float'} | "
        f"[{bound(d.valid_range[0])}, {bound(d.valid_range[1])}] |"
        for d in SIGNAL_DEFINITIONS
    ]
    return "\n".join(["| signal | meaning | unit | type | valid range |", "| --- | --- | --- | --- | --- |", *rows])
