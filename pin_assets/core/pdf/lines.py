"""Visual rows from PyMuPDF text lines: span styles from flags and font names, lines sharing a baseline
merged into one row in reading direction (left-to-right or right-to-left), and lines that run up, down
or upside down the page kept as rows of their own."""

from __future__ import annotations

import re
import statistics
from dataclasses import replace
from functools import lru_cache

import pymupdf

from pin_assets.core.pdf.cjk import spaced_out, tight
from pin_assets.core.pdf.glyphs import LIGATURES
from pin_assets.core.pdf.model import Row, Span

RTL_RE = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_RE = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_BOLD_NAME_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_ITALIC_NAME_RE = re.compile(r"italic|oblique", re.IGNORECASE)
_MONO_NAME_RE = re.compile(
    r"mono|courier|consol|menlo|inconsolata|sourcecode|fixed|cmtt|sftt|lmtt|\btt\d", re.IGNORECASE
)


# Identifiers and download notes that publishers and arXiv print up the side of a page.
_SIDE_STAMP_RE = re.compile(
    r"^\s*(arxiv:\s*\d{4}\.\d{4,5}|downloaded\s+(from|by)\b|this article is protected by copyright)",
    re.IGNORECASE,
)


def block_row_groups(block: dict) -> list[list[Row]]:
    """Rows of a PyMuPDF text block, one group per future text unit: the horizontal lines merged into
    visual rows, then each run of lines that share a rotated direction (a sidebar, a rotated table
    header, a vertical CJK column set) as one row of its own. Side stamps (arXiv identifiers,
    "Downloaded from" notes) are dropped wherever they stand."""
    if block.get("type", 0) != 0:
        return []
    pieces = []
    turned: list[tuple[tuple[int, int], list[tuple[tuple, list[Span]]]]] = []
    for line in block["lines"]:
        spans = [span for span in map(_make_span, line["spans"]) if span.text]
        if not any(s.text.strip() for s in spans):
            continue
        direction = (round(line["dir"][0]), round(line["dir"][1]))
        if direction == (1, 0):
            pieces.append((line["bbox"], spans))
        elif not _SIDE_STAMP_RE.match("".join(s.text for s in spans)):
            if turned and turned[-1][0] == direction:
                turned[-1][1].append((line["bbox"], spans))
            else:
                turned.append((direction, [(line["bbox"], spans)]))
    groups = [_merge_rows(pieces)] if pieces else []
    return groups + [[_turned_row(direction, lines)] for direction, lines in turned]


def _turned_row(direction: tuple[int, int], lines: list[tuple[tuple, list[Span]]]) -> Row:
    """One row from lines that run in a rotated ``direction``, in reading order.

    Each next line of rotated text lies a quarter turn clockwise from the reading direction: to the
    right of text that runs up the page, to the left of text that runs down it (so vertical CJK
    columns read right to left), above upside-down text.
    """
    dx, dy = direction
    def across(line: tuple[tuple, list[Span]]) -> float:
        x0, y0, x1, y1 = line[0]
        return -dy * (x0 + x1) / 2 + dx * (y0 + y1) / 2

    spans: list[Span] = []
    for bbox, piece in sorted(lines, key=across):
        if spans:
            before, after = spans[-1].text.rstrip(), piece[0].text.lstrip()
            if re.search(r"\w-$", before) and after[:1].islower():
                spans[-1] = _with_text(spans[-1], before[:-1])
            elif not tight(before, after) and not spans[-1].text.endswith(" "):
                spans.append(Span(" ", piece[0].size, False, False, False, False, bbox[0], bbox[0]))
        spans.extend(piece)
    boxes = [b for b, _ in lines]
    return Row(_without_spaced_out(spans), min(b[0] for b in boxes), min(b[1] for b in boxes),
               max(b[2] for b in boxes), max(b[3] for b in boxes), rotated=True)


def _with_text(span: Span, text: str) -> Span:
    """A copy of ``span`` carrying other text."""
    return replace(span, text=text)


def _without_spaced_out(spans: list[Span]) -> list[Span]:
    """Spans minus the spaces that stand between CJK characters placed one at a time, even where each
    character and each space is a span of its own."""
    drop = spaced_out("".join(s.text for s in spans))
    if not drop:
        return spans
    out: list[Span] = []
    start = 0
    for span in spans:
        text = "".join(c for i, c in enumerate(span.text, start) if i not in drop)
        start += len(span.text)
        if text:
            out.append(span if text == span.text else _with_text(span, text))
    return out


def _make_span(raw: dict) -> Span:
    """Read style from flags and, because many PDFs leave flags unset, from the font name too."""
    bold, italic, mono = _name_styles(raw["font"])
    flags = raw["flags"]
    text = raw["text"]  # set from the characters for raw dictionaries (see :mod:`word_gaps`)
    return Span(
        text=text.translate(LIGATURES),
        size=raw["size"],
        bold=bool(flags & pymupdf.TEXT_FONT_BOLD) or bold,
        italic=bool(flags & pymupdf.TEXT_FONT_ITALIC) or italic,
        mono=bool(flags & pymupdf.TEXT_FONT_MONOSPACED) or mono,
        superscript=bool(flags & pymupdf.TEXT_FONT_SUPERSCRIPT),
        x0=raw["bbox"][0],
        x1=raw["bbox"][2],
        baseline=raw["origin"][1] if "origin" in raw else None,
    )


