"""Word spaces the text layer leaves out, put back from where the glyphs stand.

Some PDFs set each word as a separate run without a space character between them (a typesetting system
that positions words itself, a tightly justified line). MuPDF infers a space only where two glyphs stand
at least 0.15 em apart, so a line justified tighter than that reads "andplayanimportantrole", and a
caption set in two runs reads "Table1 Compositionofthe". A reader sees the gaps; this pass puts a
space where one line's glyph gaps show two clearly different widths, the wider one a word break.

It works on MuPDF's raw text dictionary (one box per character) and is careful, because a space put in
the middle of a word costs more than one left out:

- only lines that read as unspaced get spaces: many letters per space character, far more than any
  language written with spaces has (``_LETTERS_PER_SPACE``); in other lines only runs of letters too long
  for a word of running text ("Compositionofthe") may be split;
- the break must be wider than the line's usual gap between letters by ``_BREAK_EMS`` of the font size,
  and the gaps must fall into two groups with a clear valley between them: kerning and fonts whose
  widths are a little off spread gaps evenly, word breaks do not;
- monospaced runs (code), right-to-left text and CJK (written without spaces) are left as they are,
  and so are gaps between runs of different sizes (a footnote mark after a word).

Each span also gets its ``text`` from its characters, with Arabic lam-alef ligatures put back in
logical order, so every later pass reads spans the same way whichever dictionary they came from.
"""

from __future__ import annotations

import re
import statistics

import pymupdf

from pin_assets.core.pdf.cjk import is_cjk
from pin_assets.core.pdf.lines import RTL_RE

_LETTERS_PER_SPACE = 9.0  # English averages under 6 letters a word; German compounds under 9 a line
_MIN_LETTERS = 8  # shorter lines give too few gaps to tell word breaks from kerning
_BREAK_EMS = 0.08  # a word break is at least this much wider than the line's usual letter gap
_LONG_RUN_RE = re.compile(r"[^\W\d_]{14,}")  # longer than most words of running text (not "electromagnetism")
_VALLEY = 0.5  # ... and every letter gap is at most this share of the narrowest break's excess


def spaced_blocks(blocks: list[dict]) -> list[dict]:
    """The raw text dictionary's blocks with each span's ``text`` set from its characters, word spaces
    inserted where glyph gaps show them; ``chars`` are dropped (no later pass needs them)."""
    for block in blocks:
        for line in block.get("lines", ()):
            _space_line(line)
    return blocks


def _space_line(line: dict) -> None:
    """Set the text of the line's spans, with spaces where the line's glyph gaps show word breaks."""
    spans = line["spans"]
    texts = ["".join([c["c"] for c in span.get("chars", ())]) for span in spans]
    allowed = _candidates(texts)
    breaks = _breaks(line) & allowed if allowed else set()
    for i, span in enumerate(spans):
        chars = span.pop("chars", None)
        if chars is None:
            continue
        text = _lam_alef_text(chars) if RTL_RE.search(texts[i]) else texts[i]
        if breaks:
            text = "".join((" " if (i, k) in breaks else "") + c for k, c in enumerate(text))
        span["text"] = text


def _candidates(texts: list[str]) -> set[tuple[int, int]]:
    """Positions (span index, character index) where a missing space may be put back: anywhere in a line
    that reads as unspaced, else only inside runs of letters too long for one word of running text
    ("Compositionofthe" in "Table1 Compositionofthe samples"); none in right-to-left lines.

    Most lines have neither, and cost two scans of their text; positions are listed only for those that do."""
    text = "".join(texts)
    unspaced = _unspaced(text)
    runs = [] if unspaced else [m.span() for m in _LONG_RUN_RE.finditer(text)]
    if not (unspaced or runs) or RTL_RE.search(text):
        return set()
    where = [(i, k) for i, span_text in enumerate(texts) for k in range(len(span_text))]
    if unspaced:
        return set(where)
    return {position for start, end in runs for position in where[start + 1:end]}


def _unspaced(text: str) -> bool:
    """Whether a line has far fewer spaces than words would need."""
    visible = len("".join(text.split()))  # str.split() splits at exactly the characters isspace() accepts
    spaces = len(text) - visible
    if visible < _MIN_LETTERS or visible / (spaces + 1) < _LETTERS_PER_SPACE:
        return False  # settled without counting letters, which are no more than the visible characters
    letters = sum(1 for c in text if c.isalnum())
    return letters >= _MIN_LETTERS and letters / (spaces + 1) >= _LETTERS_PER_SPACE


def _breaks(line: dict) -> set[tuple[int, int]]:
    """Positions (span index, character index) before which a word space belongs."""
    dx, dy = line["dir"]
    if abs(dx) < 0.99 and abs(dy) < 0.99:
        return set()  # text set at an angle: its boxes do not tell gaps apart
    axis = 0 if abs(dx) >= 0.99 else 1
    sign = 1 if (dx if axis == 0 else dy) > 0 else -1
    pairs: list[tuple[float, tuple[int, int]]] = []
    previous = None
    for i, span in enumerate(line["spans"]):
        mono = bool(span["flags"] & pymupdf.TEXT_FONT_MONOSPACED)
        for k, char in enumerate(span.get("chars", ())):
            c = char["c"]
            here = (i, k, span["size"], mono, char)
            if c.isspace() or is_cjk(c):
                previous = None
                continue
            if previous is not None:
                pi, _, psize, pmono, pchar = previous
                if not (mono or pmono) and 0.85 <= span["size"] / max(psize, 0.1) <= 1.18:
                    start = char["bbox"][axis] if sign > 0 else -char["bbox"][axis + 2]
                    end = pchar["bbox"][axis + 2] if sign > 0 else -pchar["bbox"][axis]
                    pairs.append(((start - end) / max(span["size"], 1.0), (i, k)))
            previous = here
    if len(pairs) < 4:
        return set()
    usual = statistics.median(g for g, _ in pairs)
    wide = [g for g, _ in pairs if g - usual >= _BREAK_EMS]
    if not wide:
        return set()
    narrow = max((g for g, _ in pairs if g - usual < _BREAK_EMS), default=usual)
    if narrow - usual > _VALLEY * (min(wide) - usual):
        return set()  # gaps spread evenly: kerning or inexact widths, no word breaks to read
    return {where for g, where in pairs if g - usual >= _BREAK_EMS}


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
