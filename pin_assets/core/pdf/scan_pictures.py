"""Pictures on a scanned page (photos, engravings, portraits): found in the page's pixels, cropped from the page
as content images like embedded ones, and the words Tesseract reads inside them dropped unless they are lines
of text printed on the picture's plain ground.

A scan is one image: the photos a reader sees on it have no image of their own, and Tesseract reads their
texture as words ("q", "r", "aftet a aes oe as", "Uff a" inside a portrait). What tells a picture from text on a
scan is its tones: printed text is ink on paper, almost every pixel of a 144-dpi render near the paper's tone or
the ink's, with grey only at letter edges; a photo or a halftone is mostly grey between the two. The page is
cut into 16-point cells; a cell whose pixels are at least :data:`MID_SHARE` mid-tones is a picture cell
(measured on gnarly's scans: text cells hold 0.00-0.35, on a yellowed, noisy 1901 newspaper too, cells of its
photo 0.5-1.0); touching picture cells form a picture, kept when it is big enough to be one (not a shaded
initial or a smudge) and solid enough (not a scatter of dark words).

Line art (a chart, a diagram, a map) has no mid-tones and is not found this way: its lines are ink, like text.

Everything here is a pure function of the page's pixels and its OCR reading, so the same scan gives the same
crops on any machine; the render it needs costs a few milliseconds next to Tesseract's seconds.
"""

from __future__ import annotations

import re
from collections import deque

import numpy as np
import pymupdf

from pin_assets.core.pdf.model import Region, Row, Unit, center_in
from pin_assets.core.pdf.ocr.regions import grey_pixels

CELL = 16.0  # points: the side of the cells a page's tones are measured in (a line of body text is 10-14 pt)
MID_SHARE = 0.45  # a cell with this share of mid-tone pixels is picture (text cells: at most 0.35 on gnarly)
_MID = 0.25  # a pixel more than this share of the paper-to-ink range away from both is a mid-tone
_ZOOM = 2.0  # the render the tones are measured on: 144 dpi, enough to keep letters' strokes apart
_MAX_PIXELS = 6_000_000  # ... less for a very large page (a newspaper page at 144 dpi would be 47 MP)
_MIN_SIDE = 3  # cells: a picture is at least 48 pt wide and tall
_MIN_SHARE = 0.01  # of the page's area (a thumbnail portrait); shaded initials and stamps are smaller
_MAX_SHARE = 0.9  # a picture covering this much of the page is the page itself (a photo scanned whole)
_SOLID = 0.5  # share of a picture's box its cells must fill: a scatter of dark words is no picture
_PLAIN = 0.2  # a text row inside a picture whose box holds at most this share of mid-tones is printed on it
_EDGE = 0.1  # a row or column of a picture's border area with this share of mid-tones is part of it
_FLAT = 0.6  # a picture whose typical cell has this share of its pixels in one tone is a shaded band
_LEVELS = 0.06  # ... within this share of the tone range of the picture's own median
_MODEL_SHARE = 0.8  # a model figure region bigger than this share of the page is the scan itself
_TEXT_COVER = 0.3  # a model figure region whose OCR rows cover more than this share of it is text
_DRAWN = 0.08  # share of a line-art region that ink outside its text must cover
_JOIN = 4  # cells: parts of a picture this close with no line of text between them are one picture
_MAX_ZOOM = 3.0  # crops are rendered at the scan's own resolution, at least 72 and at most 216 dpi


