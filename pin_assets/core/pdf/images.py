"""Images: where they are drawn, overlapping placements merged into figures, captions found, and each
image's bytes decoded once per document (kept as stored when a browser can show them)."""

from __future__ import annotations

import pymupdf

from pin_assets.core.content_images import figure_zoom
from pin_assets.core.document import ExtractedImage
from pin_assets.core.pdf.errors import PDF_ERRORS, describe
from pin_assets.core.pdf.inline import plain_text
from pin_assets.core.pdf.model import CAPTION_RE, Element, Style, Unit
from pin_assets.core.pdf.rotation import unrotated_rect

_BROWSER_EXTS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}


def image_placements(page: pymupdf.Page, max_pixels: int | None = None,
                     digests: dict[int, bytes] | None = None) -> list[dict]:
    """Where images are drawn on the page (clipped to it); one entry per placement, in paint order.

    PyMuPDF's ``get_image_info(xrefs=True)`` finds xrefs by hashing every image, which decodes it in full: a
    50 KB stream declaring 20,000 x 20,000 pixels costs 400 MB and seconds there. The declared sizes are read
    first, without hashing, so the pixel limit is enforced before anything decodes, and xrefs are found
    only when every image is accepted (see :func:`_with_xrefs`, which hashes from the same reading of the
    page).

    Hashing decodes every image in the page's resources, so one MuPDF cannot parse (a broken color space)
    makes it fail for the whole page, although that image is never drawn and the declared sizes do not list
    it. The drawn images are then taken from the declared sizes without their xrefs, and their areas are
    rendered like inline images: nothing visible is lost.

    An image declaring more than ``max_pixels`` costs only itself: its placement is kept, marked
    ``over_limit`` (the ImageStore leaves it out with a warning, counted in ``images_skipped``), and the page's
    other images get their xrefs by their declared sizes, so nothing decodes the big one. ``digests`` holds
    the document's image hashes by xref, so an image every page shows (a logo) is decoded once.
    """
    textpage = page.get_textpage(flags=pymupdf.TEXT_PRESERVE_IMAGES)  # what get_image_info reads
    declared = textpage.extractIMGINFO()
    if not declared:
        return []
    over = [bool(max_pixels) and info["width"] * info["height"] > max_pixels for info in declared]
    if any(over):
        located = [{**info, "xref": 0 if big else _xref_by_size(page, info), "over_limit": big}
                   for info, big in zip(declared, over, strict=True)]
    else:
        try:
            located = _with_xrefs(page, textpage, {} if digests is None else digests)
        except PDF_ERRORS:
            located = [{**info, "xref": 0} for info in declared]
    placements = []
    page_box = unrotated_rect(page)  # image boxes are in the page's coordinates before its /Rotate
    for info in located:
        box = pymupdf.Rect(info["bbox"]) & page_box
        if box.is_empty or box.width < 1 or box.height < 1:
            continue
        placements.append({"bbox": tuple(box), "xref": info["xref"], "width": info["width"],
                           "height": info["height"], "page": page.number, "over_limit": info.get("over_limit", False)})
    return placements


def _with_xrefs(page: pymupdf.Page, textpage: pymupdf.TextPage, digests: dict[int, bytes]) -> list[dict]:
    """The placements of ``textpage`` (read with ``TEXT_PRESERVE_IMAGES``) with their xrefs, as
    ``page.get_image_info(xrefs=True)`` gives them: a placement's xref is the page image whose decoded
    pixels hash the same (the last such in the page's list), 0 for none. Unlike that call it reuses the
    page's reading and the hashes already taken in ``digests``."""
    located = textpage.extractIMGINFO(hashes=True)
    by_digest = {}
    for item in page.get_images():
        xref = item[0]
        if xref not in digests:
            digests[xref] = pymupdf.Pixmap(page.parent, xref).digest
        by_digest[digests[xref]] = xref
    for info in located:
        info["xref"] = by_digest.get(info["digest"], 0)
    return located


def _xref_by_size(page: pymupdf.Page, info: dict) -> int:
    """The xref of the page's one image of ``info``'s declared size, read from the resources without decoding;
    0 (render the area instead) when no image or several images have that size."""
    try:
        size = (info["width"], info["height"])
        matches = {item[0] for item in page.get_images(full=True) if (item[2], item[3]) == size}
    except PDF_ERRORS:
        return 0
    return matches.pop() if len(matches) == 1 else 0


