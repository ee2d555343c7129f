"""Where the columns of a page render are, so that Tesseract reads each column on its own.

MuPDF's OCR writer runs Tesseract in its API's default page segmentation mode, a single block of text
(``PSM_SINGLE_BLOCK``; MuPDF never sets another): Tesseract then finds no columns and reads a line of the
left column and the line of the right column beside it as one text line. Where the two columns' baselines
drift apart by half a line, that line's words come out as garbage ("feeatan ee System aaa" for
"translation. The system matches the student response against" on a two-column paper whose right column
reads perfectly when cut out). So the render is cut into its columns first, by the white space between
them, as a recursive XY cut: a region split at a white gutter running its whole height into columns, or
else at white gaps across its width into bands, each band cut again; bands that split no further are
joined back, so a column of paragraphs stays one region. Tesseract then reads each region as the single
block it expects.
"""

from __future__ import annotations

import numpy as np
import pymupdf

from pin_assets.core.pdf.model import union_box

_INK = 160  # grey level under which a pixel is ink (scans are grey, renders black on white)
_GUTTER = 0.1  # inches: the narrowest white strip between columns (a word space at 12 pt is 0.04)
# ... and no narrower than this share of the region's text line height: the white after a full-width
# comma runs down two lines of 16 pt Chinese (0.11 in), which is no gutter.
_GUTTER_LINES = 0.8
_BAND_GAP = 0.1  # inches: white across a region's width that parts two bands (more than a line's leading)
_COLUMN_HEIGHT = 0.5  # inches: a region shorter than this is not cut into columns (a title's word spaces)
_COLUMN_WIDTH = 0.6  # inches: no column is narrower (a gutter mark, a page edge's shadow is no column)
_SPECKS = 0.003  # share of a strip's length that may be ink and the strip still count as white (scan dust)
_MAX_DEPTH = 8

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


def grey_pixels(pix: pymupdf.Pixmap) -> np.ndarray:
    """A grey pixmap's pixels as a height x width array (its rows may be padded past the width)."""
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]


def ink_mask(samples: bytes, width: int, height: int, channels: int) -> np.ndarray:
    """Pixels darker than :data:`_INK` in any colour channel of a pixmap's samples."""
    pixels = np.frombuffer(samples, dtype=np.uint8).reshape(height, width, channels)
    return pixels[..., : min(channels, 3)].min(axis=2) < _INK


def column_regions(ink: np.ndarray, dpi: float) -> list[Box]:
    """The regions of a page render to read one by one: its columns (and the bands above and below them),
    in no particular order (the converter orders the text). One region, the whole inked area, when the
    page has no columns; none when it has no ink."""
    box = _trim(ink, (0, 0, ink.shape[1], ink.shape[0]))
    return [] if box is None else _cut(ink, box, dpi, 0)


def _cut(ink: np.ndarray, box: Box, dpi: float, depth: int) -> list[Box]:
    x0, y0, x1, y1 = box
    if depth >= _MAX_DEPTH:
        return [box]
    if y1 - y0 >= _COLUMN_HEIGHT * dpi:
        line = _line_height(ink[y0:y1, x0:x1])
        columns = _split(ink[y0:y1, x0:x1].sum(axis=0), y1 - y0, max(_GUTTER * dpi, _GUTTER_LINES * line),
                         _COLUMN_WIDTH * dpi)
        parts = [part for a, b in columns if (part := _trim(ink, (x0 + a, y0, x0 + b, y1))) is not None]
        if len(parts) > 1 and not _lone_line(ink, parts):
            return [r for part in parts for r in _cut(ink, part, dpi, depth + 1)]
    bands = _split(ink[y0:y1, x0:x1].sum(axis=1), x1 - x0, _BAND_GAP * dpi, 1)
    if len(bands) == 1:
        return [box]
    regions: list[Box] = []
    plain: list[Box] = []  # consecutive bands that split no further: read together, as one block
    for a, b in bands:
        band = _trim(ink, (x0, y0 + a, x1, y0 + b))
        if band is None:
            continue
        inner = _cut(ink, band, dpi, depth + 1)
        if len(inner) == 1:
            plain.append(inner[0])
            continue
        regions += _joined(plain) + inner
        plain = []
    return regions + _joined(plain)


def _line_height(area: np.ndarray) -> float:
    """Median height in pixels of the runs of inked pixel rows in ``area``: its text lines' height."""
    runs = _runs(area)
    return float(np.median(runs)) if len(runs) else 0.0


def _runs(area: np.ndarray) -> np.ndarray:
    """Heights of the runs of inked pixel rows in ``area``, top to bottom."""
    inked = np.concatenate(([False], area.any(axis=1), [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(inked))
    return edges[1::2] - edges[::2]


def _lone_line(ink: np.ndarray, parts: list[Box]) -> bool:
    """Whether one of the parts a gutter would make is a single line of text, no taller than the other
    parts' lines: the rest of a line after a wide gap (a full-width comma's), not a column. A picture
    (a logo beside a header) is one run of ink too, but a taller one."""
    runs = [_runs(ink[y0:y1, x0:x1]) for x0, y0, x1, y1 in parts]
    for index, own in enumerate(runs):
        others = np.concatenate([r for i, r in enumerate(runs) if i != index])
        if len(own) == 1 and len(others) and own[0] <= 1.5 * float(np.median(others)):
            return True
    return False


def _joined(boxes: list[Box]) -> list[Box]:
    if not boxes:
        return []
    return [union_box(boxes)]


def _split(profile: np.ndarray, length: int, gap: float, least: float) -> list[tuple[int, int]]:
    """Spans of ``profile`` (ink per pixel row or column) between white runs of at least ``gap`` pixels,
    each span at least ``least`` long (a narrower one stays with its neighbour)."""
    white = profile <= max(1, _SPECKS * length)
    cuts: list[tuple[int, int]] = []  # white runs long enough, inside the profile
    start = None
    for i, w in enumerate(white.tolist() + [False]):
        if w and start is None:
            start = i
        elif not w and start is not None:
            if i - start >= gap and start > 0 and i < len(white):
                cuts.append((start, i))
            start = None
    spans: list[tuple[int, int]] = []
    begin = 0
    for a, b in cuts:
        if a - begin >= least and len(white) - b >= least:
            spans.append((begin, a))
            begin = b
    spans.append((begin, len(white)))
    return spans


def _trim(ink: np.ndarray, box: Box) -> Box | None:
    """``box`` shrunk to the ink inside it; None when it holds none."""
    x0, y0, x1, y1 = box
    area = ink[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(area.any(axis=1)), np.flatnonzero(area.any(axis=0))
    if not len(rows) or not len(cols):
        return None
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
