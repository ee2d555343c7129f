"""OCR lines cut into pieces at gutters and joined again where they are one printed line, with the marks
and invented words Tesseract reads in white space left out."""

from __future__ import annotations

import re
import statistics

from pin_assets.core.pdf.model import union_box

NOISE_RE = re.compile(r"[|_~=\\¦:;.,'`\"—–-]{1,3}")  # what Tesseract reads in a gutter or a page edge's shadow
_DASHES = frozenset("-–—")  # noise alone, text between two words of a line


def line_pieces(blocks: list[dict]) -> list[dict]:
    """Each OCR line cut at wide gaps into pieces, one block each, for the converter's column cuts.

    MuPDF re-segments the OCR layer by baselines and merges the two columns of a page into one block,
    even into one line across a narrow gutter; Tesseract's own blocks are lost. A gap wider than most
    of a line's height and well over the page's usual word gap is no word space, so the line is cut
    there; the converter's reading order and paragraph joining then work as on a text layer (not for
    CJK readings, whose word boxes from Tesseract have gaps in mid-line and are kept as MuPDF groups
    them). Lone marks such as ``|`` or ``_`` are dropped first: Tesseract reads them in gutters, where
    they would bridge the columns. Pieces of one printed line that are no columns are joined again, and
    pieces of two letters or fewer standing alone are dropped (see :func:`rejoin_pieces`, :func:`_stray`).
    """
    lines = [line for b in blocks for line in b.get("lines", ()) if abs(line["dir"][1]) < 0.1]
    gaps = [b["bbox"][0] - a["bbox"][2] for line in lines for a, b in _pairs(_words(line))]
    word_gap = statistics.median(gaps) if gaps else 0.0
    pieces: list[dict] = []
    for line in lines:
        height = line["bbox"][3] - line["bbox"][1]
        limit = max(0.8 * height, 2.5 * word_gap)
        current: list[dict] = []
        spans = line["spans"]
        for index, span in enumerate(spans):
            if NOISE_RE.fullmatch(span["text"].strip()) and not _joining_dash(spans, index, current, limit):
                continue
            if current and span["text"].strip() and span["bbox"][0] - _right(current) > limit:
                pieces.append(_piece(line, current))
                current = []
            if current or span["text"].strip():
                current.append(span)
        if current:
            pieces.append(_piece(line, current))
    pieces = rejoin_pieces(pieces, word_gap)
    line_height = statistics.median(p["bbox"][3] - p["bbox"][1] for p in pieces) if pieces else 0.0
    return [piece for piece in pieces if not _squeezed(piece, pieces, line_height)]


def _joining_dash(spans: list[dict], index: int, current: list[dict], limit: float) -> bool:
    """Whether the mark ``spans[index]`` is a dash between two words of the line, each a word space away
    ("Cumulative Report - Summary"): text, not a gutter's mark, which stands apart from the words on
    either side (a gap of ``limit`` or more) or at a line's end."""
    if spans[index]["text"].strip() not in _DASHES or not any(s["text"].strip() for s in current):
        return False
    following = next((s for s in spans[index + 1:] if s["text"].strip()), None)
    return following is not None and spans[index]["bbox"][0] - _right(current) <= limit \
        and following["bbox"][0] - spans[index]["bbox"][2] <= limit


