"""Content images from bytes: decoded under a pixel cap, kept in a web format, anything else re-encoded to PNG.

Every converter whose images arrive as files (a JATS article's figures, a web page's pictures, a dataset
row's images) decodes them here, so the pixel limit and the formats a record may hold are decided once.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from pin_assets.core.document import ConversionError, ExtractedImage
from pin_assets.core.limits import check_image_pixels

WEB_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
MAX_FIGURE_SIDE = 4000  # pixels: a figure rendered larger than this says nothing more to a model
MAX_FIGURE_PIXELS = 4_000_000  # a whole Letter page at 200 dpi; a full-page figure at 150 dpi is 2.1 MP


def figure_zoom(width_pt: float, height_pt: float, dpi: float) -> float:
    """Scale from points to pixels for rendering a drawn figure (a PDF's vector figure, a LaTeX source's PDF or
    EPS graphic): ``dpi``, less where the longer side would pass :data:`MAX_FIGURE_SIDE` or the pixels
    :data:`MAX_FIGURE_PIXELS`. A poster-sized page drawn as one mind map (24.6 x 46.5 in.) came out 3545 x
    6608 px at 150 dpi, and rendering and encoding it took three quarters of its page's parse; no figure of
    a page up to tabloid size reaches the caps. A render covers the pixel its box ends in, one more than the
    box's exact size at most, hence the pixel kept in hand."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
    return min(dpi / 72, (MAX_FIGURE_SIDE - 1) / max(width_pt, height_pt),
               ((MAX_FIGURE_PIXELS ** 0.5) - 1) / (width_pt * height_pt) ** 0.5)


class ImageOverLimit(ConversionError):
    """An image declares more pixels than ``max_image_pixels``. Converters leave that image out with a warning
    and count it (``images_skipped``): a limit one image exceeds costs that image, not its document."""

    def __init__(self, message: str):
        super().__init__("limit", message)

    def __reduce__(self):
        return (type(self), (str(self),))


def load_web_image(data: bytes, caption: str | None, *, max_pixels: int | None, where: str) -> ExtractedImage | None:
    """An ExtractedImage in a web format (others re-encoded to PNG), or ``None`` for bytes that are no image.

    The declared size is checked against ``max_pixels`` after ``Image.open`` (which reads only the header)
    and before ``load()`` (which allocates every pixel), so a 50 KB PNG declaring 20,000 x 20,000 pixels is
    refused as :class:`ImageOverLimit` instead of costing gigabytes. Pillow's own bomb guard (twice
    ``Image.MAX_IMAGE_PIXELS``, which the worker sets from the same limit) fires inside ``open`` for the
    biggest ones; it is reported as the same breach, not as an unreadable image.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                try:
                    check_image_pixels(width, height, max_pixels, where)
                except ConversionError as exc:
                    raise ImageOverLimit(str(exc)) from None
                img.load()
                fmt = (img.format or "").upper()
                if fmt not in WEB_FORMATS:
                    out = io.BytesIO()
                    img.convert("RGBA" if "A" in img.getbands() else "RGB").save(out, "PNG")
                    data, fmt = out.getvalue(), "PNG"
    except Image.DecompressionBombError as exc:
        limit = f"{max_pixels:,}" if max_pixels else "Pillow's default"
        raise ImageOverLimit(
            f"the decoded size of {where} is over the max_image_pixels limit of {limit}: {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return ExtractedImage(data=data, ext=WEB_FORMATS[fmt], width=width, height=height, caption=caption)
