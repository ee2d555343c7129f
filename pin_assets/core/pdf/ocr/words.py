"""Words of an OCR line: their spaces (Tesseract writes none), right-to-left lines in logical order, and
line sizes evened so the text-layer logic finds paragraphs and headings."""

from __future__ import annotations

import re
import statistics

from pin_assets.core.pdf.model import union_box
from pin_assets.core.pdf.readability import HANGUL_RE

_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew and Arabic letters
_LTR_RUN_RE = re.compile(r"[0-9A-Za-z\u00c0-\u024f]")


def logical_order(line: dict) -> None:
    """Put the characters of a right-to-left OCR line that MuPDF gives in visual order back in reading order.

    MuPDF gives most lines of an Arabic reading right to left, as they are read, but some (one with a
    Latin word or a number in it, "للمشكلات. يمتلك كل من R و Python ميزات") left to right, so they came out
    letter by letter reversed ("نم لك كلتمي .تالكشملل"). The characters' boxes are where they stand either
    way, so a line mostly in Hebrew or Arabic letters whose characters run left to right is read right to
    left by their boxes, each run of Latin letters and digits in it left to right."""
    chars = [(index, c) for index, span in enumerate(line["spans"]) for c in span["chars"]]
    if sum(bool(_RTL_RE.match(c["c"])) for _, c in chars) < 0.5 * len(chars):
        return
    xs = [c["bbox"][0] for _, c in chars if c["c"] != " "]
    if sum(b > a for a, b in zip(xs, xs[1:], strict=False)) <= sum(b < a for a, b in zip(xs, xs[1:], strict=False)):
        return  # already right to left
    ordered: list[tuple[int, dict]] = []
    run: list[tuple[int, dict]] = []  # Latin letters and digits, read left to right
    for item in sorted(chars, key=lambda t: -(t[1]["bbox"][0] + t[1]["bbox"][2])):
        if _LTR_RUN_RE.match(item[1]["c"]):
            run.append(item)
            continue
        ordered += reversed(run)
        run = []
        ordered.append(item)
    ordered += reversed(run)
    groups: list[tuple[int, list[dict]]] = []
    for index, char in ordered:
        if groups and groups[-1][0] == index:
            groups[-1][1].append(char)
        else:
            groups.append((index, [char]))
    line["spans"] = [dict(line["spans"][index], chars=group, bbox=_chars_box(group)) for index, group in groups]


def _chars_box(chars: list[dict]) -> tuple:
    return union_box(c["bbox"] for c in chars)


_WORD_GAP = 0.02  # of the font size: Tesseract's glyph-less letters of one word abut exactly (gap 0.0)
# Of a Hangul syllable's box height: Tesseract's gaps between the syllables of a Korean word are mostly
# under this and under 1.5 times the line's median gap between syllables, gaps between words over both.
# Word-sequence similarity to the text layer on two pages of a scanned Korean report: 0.05 and 0.17 with
# MuPDF's spaces alone, 0.34 and 0.61 with both bounds (0.34 / 0.59 with the height alone; 0.15 of the height
# 0.27 / 0.53, 0.25 0.15 / 0.58); on a generated page set in a wider font, 0.28 with the height alone, 0.62
# with both.
_HANGUL_GAP = 0.2
_HANGUL_GAP_MEDIAN = 1.5


def spell_words(line: dict, cjk: bool) -> str:
    """Give each span of an OCR line its ``text`` from its characters, with a space wherever two words meet
    without one.

    Tesseract writes each word as its own string of glyph-less letters stretched to the word's box, with
    no space characters; MuPDF puts spaces where the gap between words looks wide enough and leaves
    narrow ones out ("centerof", "ofthe" on a clean 200-dpi render of a paper). Inside a word the letters
    abut exactly, so any gap is a word break. In CJK readings (``cjk``) Chinese and Japanese characters
    stand apart without spaces, and Tesseract splits Korean words into syllables with gaps of their own
    ("국 회 입 법" for "국회입법"), so next to a Hangul syllable only a gap over a fifth of its height and
    over 1.5 times the line's usual gap between syllables is a word space (Korean is written with spaces
    between words: without them a Korean reading was one long word per line). Returns the line's text
    to judge the reading by: in a CJK reading without those Hangul spaces, as the readability check and
    the script search were measured on (they count a lone syllable as no word).
    """
    previous = None
    judged = []
    syllable_gap = _syllable_gap(line) if cjk else 0.0
    for span in line["spans"]:
        text = []
        for char in span.pop("chars"):
            if previous is not None and char["c"] != " " and previous["c"] != " " \
                    and _word_space(previous, char, span["size"], cjk, syllable_gap):
                text.append(" ")
                if not cjk:
                    judged.append(" ")
            text.append(char["c"])
            judged.append(char["c"])
            previous = char
        span["text"] = "".join(text)
    return "".join(judged)