def rejoin_pieces(pieces: list[dict], word_gap: float) -> list[dict]:
    """Pieces of one printed line joined again, left to right, where the white between them is no gutter;
    pieces of two letters or fewer left alone are dropped (:func:`_stray`).

    Two cases on real scans: Tesseract's layout analysis ends a line early and starts the rest as a line
    of its own whose box overlaps the first ("England had suffered from Viking invasions" ending at x 295,
    "for over a" starting at 279, a baseline 1 pt lower, on a 96-dpi scan of a wiki page), and the table
    finder then takes the rest for a cell of the infobox beside it; and a justified line stretches its
    spaces past :func:`line_pieces`' cut ("sometimes by force." with 10 pt gaps at 13 pt lines), which
    scattered the line and dropped "by" as a stray. Two pieces on one baseline (their boxes share most of
    their height) are one line when they overlap or stand a word space and a half apart; or, stretched,
    when the white between them, under four line heights wide, is crossed by the text of the lines around
    it (:func:`_gutter`) and the line they make spans its column as the lines above and below do
    (:func:`_spans_column`: on a newspaper whose columns Tesseract runs together that is not so). Only
    into a stretched line do the short words in its gaps and at its ends come back (a line ending "by a",
    its "a" a stray, is as wide as its neighbours with it).
    """
    solid = [piece for piece in pieces if not _stray(piece)]
    groups: list[list[dict]] = []  # pieces of one line, left to right
    stretched: dict[int, list[int]] = {}  # group -> positions of its stretched joins
    for piece in sorted(solid, key=lambda p: (p["bbox"][0], p["bbox"][1])):
        for group in groups:
            join = _continues(_box(group), piece, word_gap, solid)
            if join:
                if join == "stretched":
                    stretched.setdefault(id(group), []).append(len(group))
                group.append(piece)
                break
        else:
            groups.append([piece])
    lines = [_box(g) for g in groups]
    strays = [piece for piece in pieces if _stray(piece)]
    kept: list[list[dict]] = []
    for group in groups:
        cuts = stretched.get(id(group), [])
        if not cuts:
            kept.append(group)
            continue
        widest = max(group[i]["bbox"][0] - group[i - 1]["bbox"][2] for i in cuts)
        ends = [s for s in strays if _at_end(s, _box(group), 1.5 * widest)]  # "by a" ending a justified line
        if not _spans_column(_box(group + ends), lines):
            bounds = [0, *cuts, len(group)]
            kept += [group[i:j] for i, j in _pairs(bounds)]
            continue
        group += ends + [s for s in strays if any(_within(s, group[i - 1], group[i]) for i in cuts)]
        kept.append(group)
    hosts = set()
    for group in kept:
        group.sort(key=lambda p: p["bbox"][0])
        if len(group) > 1:
            _merge(group)
        hosts.add(id(group[0]))
    return [piece for piece in pieces if id(piece) in hosts]


def _continues(left: tuple, right: dict, word_gap: float, pieces: list[dict]) -> str:
    """How ``right`` continues the line boxed ``left`` on its baseline: ``"abut"``, ``"stretched"`` or
    not at all (``""``); see :func:`rejoin_pieces`."""
    x0, y0, x1, y1 = left
    a0, b0, a1, b1 = right["bbox"]
    height = max(y1 - y0, b1 - b0)
    if a0 <= (x0 + x1) / 2 or a1 <= x1 or min(y1, b1) - max(y0, b0) < 0.7 * height:
        return ""
    gap = a0 - x1
    if -1.5 * height <= gap <= 1.5 * word_gap:  # a deeper overlap is another line's text misplaced
        return "abut"
    return "stretched" if gap < 4 * height and not _gutter(left, right["bbox"], pieces) else ""


def _spans_column(line: tuple, lines: list[tuple]) -> bool:
    """Whether at least two lines within two line heights above and below start and end where ``line``
    does (within a line height): a justified line is as wide as its neighbours in the column."""
    x0, y0, x1, y1 = line
    height = y1 - y0
    return sum(abs(a0 - x0) <= height and abs(a1 - x1) <= height for a0, b0, a1, b1 in lines
               if b1 >= y0 - 2 * height and b0 <= y1 + 2 * height and min(b1, y1) - max(b0, y0) <= 0) >= 2


def _merge(group: list[dict]) -> None:
    """The group's first piece made the one line of the group's pieces, with a space where two meet."""
    spans: list[dict] = []
    for part in group:
        added = part["lines"][0]["spans"]
        if spans and spans[-1]["text"][-1:] != " " and added[0]["text"][:1] != " ":
            spans[-1] = dict(spans[-1], text=spans[-1]["text"] + " ")
        spans += added
    host = group[0]
    host["bbox"] = host["lines"][0]["bbox"] = _box(group)
    host["lines"][0]["spans"] = spans


def _box(pieces: list[dict]) -> tuple:
    return union_box(p["bbox"] for p in pieces)


def _at_end(piece: dict, line: tuple, reach: float) -> bool:
    """Whether ``piece`` stands on the baseline of ``line`` just before or after it, within ``reach``."""
    x0, y0, x1, y1 = piece["bbox"]
    a0, b0, a1, b1 = line
    if min(y1, b1) - max(y0, b0) < 0.7 * max(y1 - y0, b1 - b0):
        return False
    return 0 <= x0 - a1 <= reach or 0 <= a0 - x1 <= reach