def scan_pictures(page: pymupdf.Page, scan: dict | None, groups: list[list[Row]], embedded: list[Unit],
                  regions: list[Region] = ()) -> tuple[list[Unit], list[list[Row]]]:
    """The pictures of a page read whole by OCR, as image units asking for their area to be rendered, and the
    OCR row ``groups`` without the rows read from a picture's texture: a row inside a picture stays only
    when it is printed on plain ground (a caption or a label set on the picture).

    ``scan`` is the placement of the image that makes the page a scan (its pixels set the crops' resolution);
    a picture mostly inside one of the page's ``embedded`` images is that image, kept as it is. The rows are in
    the page's coordinates as displayed (an upright reading of an unrotated page), as are the layout model's
    ``regions``: a ``figure`` region that holds little text and no picture found by its tones is line art (a
    chart, a drawing), cropped to its ink.
    """
    tones = _mid_tones(page)
    if tones is None:
        return [], groups
    pixels, mask, scale = tones
    area = max(page.rect.width * page.rect.height, 1.0)
    zoom = _crop_zoom(scan)
    side = round(CELL * scale)
    found = [_edges(mask, cells, side) for cells in _picture_boxes(_cell_shares(mask, side) >= MID_SHARE)]
    lines = [r for rows in groups for r in rows if _line_of_text(r, mask, scale)]
    found = _merged([b for b in found if not _flat(pixels[b[1]:b[3], b[0]:b[2]], side)], _JOIN * side,
                    [(r.x0 * scale, r.y0 * scale, r.x1 * scale, r.y1 * scale) for r in lines])
    found = [b for b in found if _MIN_SHARE <= (b[2] - b[0]) * (b[3] - b[1]) / scale ** 2 / area <= _MAX_SHARE]
    rows = [r for g in groups for r in g]
    found += [box for region in regions if (box := _line_art(region, pixels, scale, rows, found, area))]
    pictures = []
    for x0, y0, x1, y1 in found:
        box = _clear_of(pymupdf.Rect(x0 / scale, y0 / scale, x1 / scale, y1 / scale) & page.rect, lines)
        if not _MIN_SHARE <= box.width * box.height / area <= _MAX_SHARE or any(_within(box, e) for e in embedded):
            continue
        placement = {"bbox": tuple(box), "xref": 0, "width": round(box.width * zoom),
                     "height": round(box.height * zoom), "page": page.number, "zoom": zoom}
        pictures.append(Unit("image", *box, image=placement))
    if not pictures:
        return [], groups
    kept = [[r for r in rows if not any(center_in(r, p) for p in pictures) or _line_of_text(r, mask, scale)]
            for rows in groups]
    return pictures, kept


def _line_art(region: Region, pixels: np.ndarray, scale: float, rows: list[Row],
              found: list[tuple[int, int, int, int]], area: float) -> tuple[int, int, int, int] | None:
    """A layout-model ``figure`` region as a picture's box in pixels, cropped to the ink in it; None when it is
    not line art: another kind of region, too small or as big as the page (the model calls a whole scan of a
    newspaper, a letter or a book page a figure), overlapping a picture found by its tones, or holding text
    (OCR rows covering more than :data:`_TEXT_COVER` of it: the model boxes index columns, reference lists and
    tables of scans as figures; a chart's tick labels and legend cover 5-10% of it), or drawing too little: ink
    outside the OCR rows on less than :data:`_DRAWN` of it (a table without rules, a form's boxes and rules),
    where a bar chart or a shaded drawing is mostly drawn."""
    share = (region.x1 - region.x0) * (region.y1 - region.y0) / area
    if region.kind != "figure" or not _MIN_SHARE <= share <= _MODEL_SHARE:
        return None
    x0, y0, x1, y1 = (round(v * scale) for v in region.box)
    if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in found):
        return None
    covered = sum(max(0.0, min(r.x1, region.x1) - max(r.x0, region.x0)) * max(0.0, min(r.y1, region.y1)
                                                                             - max(r.y0, region.y0)) for r in rows)
    if covered > _TEXT_COVER * (region.x1 - region.x0) * (region.y1 - region.y0):
        return None
    x0, y0 = max(x0, 0), max(y0, 0)
    paper, ink = (float(v) for v in np.percentile(pixels, [95, 1]))
    marked = pixels[y0:y1, x0:x1] < paper - _MID * (paper - ink)
    drawn = marked.copy()  # the ink that is no text: under no OCR row
    for r in rows:
        drawn[max(round(r.y0 * scale) - y0, 0):max(round(r.y1 * scale) - y0, 0),
              max(round(r.x0 * scale) - x0, 0):max(round(r.x1 * scale) - x0, 0)] = False
    if drawn.size == 0 or float(drawn.mean()) < _DRAWN:
        return None
    ys, xs = np.nonzero(marked.any(axis=1))[0], np.nonzero(marked.any(axis=0))[0]
    if not len(ys) or not len(xs):
        return None
    return x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1