def figure_units(images: list[Unit]) -> list[Unit]:
    """Merge overlapping image placements into one figure: a picture drawn as tiles or with overlays
    becomes a single image, the largest placement's own bytes when it covers the group, else a render."""
    groups: list[list[Unit]] = []
    for image in sorted((u for u in images if not (u.image and u.image.get("over_limit"))), key=lambda u: (u.y0, u.x0)):
        touching = [g for g in groups if any(_overlaps(image, other) for other in g)]
        merged = [image] + [u for g in touching for u in g]
        groups = [g for g in groups if all(g is not t for t in touching)] + [merged]
    figures = [u for u in images if u.image and u.image.get("over_limit")]  # left out alone, never rendered
    for group in groups:
        box = _union(group)
        largest = max(group, key=_area)
        if len(group) == 1 or _area(largest) >= 0.9 * _area(box):
            figures.append(largest)
        else:
            box.image = _render_placement(box, group)
            figures.append(box)
    return figures


def _overlaps(a: Unit, b: Unit, slack: float = 1.0) -> bool:
    """Whether two boxes intersect or touch."""
    return a.x0 <= b.x1 + slack and b.x0 <= a.x1 + slack and a.y0 <= b.y1 + slack and b.y0 <= a.y1 + slack


def _union(units: list[Unit]) -> Unit:
    """The box enclosing a group of units."""
    return Unit("image", min(u.x0 for u in units), min(u.y0 for u in units),
                 max(u.x1 for u in units), max(u.y1 for u in units))


def _area(unit: Unit) -> float:
    """Area of a unit's box in square points."""
    return max(unit.x1 - unit.x0, 0.0) * max(unit.y1 - unit.y0, 0.0)


def _render_placement(box: Unit, group: list[Unit]) -> dict:
    """A placement that asks for the page area to be rendered, at the finest member's resolution within the
    caps of a drawn figure (:func:`~pin_assets.core.content_images.figure_zoom`: a poster's mind map drawn
    around 40 small formula images was 3545 x 6608 px)."""
    zoom = max(u.image["width"] / max(u.x1 - u.x0, 1.0) for u in group)
    zoom = min(3.0, max(1.0, zoom))
    zoom = figure_zoom(box.x1 - box.x0, box.y1 - box.y0, zoom * 72)
    page = group[0].image["page"]
    width, height = round((box.x1 - box.x0) * zoom), round((box.y1 - box.y0) * zoom)
    return {"bbox": (box.x0, box.y0, box.x1, box.y1), "xref": 0, "width": width, "height": height,
            "page": page, "zoom": zoom, "vector": any(u.image.get("vector") for u in group)}


def caption_for(element: Element, elements: list[Element], style: Style) -> str | None:
    """A 'Figure 3: ...' or 'Table 1' paragraph touching the image from below or above."""
    x0, y0, x1, y1 = element.bbox
    reach = 3 * style.body
    best: tuple[float, str] | None = None
    for other in elements:
        if other.kind not in ("para", "heading") or not other.rows:
            continue
        ox0, oy0, ox1, oy1 = other.bbox
        if ox0 > x1 or ox1 < x0:
            continue
        distance = min(abs(oy0 - y1), abs(y0 - oy1))
        text = " ".join(plain_text(other.rows, style).split())
        if distance <= reach and CAPTION_RE.match(text) and (best is None or distance < best[0]):
            best = (distance, text)
    return best[1] if best else None


