"""Per-document resource limits; a breach quarantines the document with the limit it broke."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentLimits:
    """Bounds on what one document may cost.

    They protect an unattended batch from one pathological file: a parser that spins (timeout), a
    2,000-page monster (pages), a decompression bomb image (pixels), or output that would swamp the store.
    """

    timeout_s: float = 120.0
    max_pages: int = 2000
    max_image_pixels: int = 100_000_000
    max_output_bytes: int = 512 * 2**20
    memory_mb: int = 4096