def _word_space(previous: dict, char: dict, size: float, cjk: bool, syllable_gap: float) -> bool:
    """Whether the gap between two OCR'd characters is a word space (see :func:`spell_words`);
    ``syllable_gap`` is the line's median gap between Hangul syllables, in their heights."""
    gap = char["bbox"][0] - previous["bbox"][2]
    if not cjk:
        return gap > _WORD_GAP * size
    if HANGUL_RE.match(previous["c"]) or HANGUL_RE.match(char["c"]):
        return gap > max(_HANGUL_GAP, _HANGUL_GAP_MEDIAN * syllable_gap) * _height(char)
    return False


def _syllable_gap(line: dict) -> float:
    """Median gap between two Hangul syllables side by side on an OCR line, in syllable heights (0 if none)."""
    chars = [c for span in line["spans"] for c in span["chars"]]
    gaps = [(b["bbox"][0] - a["bbox"][2]) / _height(b) for a, b in zip(chars, chars[1:], strict=False)
            if HANGUL_RE.match(a["c"]) and HANGUL_RE.match(b["c"])]
    return statistics.median(gaps) if gaps else 0.0


def _height(char: dict) -> float:
    return max(char["bbox"][3] - char["bbox"][1], 1e-6)


# OCR'd line sizes between these multiples of the page's body size are body text: MuPDF sizes OCR'd words
# from their boxes, which vary by a third with ascenders, descenders and brackets.
_BODY_BAND = (0.7, 1.45)


def even_sizes(blocks: list[dict]) -> None:
    """Give every span of an OCR line one size, and every line near the page's body size that size.

    MuPDF sizes each OCR'd word from its box, so "Edgar" is 15.6 pt and "(or" 12.5 pt on one line, and
    lines with brackets and descenders come out a third taller than lines without. Text-layer logic splits
    paragraphs and finds headings by size, so a line takes the median size of its characters, lines
    between 0.7 and 1.45 times the page's most common size take that size (an OCR'd page tells titles
    from body text, not a subheading a point bigger), and the others are rounded to whole points. Boxes
    are rebuilt around the line's baseline from that size, since word boxes of one line overlap the
    next line's by half a line, which would merge lines and split paragraphs.
    """
    lines = [line for b in blocks for line in b.get("lines", ()) if any(s["text"].strip() for s in line["spans"])]
    sizes: dict[int, float] = {}
    weights: dict[float, int] = {}
    for line in lines:
        chars = sorted((s["size"], len(s["text"].strip())) for s in line["spans"] if s["text"].strip())
        half, seen = sum(n for _, n in chars) / 2, 0
        for size, n in chars:
            seen += n
            if seen >= half:
                sizes[id(line)] = size
                break
        key = float(round(sizes[id(line)]))
        weights[key] = weights.get(key, 0) + sum(n for _, n in chars)
    if not weights:
        return
    body = max(weights, key=weights.get)
    for line in lines:
        size = sizes[id(line)]
        size = body if _BODY_BAND[0] * body <= size <= _BODY_BAND[1] * body else float(round(size))
        baseline = statistics.median(s["origin"][1] for s in line["spans"] if s["text"].strip())
        for span in line["spans"]:
            span["size"] = size
            span["bbox"] = (span["bbox"][0], baseline - 0.8 * size, span["bbox"][2], baseline + 0.2 * size)
        line["bbox"] = (line["bbox"][0], baseline - 0.8 * size, line["bbox"][2], baseline + 0.2 * size)