def _clear_of(box: pymupdf.Rect, lines: list[Row]) -> pymupdf.Rect:
    """The box without the lines of text its top or bottom edge cuts into: a caption set just under a photo
    (a 1901 newspaper's "UNITED STATES BATTLESHIP OREGON...") is text, read as such, not part of the crop."""
    box = pymupdf.Rect(box)
    for line in lines:
        middle = (line.y0 + line.y1) / 2
        if line.x1 <= box.x0 or line.x0 >= box.x1 or not box.y0 <= middle <= box.y1:
            continue
        if box.y1 - middle <= CELL:
            box.y1 = min(box.y1, line.y0)
        elif middle - box.y0 <= CELL:
            box.y0 = max(box.y0, line.y1)
    return box


def _within(box: pymupdf.Rect, unit: Unit) -> bool:
    """Whether most of ``box`` lies inside ``unit``."""
    inside = box & pymupdf.Rect(unit.x0, unit.y0, unit.x1, unit.y1)
    return not inside.is_empty and inside.width * inside.height >= 0.8 * box.width * box.height


def _mid_tones(page: pymupdf.Page) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A grey render of the page, the mask of its mid-tone pixels and the render's pixels per point; None for
    a page without ink (nothing to tell tones from)."""
    zoom = min(_ZOOM, (_MAX_PIXELS / max(page.rect.width * page.rect.height, 1.0)) ** 0.5)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False)
    pixels = grey_pixels(pix)
    paper, ink = (float(v) for v in np.percentile(pixels, [95, 1]))
    span = paper - ink
    if span < 32:
        return None
    return pixels, (pixels > ink + _MID * span) & (pixels < paper - _MID * span), zoom


def _edges(mask: np.ndarray, cells: tuple[int, int, int, int], side: int) -> tuple[int, int, int, int]:
    """A picture's box in pixels: its cells' box grown by a cell each way, then trimmed to the rows and columns
    that hold mid-tones (:data:`_EDGE` of their pixels), so the crop neither cuts the picture's border nor
    takes in the paper around it."""
    x0, y0 = max((cells[0] - 1) * side, 0), max((cells[1] - 1) * side, 0)
    x1, y1 = min((cells[2] + 1) * side, mask.shape[1]), min((cells[3] + 1) * side, mask.shape[0])
    area = mask[y0:y1, x0:x1]
    rows = np.nonzero(area.mean(axis=1) >= _EDGE)[0]
    cols = np.nonzero(area.mean(axis=0) >= _EDGE)[0]
    if not len(rows) or not len(cols):
        return x0, y0, x1, y1
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def _merged(boxes: list[tuple[int, int, int, int]], gap: int,
            lines: list[tuple[float, float, float, float]]) -> list[tuple[int, int, int, int]]:
    """Boxes less than ``gap`` apart joined into one, until none are, unless a line of text (``lines``, in
    pixels) lies between them: the parts of one photo that its dark or white areas split (a portrait's beard
    leaves its face and its shirt 56 pt apart), not two photos with a caption between them. In reading order."""
    boxes = list(boxes)
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                b = boxes[j]
                union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                near = a[0] - gap < b[2] and b[0] - gap < a[2] and a[1] - gap < b[3] and b[1] - gap < a[3]
                if near and not any(_centered(line, union) and not _centered(line, a) and not _centered(line, b)
                                    for line in lines):
                    boxes[i] = union
                    del boxes[j]
                    joined = True
                    break
            if joined:
                break
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _flat(pixels: np.ndarray, side: int) -> bool:
    """Whether most of a picture's cells are one tone (:data:`_FLAT` of their pixels within a few levels of the
    cell's median): a shaded band under text, not a photo, whose tones vary (measured: a grey footer band
    0.62-0.78 of its cells' pixels, a portrait 0.13-0.54, a 1901 newspaper's halftone photo 0.18-0.61)."""
    rows, cols = pixels.shape[0] // side, pixels.shape[1] // side
    if not rows or not cols:
        return False
    cells = pixels[:rows * side, :cols * side].astype(np.float32)
    cells = cells.reshape(rows, side, cols, side).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    span = max(float(cells.max() - cells.min()), 1.0)
    flat = (np.abs(cells - np.median(cells, axis=-1, keepdims=True)) < _LEVELS * span).mean(axis=-1)
    return float(np.median(flat)) >= _FLAT


def _cell_shares(mask: np.ndarray, side: int) -> np.ndarray:
    """The share of mid-tone pixels in each ``side`` x ``side`` cell (a partial last row or column dropped)."""
    rows, cols = mask.shape[0] // side, mask.shape[1] // side
    return mask[:rows * side, :cols * side].reshape(rows, side, cols, side).mean(axis=(1, 3))


def _picture_boxes(picture: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (in cells: x0, y0, x1, y1, ends exclusive) of the groups of touching picture cells that are at
    least :data:`_MIN_SIDE` cells each way and fill :data:`_SOLID` of their box, in reading order (top, left)."""
    seen = np.zeros_like(picture)
    boxes = []
    for y, x in zip(*np.nonzero(picture), strict=True):
        if seen[y, x]:
            continue
        seen[y, x] = True
        queue, count = deque([(y, x)]), 0
        y0, x0, y1, x1 = y, x, y, x
        while queue:
            cy, cx = queue.popleft()
            count += 1
            y0, x0, y1, x1 = min(y0, cy), min(x0, cx), max(y1, cy), max(x1, cx)
            for ny in range(max(cy - 1, 0), min(cy + 2, picture.shape[0])):
                for nx in range(max(cx - 1, 0), min(cx + 2, picture.shape[1])):
                    if picture[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        height, width = y1 - y0 + 1, x1 - x0 + 1
        if min(height, width) >= _MIN_SIDE and count >= _SOLID * height * width:
            boxes.append((int(x0), int(y0), int(x1) + 1, int(y1) + 1))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _crop_zoom(scan: dict | None) -> float:
    """The zoom a picture is cropped at: the scan's own pixels per point, within 1 and :data:`_MAX_ZOOM`."""
    if not scan:
        return 1.0
    box = pymupdf.Rect(scan["bbox"])
    return min(_MAX_ZOOM, max(1.0, scan["width"] / max(box.width, 1.0)))


def _centered(box: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _line_of_text(row: Row, mask: np.ndarray, scale: float) -> bool:
    """Whether a row is a line of text printed on plain ground: two words or more of three letters or more, with
    few mid-tones under it; not the one- and two-letter marks or the words Tesseract makes of a picture's
    texture ("dle)", "7", "Uff a" inside portraits), which lie on its grey tones or are too short to be a line."""
    if sum(len(re.sub(r"[^\w]", "", w)) >= 3 for w in row.text.split()) < 2:
        return False
    y0, y1 = max(int(row.y0 * scale), 0), int(row.y1 * scale) + 1
    x0, x1 = max(int(row.x0 * scale), 0), int(row.x1 * scale) + 1
    under = mask[y0:y1, x0:x1]
    return under.size > 0 and float(under.mean()) <= _PLAIN
