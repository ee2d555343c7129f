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


def load_web_image(data: bytes, caption: str | None, *, max_pixels: int | None, where: str) -> ExtractedImage | None:
    """An ExtractedImage in a web format (others re-encoded to PNG), or ``None`` for bytes that are no image.

    The declared size is checked against ``max_pixels`` after ``Image.open`` (which reads only the header)
    and before ``load()`` (which allocates every pixel), so a 50 KB PNG declaring 20,000 x 20,000 pixels is
    refused as a ``limit`` breach instead of costing gigabytes. Pillow's own bomb guard (twice
    ``Image.MAX_IMAGE_PIXELS``, which the worker sets from the same limit) fires inside ``open`` for the
    biggest ones; it is reported as the same breach, not as an unreadable image.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                check_image_pixels(width, height, max_pixels, where)
                img.load()
                fmt = (img.format or "").upper()
                if fmt not in WEB_FORMATS:
                    out = io.BytesIO()
                    img.convert("RGBA" if "A" in img.getbands() else "RGB").save(out, "PNG")
                    data, fmt = out.getvalue(), "PNG"
    except Image.DecompressionBombError as exc:
        limit = f"{max_pixels:,}" if max_pixels else "Pillow's default"
        raise ConversionError(
            "limit", f"the decoded size of {where} is over the max_image_pixels limit of {limit}: {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return ExtractedImage(data=data, ext=WEB_FORMATS[fmt], width=width, height=height, caption=caption)