def _within(piece: dict, left: dict, right: dict) -> bool:
    """Whether ``piece`` stands in the white between ``left`` and ``right``, on their baseline."""
    x0, y0, x1, y1 = piece["bbox"]
    a0, b0, a1, b1 = left["bbox"]
    return a1 < (x0 + x1) / 2 < right["bbox"][0] and min(y1, b1) - max(y0, b0) >= 0.7 * max(y1 - y0, b1 - b0)


def _gutter(left: tuple, right: tuple, pieces: list[dict]) -> bool:
    """Whether the white between two pieces of a baseline runs down the page as between columns or cells.

    A gutter stays white in the lines above and below, while the lines around a justified line run
    through the place where its stretched spaces are. Of the rows of pieces within two line heights above
    and below that have text on both sides of the white, it is a gutter unless more of them have a word
    in the white's middle half than not.
    """
    x1, y0, y1 = left[2], left[1], left[3]
    a0 = right[0]
    middle, margin, reach = (x1 + a0) / 2, 0.25 * (a0 - x1), 2 * (y1 - y0)
    rows: dict[int, list[tuple[float, float]]] = {}
    for piece in pieces:
        py0, py1 = piece["bbox"][1], piece["bbox"][3]
        if py1 < y0 - reach or py0 > y1 + reach or min(py1, y1) - max(py0, y0) > 0:
            continue  # too far, or on the pieces' own baseline
        row = rows.setdefault(round((py0 + py1) / 2), [])
        row += [(s["bbox"][0], s["bbox"][2]) for s in piece["lines"][0]["spans"] if s["text"].strip()]
    crossing = open_ = 0
    for words in rows.values():
        if not (any(w0 < middle for w0, _ in words) and any(w1 > middle for _, w1 in words)):
            continue  # the row does not reach across the white
        if any(w0 < middle + margin and w1 > middle - margin for w0, w1 in words):
            crossing += 1
        else:
            open_ += 1
    return crossing <= open_


_SHORT_PIECE = 2  # words: what Tesseract invents between lines is a word or two, never a line of text


def _squeezed(piece: dict, pieces: list[dict], line_height: float) -> bool:
    """Whether a piece of a word or two sits where no line fits: between the lines above and below it in
    its column, with less room between them than a line's height.

    Tesseract reads words into the white space between two lines of a column ("Serena", "was" between
    "in commercial" and "product offerings" on a clean 200-dpi render of a paper) and repeats a line's
    fragment half a line off it (a lone "2" overlapping "open language"); printed lines never stand closer
    than their own height to the lines above and below, so such a piece is no text of the page. The
    room is measured against the taller of the piece and the page's usual line (``line_height``), so
    that a small invented word is not saved by its own small box.
    """
    x0, y0, x1, y1 = piece["bbox"]
    if len(_piece_text(piece).split()) > _SHORT_PIECE:
        return False
    middle = (y0 + y1) / 2
    above, below = float("-inf"), float("inf")
    for other in pieces:
        if other is piece:
            continue
        ox0, oy0, ox1, oy1 = other["bbox"]
        if min(x1, ox1) - max(x0, ox0) < 0.5 * (x1 - x0):
            continue  # not in the piece's column
        if (oy0 + oy1) / 2 <= middle:
            above = max(above, oy1)
        else:
            below = min(below, oy0)
    return below - above < 0.95 * max(y1 - y0, line_height)


def _piece_text(piece: dict) -> str:
    return "".join(s["text"] for line in piece["lines"] for s in line["spans"])


def _stray(piece: dict) -> bool:
    """A piece of at most two letters and no digit standing alone ("a", "oe", "<r"): what Tesseract reads
    in the texture of a picture or a page edge, never a word of the text, which stands in lines."""
    alnum = [c for c in _piece_text(piece) if c.isalnum()]
    return len(alnum) <= 2 and not any(c.isdigit() for c in alnum)


def _words(line: dict) -> list[dict]:
    return [s for s in line["spans"] if s["text"].strip()]


def _pairs(items: list[dict]) -> list[tuple[dict, dict]]:
    return list(zip(items, items[1:], strict=False))


def _right(spans: list[dict]) -> float:
    return max(s["bbox"][2] for s in spans if s["text"].strip())


def _piece(line: dict, spans: list[dict]) -> dict:
    while spans and not spans[-1]["text"].strip():
        spans = spans[:-1]
    bbox = union_box(s["bbox"] for s in spans)
    return {"type": 0, "bbox": bbox, "lines": [{"dir": line["dir"], "wmode": line.get("wmode", 0), "bbox": bbox,
                                                 "spans": spans}]}
