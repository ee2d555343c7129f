"""Per-document resource limits; a breach quarantines the document with the limit it broke.

Every breach is a ``ConversionError("limit", ...)`` whose message names the setting to raise (the field of
``ProcessingResource``: ``max_pages``, ``max_image_pixels``, ``max_output_bytes``), so a user reading the
quarantine knows which knob a retry needs without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pin_assets.core.document import ConversionError
from pin_assets.core.ocr_settings import OcrSettings
from pin_assets.core.web_settings import WebSettings


@dataclass(frozen=True)
class DocumentLimits:
    """Bounds on what one document may cost.

    They protect an unattended batch from one pathological file: a parser that spins (timeout), a
    2,000-page monster (pages), a decompression bomb image (pixels), or output that would swamp the store.
    ``ocr`` travels with them because OCR is what makes a scanned document expensive: its page and read
    budget (work counted, not seconds) keeps a long scan inside ``timeout_s``, which only guards against a
    hung document: it quarantines, it never changes what a record holds.
    """

    timeout_s: float = 120.0
    max_pages: int = 2000
    max_image_pixels: int = 100_000_000
    max_output_bytes: int = 512 * 2**20
    memory_mb: int = 4096
    ocr: OcrSettings = field(default_factory=OcrSettings)
    web: WebSettings = field(default_factory=WebSettings)  # comments, title, remote images (fetched within timeout_s)


def limit_exceeded(setting: str, what: str, value: int, limit: int) -> ConversionError:
    """The error for ``what`` measuring ``value`` against the ``setting`` limit ``limit``."""
    return ConversionError("limit", f"{what} is {value:,}, over the {setting} limit of {limit:,}")


def check_image_pixels(width: int, height: int, limit: int | None, where: str) -> None:
    """Refuse an image by its declared size, before a decoder allocates ``width * height`` pixels."""
    if limit is not None and limit > 0 and width * height > limit:
        raise limit_exceeded("max_image_pixels", f"the decoded size of {where} ({width}x{height} px)",
                             width * height, limit)


def check_page_count(pages: int, limit: int | None, what: str) -> None:
    if limit is not None and pages > limit:
        raise limit_exceeded("max_pages", f"the page count of {what}", pages, limit)
