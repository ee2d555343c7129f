"""Visual rows from PyMuPDF text lines: span styles from flags and font names, lines sharing a baseline
merged into one row in reading direction (left-to-right or right-to-left)."""

from __future__ import annotations

import re

import pymupdf

from pin_assets.core.pdf.glyphs import LIGATURES
from pin_assets.core.pdf.model import Row, Span

RTL_RE = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_RE = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_BOLD_NAME_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_ITALIC_NAME_RE = re.compile(r"italic|oblique", re.IGNORECASE)
_MONO_NAME_RE = re.compile(
    r"mono|courier|consol|menlo|inconsolata|sourcecode|fixed|cmtt|sftt|lmtt|\btt\d", re.IGNORECASE
)


def block_rows(block: dict) -> list[Row]:
    """Turn a PyMuPDF text block into visual rows, dropping rotated text such as arXiv side stamps."""
    if block.get("type", 0) != 0:
        return []
    pieces = []
    for line in block["lines"]:
        if abs(line["dir"][1]) > 0.1 or line["dir"][0] < 0:
            continue
        spans = [span for span in map(_make_span, line["spans"]) if span.text]
        if any(s.text.strip() for s in spans):
            pieces.append((line["bbox"], spans))
    return _merge_rows(pieces)


def _make_span(raw: dict) -> Span:
    """Read style from flags and, because many PDFs leave flags unset, from the font name too."""
    font = raw["font"]
    flags = raw["flags"]
    text = raw["text"] if "text" in raw else _lam_alef_text(raw["chars"])
    return Span(
        text=text.translate(LIGATURES),
        size=raw["size"],
        bold=bool(flags & pymupdf.TEXT_FONT_BOLD) or bool(_BOLD_NAME_RE.search(font)),
        italic=bool(flags & pymupdf.TEXT_FONT_ITALIC) or bool(_ITALIC_NAME_RE.search(font)),
        mono=bool(flags & pymupdf.TEXT_FONT_MONOSPACED) or bool(_MONO_NAME_RE.search(font)),
        superscript=bool(flags & pymupdf.TEXT_FONT_SUPERSCRIPT),
        x0=raw["bbox"][0],
        x1=raw["bbox"][2],
    )


def _lam_alef_text(chars: list[dict]) -> str:
    """Span text from characters, putting Arabic lam-alef ligatures back in logical order.

    MuPDF emits the ligature glyph as a zero-width alef followed by the lam, so after its bidi
    reordering the pair reads alef-lam ("المشكالت" for "المشكلات"); the zero width gives it away.
    """
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        nxt = chars[i + 1]["c"] if i + 1 < len(chars) else ""
        if c["c"] in "اأإآ" and nxt == "ل" and c["bbox"][2] - c["bbox"][0] < 0.01:
            out += ["ل", c["c"]]
            i += 2
            continue
        out.append(c["c"])
        i += 1
    return "".join(out)


def _merge_rows(pieces: list[tuple[tuple, list[Span]]]) -> list[Row]:
    """Group line pieces that share a baseline into one row, ordered left-to-right or right-to-left."""
    rows: list[list[tuple[tuple, list[Span]]]] = []
    for bbox, spans in sorted(pieces, key=lambda p: ((p[0][1] + p[0][3]) / 2, p[0][0])):
        if rows:
            last = rows[-1]
            y0, y1 = min(b[1] for b, _ in last), max(b[3] for b, _ in last)
            overlap = min(y1, bbox[3]) - max(y0, bbox[1])
            if overlap > 0.5 * min(y1 - y0, bbox[3] - bbox[1]):
                last.append((bbox, spans))
                continue
        rows.append([(bbox, spans)])
    return [_make_row(group) for group in rows]


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
        if apart and not spans[-1].text.endswith(" ") and not piece[0].text.startswith(" "):
            spans.append(Span(" ", piece[0].size, False, False, False, False, bbox[0], bbox[0]))
        spans.extend(piece)
        previous = bbox
    return Row(spans, min(b[0] for b, _ in group), min(b[1] for b, _ in group),
                max(b[2] for b, _ in group), max(b[3] for b, _ in group))