@lru_cache(maxsize=1024)
def _name_styles(font: str) -> tuple[bool, bool, bool]:
    """Bold, italic and monospaced as the font's name says; a page has a few fonts and thousands of spans."""
    return bool(_BOLD_NAME_RE.search(font)), bool(_ITALIC_NAME_RE.search(font)), bool(_MONO_NAME_RE.search(font))


def _merge_rows(pieces: list[tuple[tuple, list[Span]]]) -> list[Row]:
    """Group line pieces that share a baseline into one row, ordered left-to-right or right-to-left.

    Boxes overlapping by half their height say so, unless the baselines are most of a line apart: a
    bullet or a symbol from a math font has a box far taller than its text, which would otherwise pull
    the next line of its list item into its row ("the structure of" + "the problem" read "ofthe")."""
    rows: list[list[tuple[tuple, list[Span]]]] = []
    for bbox, spans in sorted(pieces, key=lambda p: ((p[0][1] + p[0][3]) / 2, p[0][0])):
        if rows:
            last = rows[-1]
            y0, y1 = min(b[1] for b, _ in last), max(b[3] for b, _ in last)
            overlap = min(y1, bbox[3]) - max(y0, bbox[1])
            if overlap > 0.5 * min(y1 - y0, bbox[3] - bbox[1]) and not _lines_apart(last, bbox, spans):
                last.append((bbox, spans))
                continue
        rows.append([(bbox, spans)])
    return [_make_row(group) for group in rows]


def _lines_apart(row: list[tuple[tuple, list[Span]]], bbox: tuple, spans: list[Span]) -> bool:
    """Whether a piece's text stands a line (0.9 of its size or more) below or above the baselines of the
    row's pieces it shares columns with (pieces beside it, a label at the left, do not count): scripts are
    raised or lowered by less than half their size, a display fraction's numerator and denominator by
    about 0.7 of it."""
    piece = _baseline(spans)
    if piece is None:
        return False
    bases = [base for box, other in row if min(box[2], bbox[2]) - max(box[0], bbox[0]) > 0
             and (base := _baseline(other)) is not None]
    if not bases:
        return False
    return all(abs(piece[0] - base) > 0.9 * max(size, piece[1]) for base, size in bases)


def _baseline(spans: list[Span]) -> tuple[float, float] | None:
    """The baseline and size of the piece's biggest run of text, where MuPDF gives baselines."""
    runs = [s for s in spans if s.text.strip() and s.baseline is not None]
    if not runs:
        return None
    main = max(runs, key=lambda s: (s.size, len(s.text.strip())))
    return main.baseline, main.size


def _make_row(group: list[tuple[tuple, list[Span]]]) -> Row:
    """Join the pieces of a row, inserting a space where the pieces are visibly apart."""
    text = "".join(s.text for _, spans in group for s in spans)
    rtl = len(RTL_RE.findall(text)) > len(_LTR_RE.findall(text))
    group = sorted(group, key=lambda p: -p[0][2] if rtl else p[0][0])
    spans: list[Span] = []
    previous: tuple | None = None
    for bbox, piece in group:
        gap = 0.0 if previous is None else previous[0] - bbox[2] if rtl else bbox[0] - previous[2]
        apart = gap > 0.15 * piece[0].size
        if (apart and not spans[-1].text.endswith(" ") and not piece[0].text.startswith(" ")
                and not tight(spans[-1].text, piece[0].text)):
            spans.append(Span(" ", piece[0].size, False, False, False, False, bbox[0], bbox[0]))
        spans.extend(piece)
        previous = bbox
    return Row(_without_spaced_out(_mark_scripts(spans)), min(b[0] for b, _ in group), min(b[1] for b, _ in group),
                max(b[2] for b, _ in group), max(b[3] for b, _ in group))


_SCRIPT_SIZE = 0.85  # a superscript or subscript is set at most this share of its row's text size
_RAISED = 0.15  # ... and its baseline stands this share of that size above the row's (below: _LOWERED)
_LOWERED = 0.08


def _mark_scripts(spans: list[Span]) -> list[Span]:
    """Spans set smaller than their row's text and raised above or lowered below its baseline marked as
    superscripts or subscripts (footnote marks, exponents, chemical indices), whatever MuPDF's own
    superscript flag said: it flags small raised text but knows nothing of subscripts."""
    body = [s for s in spans if s.text.strip() and s.baseline is not None]
    if len(body) < 2:
        return spans
    sizes = sorted(body, key=lambda s: -len(s.text.strip()) * s.size)
    size = max(s.size for s in sizes[:1])
    base = statistics.median(s.baseline for s in body if s.size >= _SCRIPT_SIZE * size)
    out = []
    for span in spans:
        if span.baseline is None or not span.text.strip() or span.size > _SCRIPT_SIZE * size:
            out.append(span)
            continue
        raised = base - span.baseline
        sup, sub = raised >= _RAISED * size, raised <= -_LOWERED * size
        out.append(replace(span, superscript=sup or (span.superscript and not sub), subscript=sub))
    return out