class ImageStore:
    """Decodes each image xref once, and records every occurrence in Markdown order.

    An image that cannot be decoded or converted is left out of the Markdown with a warning on the
    document and counted in :attr:`skipped`.
    """

    def __init__(self, doc: pymupdf.Document, min_side: int, max_pixels: int, warnings: list[str]):
        self.doc = doc
        self.min_side = min_side
        self.max_pixels = max_pixels
        self.warnings = warnings
        self.cache: dict[int, tuple[bytes, str, int, int] | None] = {}
        self.ordered: list[ExtractedImage] = []
        self.vector_figures = 0  # figures drawn as paths, rendered into content images
        self._skipped: set[tuple] = set()  # placements left out, each warned about and counted once

    @property
    def skipped(self) -> int:
        """Placements left out because their image was over ``max_image_pixels`` or could not be decoded (the
        ``images_skipped`` signal)."""
        return len(self._skipped)

    def get(self, placement: dict, caption: str | None) -> ExtractedImage | None:
        """The image for one placement, or None when it is too small, too large or cannot be decoded."""
        width, height = placement["width"], placement["height"]
        if placement.get("over_limit") or (self.max_pixels and width * height > self.max_pixels):
            self._leave_out(placement, f"its decoded size ({width}x{height} px = {width * height:,} px) is over "
                            f"the max_image_pixels limit of {self.max_pixels:,}")
            return None
        if min(width, height) < self.min_side:
            return None
        xref = placement["xref"]
        if xref not in self.cache or xref == 0:
            self.cache[xref] = self._decode(placement)
        decoded = self.cache[xref]
        if isinstance(decoded, str):  # left out, saying so on the document
            self._leave_out(placement, f"it could not be decoded: {decoded}")
            return None
        image = ExtractedImage(*decoded, caption=caption)
        self.ordered.append(image)
        self.vector_figures += bool(placement.get("vector"))
        return image

    def _leave_out(self, placement: dict, why: str) -> None:
        """Warn about and count a placement left out of the Markdown, once however often it is asked for."""
        key = (placement["page"], placement["xref"], placement["bbox"])
        if key not in self._skipped:
            self._skipped.add(key)
            self.warnings.append(f"an image on page {placement['page'] + 1} was skipped, {why}")

    def _decode(self, placement: dict) -> tuple[bytes, str, int, int] | str:
        """Original bytes when a browser can show them, else PNG; or why MuPDF could not make either."""
        try:
            if placement["xref"] == 0:
                return _render_inline_image(self.doc[placement["page"]], placement)
            return _image_bytes(self.doc, placement["xref"])
        except PDF_ERRORS as exc:
            return describe(exc)


def _image_bytes(doc: pymupdf.Document, xref: int) -> tuple[bytes, str, int, int]:
    """Keep JPEG/PNG/GIF/WebP streams as stored; convert JPX, JBIG2, CCITT, CMYK and masked images.

    PNG holds gray or RGB only, so any other color space (CMYK, Lab, Separation, DeviceN, an indexed
    palette over one of them) is converted to RGB; a CMYK JPEG stays JPEG unless a mask gives it alpha.
    A masked image is never kept as stored, so it skips ``extract_image``, which would encode it once more.
    """
    smask = _mask_xref(doc, xref)
    info = {} if smask else doc.extract_image(xref)
    ext = _BROWSER_EXTS.get(info.get("ext", ""))
    cmyk_jpeg = ext == "jpeg" and info.get("colorspace") == 4
    if ext and not cmyk_jpeg:
        return info["image"], ext, info["width"], info["height"]
    pix = pymupdf.Pixmap(doc, xref)
    if smask:
        pix = _masked(pix, pymupdf.Pixmap(doc, smask))
    if pix.colorspace is None or pix.colorspace.name not in _PNG_COLORSPACES:
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    if cmyk_jpeg and not pix.alpha:
        return pix.tobytes("jpeg"), "jpeg", pix.width, pix.height
    return pix.tobytes("png"), "png", pix.width, pix.height


_PNG_COLORSPACES = frozenset({"DeviceGray", "DeviceRGB"})


def _mask_xref(doc: pymupdf.Document, xref: int) -> int:
    """The xref of the image's mask as ``extract_image`` gives it (``smask``): its /SMask, else its /Mask,
    when that is a reference (a color-key /Mask array is no image: 0)."""
    for key in ("SMask", "Mask"):
        kind, value = doc.xref_get_key(xref, key)
        if kind != "null":
            return int(value.split()[0]) if kind == "xref" else 0
    return 0


def _masked(pix: pymupdf.Pixmap, mask: pymupdf.Pixmap) -> pymupdf.Pixmap:
    """The image with its soft mask as alpha.

    A PDF soft mask covers the same unit square as its image at any resolution of its own, so it is
    scaled to the image (MuPDF's pixmap join wants equal sizes); an image that already carries alpha
    (a JPX with an alpha channel) drops it first, since the mask the PDF names is the one that applies.
    """
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    if (mask.width, mask.height) != (pix.width, pix.height):
        mask = pymupdf.Pixmap(mask, pix.width, pix.height, None)
    return pymupdf.Pixmap(pix, mask)


def _render_inline_image(page: pymupdf.Page, placement: dict) -> tuple[bytes, str, int, int]:
    """Inline images, composite and vector figures have no single stream to extract: render their area, as
    the page is displayed (the box is in the page's coordinates before its /Rotate, a render's clip after)."""
    box = pymupdf.Rect(placement["bbox"])
    zoom = placement.get("zoom") or min(4.0, max(0.5, placement["width"] / max(box.width, 1.0)))
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=box * page.rotation_matrix)
    return pix.tobytes("png"), "png", pix.width, pix.height
