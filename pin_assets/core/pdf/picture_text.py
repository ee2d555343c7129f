"""Text inside pictures on pages whose text layer holds little: a diagram drawn as an image, a slide or
a table pasted as a picture. The layer is kept; each large picture is read with Tesseract (through the
document's :class:`~pin_assets.core.pdf.ocr.OcrRun`, so in the page's language and within its read
budget) and, when the reading is text, its words become text units at the picture's place, after the
picture's content image, as tables where they stand in a grid. A table pictured with its rulings is read
cell by cell (:mod:`image_tables`).

Only pages with a small text layer (:data:`SMALL_LAYER`) qualify: on a page of prose a picture is a
figure whose labels (tick labels, legends) are no text of the document, and text-layer pages keep their
speed.
"""

from __future__ import annotations

import re

import pymupdf

from pin_assets.core.pdf.image_tables import ruled_cells, table_unit
from pin_assets.core.pdf.lines import block_row_groups
from pin_assets.core.pdf.model import Region, Row, Unit, text_unit
from pin_assets.core.pdf.ocr import OcrRun, Reading
from pin_assets.core.pdf.text_tables import find_text_tables

SMALL_LAYER = 200  # visible characters: gnarly's picture pages hold 5-64 (a title, a page number, a few words)
MIN_SHARE = 0.08  # of the page's area: gnarly's smallest picture of text is a diagram at 0.098; logos are <0.01
_BACKGROUND = 0.9  # a picture covering this much of the page holding a smaller candidate is its background
_NORM_RE = re.compile(r"[\W_]+")


def picture_units(page: pymupdf.Page, placements: list[dict], layer_rows: list[Row], ocr: OcrRun,
                  detect_tables: bool, regions: list[Region]) -> list[Unit]:
    """Text (and table) units read from the page's large pictures; none when the page's layer is not small,
    OCR is off or its budget spent, or no picture reads as text. A picture with layer text over it is not
    read (a scan under its own OCR layer), and lines the layer already has are left out."""
    layer_text = "\n".join(r.text for r in layer_rows)
    known = _norm(layer_text)
    if len(known) > SMALL_LAYER or not ocr.ready():
        return []
    area = max(page.rect.width * page.rect.height, 1.0)
    boxes = sorted((pymupdf.Rect(p["bbox"]) for p in placements if not p.get("over_limit")),
                   key=lambda r: r.width * r.height)
    chosen: list[pymupdf.Rect] = []
    for box in boxes:
        share = box.width * box.height / area
        if share < MIN_SHARE or (share > _BACKGROUND and any(box.contains(c) for c in chosen)):
            continue
        if any(box.contains(pymupdf.Point((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2)) for r in layer_rows):
            continue
        if not any(box.intersects(c) for c in chosen):
            chosen.append(box)
    units: list[Unit] = []
    for box in chosen:
        if detect_tables and (cells := ruled_cells(page, box, ocr.settings.dpi / 72)):
            texts = ocr.read_cells(page, box, [rect for *_, rect in cells], layer_text)
            if texts is not None:
                units.append(table_unit(cells, texts, box))
                continue
        reading = ocr.read_picture(page, box, layer_text)
        if reading is None:
            continue
        found = _units(reading, box, known)
        if detect_tables and found:
            found = find_text_tables(found, page.rect.width, regions)
        units += found
    return units


def _units(reading: Reading, box: pymupdf.Rect, known: str) -> list[Unit]:
    """The reading's rows moved from the picture's render to the page, without the lines the layer has."""
    units = []
    for block in reading.blocks:
        _shift(block, box.x0, box.y0)
        for rows in block_row_groups(block):
            rows = [r for r in rows if (text := _norm(r.text)) and text not in known]
            if rows:
                units.append(text_unit(rows))
    return units


def _shift(block: dict, dx: float, dy: float) -> None:
    def moved(b):
        return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)

    block["bbox"] = moved(block["bbox"])
    for line in block.get("lines", ()):
        line["bbox"] = moved(line["bbox"])
        for span in line["spans"]:
            span["bbox"] = moved(span["bbox"])
            span["origin"] = (span["origin"][0] + dx, span["origin"][1] + dy)


def _norm(text: str) -> str:
    return _NORM_RE.sub("", text).lower()
