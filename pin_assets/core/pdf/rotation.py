"""Pages whose text runs up, down or upside down the page.

A landscape table pasted sideways on a portrait page, a poster set vertically, a page of vertical
Japanese: MuPDF reports such lines with a direction other than left-to-right, in the page's own
coordinates (a /Rotate entry does not change them). When most of a page's text runs one rotated way,
the page is read turned upright: every box is mapped into the frame where that text runs left to
right, so columns, paragraphs, tables and headings are found the way they are on any page. Lines that
run another way stay rotated rows (see :func:`pin_assets.core.pdf.lines.block_row_groups`).
"""

from __future__ import annotations

from collections import Counter

import pymupdf

from pin_assets.core.pdf.model import Unit

_DOMINANT = 0.6  # share of a page's characters that must run one rotated way to turn the page
_STAMP_BAND = 0.12  # side stamps stand within this share of the page width from the left edge


def unrotated_rect(page: pymupdf.Page) -> pymupdf.Rect:
    """The page's rectangle in the coordinates MuPDF gives text, drawings and images in: before its
    /Rotate. ``page.rect`` is the page as displayed, so a /Rotate 90 Letter page is 792 x 612 there
    while its text lies in 612 x 792; boxes turned or clipped with the displayed size land off the page."""
    return pymupdf.Rect(page.rect * page.derotation_matrix).normalize()


def page_turn(blocks: list[dict]) -> tuple[int, int]:
    """The reading direction most of the page's characters share, when it is not left to right;
    (1, 0) when the page reads normally."""
    lines = [line for block in blocks for line in block.get("lines", ())]
    if all(line["dir"][0] > 0.9 for line in lines):  # the common case, decided without counting
        return (1, 0)
    chars: Counter[tuple[int, int]] = Counter()
    for line in lines:
        direction = (round(line["dir"][0]), round(line["dir"][1]))
        chars[direction] += sum(len(_span_text(s).strip()) for s in line["spans"])
    total = sum(chars.values())
    if not total:
        return (1, 0)
    direction, count = chars.most_common(1)[0]
    return direction if direction != (1, 0) and count >= _DOMINANT * total else (1, 0)


def _span_text(span: dict) -> str:
    """A span's text from a text dictionary or, where characters are listed instead, a raw one."""
    return span["text"] if "text" in span else "".join(c["c"] for c in span.get("chars", ()))


def turned_size(turn: tuple[int, int], width: float, height: float) -> tuple[float, float]:
    """Page width and height once turned so that ``turn`` reads left to right."""
    return (height, width) if turn[0] == 0 else (width, height)


def turn_box(box: tuple, turn: tuple[int, int], width: float, height: float) -> tuple[float, float, float, float]:
    """A box in the frame where text running in direction ``turn`` reads left to right (y down)."""
    x0, y0, x1, y1 = box[:4]
    if turn == (0, -1):  # text runs up the page: its lines follow each other to the right
        return (height - y1, x0, height - y0, x1)
    if turn == (0, 1):  # text runs down: lines follow each other to the left
        return (y0, width - x1, y1, width - x0)
    if turn == (-1, 0):  # upside down
        return (width - x1, height - y1, width - x0, height - y0)
    return (x0, y0, x1, y1)


def turn_direction(direction: tuple[float, float], turn: tuple[int, int]) -> tuple[float, float]:
    """A line direction seen in the turned frame (the turn's own direction becomes (1, 0))."""
    dx, dy = direction
    if turn == (0, -1):
        return (-dy, dx)
    if turn == (0, 1):
        return (dy, -dx)
    if turn == (-1, 0):
        return (-dx, -dy)
    return (dx, dy)


def turn_blocks(blocks: list[dict], turn: tuple[int, int], width: float, height: float) -> list[dict]:
    """Copies of text blocks with every block, line and span box and every line direction turned."""
    out = []
    for block in blocks:
        if block.get("type", 0) != 0:
            continue
        lines = []
        for line in block["lines"]:
            spans = [{**s, "bbox": turn_box(s["bbox"], turn, width, height),
                      **({"origin": turn_box((*s["origin"], *s["origin"]), turn, width, height)[:2]}
                         if "origin" in s else {})} for s in line["spans"]]
            lines.append({**line, "bbox": turn_box(line["bbox"], turn, width, height),
                          "dir": turn_direction(line["dir"], turn), "spans": spans})
        out.append({**block, "bbox": turn_box(block["bbox"], turn, width, height), "lines": lines})
    return out


def drop_side_stamps(units: list[Unit], width: float) -> list[Unit]:
    """Remove single rotated lines standing in the left margin, left of all the page's horizontal
    text: the identifiers printed up the edge of a page (arXiv stamps). A note in the right margin is
    more often a sidebar; stamps there are caught by their wording (see ``lines``)."""
    flat = [u for u in units if u.kind == "text" and not any(r.rotated for r in u.rows)]
    if not flat:
        return units
    left = min(u.x0 for u in flat)

    def stamp(unit: Unit) -> bool:
        if unit.kind != "text" or len(unit.rows) != 1 or not unit.rows[0].rotated:
            return False
        return unit.x1 <= _STAMP_BAND * width and unit.x1 <= left + 1

    return [u for u in units if not stamp(u)]
