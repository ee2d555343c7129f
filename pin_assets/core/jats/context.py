"""The per-document state every part of the JATS walk shares, and the signature of a block handler.

Figures, tables, footnotes and the abstract contain blocks of their own; their modules take the block
walk as a :data:`ChildBlocks` argument instead of importing :mod:`pin_assets.core.jats.blocks`, which
imports them to build its dispatch table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree

from pin_assets.core.content_images import load_web_image
from pin_assets.core.document import ExtractedImage

_IMAGE_EXTS = ("", ".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class Context:
    """Per-document state: the image assets, images extracted so far, and what went missing."""

    assets: Mapping[str, bytes]
    max_image_pixels: int | None = None
    images: list[ExtractedImage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def image(self, href: str, caption: str | None) -> ExtractedImage | None:
        """The asset for ``href`` (trying common extensions), or ``None`` recorded as missing."""
        data = _find_asset(self.assets, href)
        where = f"figure {href[:80]!r}"
        image = (
            load_web_image(data, caption, max_pixels=self.max_image_pixels, where=where)
            if data is not None else None
        )
        if image is None:
            self.missing.append(href)
            reason = "not supplied" if data is None else "not a readable image"
            self.warnings.append(f"figure image {href!r} {reason}; caption kept without image")
            return None
        self.images.append(image)
        return image


BlockHandler = Callable[[etree._Element, Context, int], list[str]]
"""Markdown blocks for one element at a heading depth: every entry of the block dispatch table."""

ChildBlocks = BlockHandler
"""The block walk over an element's children, handed to the modules whose elements nest blocks."""


def _find_asset(assets: Mapping[str, bytes], href: str) -> bytes | None:
    names = [href, PurePosixPath(href).name]
    for name in names:
        for ext in _IMAGE_EXTS:
            if name + ext in assets:
                return assets[name + ext]
    return None
