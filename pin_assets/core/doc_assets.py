"""Files that travel with a document: the figures of a JATS article package, the images of a saved page.

Converters never read the file system: they get a mapping from the path a document uses to refer to a
file (relative, forward-slashed, as written in ``xlink:href`` or ``<img src>``) to its bytes. The same
converter then works for files on disk (``pin convert``) and for objects in a store (the assets), and a
document cannot reach anything outside the mapping, whatever path it names.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from pin_assets.core.document import ConversionError, ExtractedImage
from pin_assets.core.limits import check_image_pixels

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp"})
IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
MAX_ASSET_BYTES = 50 * 2**20
MAX_DEPTH = 3
WEB_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}


def is_image_file(name: str, head: bytes) -> bool:
    """An image by magic bytes (or WebP's RIFF header), with a known image extension as confirmation."""
    magic = head.startswith(IMAGE_MAGICS) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    return magic and PurePosixPath(name.lower()).suffix in IMAGE_SUFFIXES


def normalize_reference(ref: str) -> str | None:
    """The mapping key for a reference inside a document, or None when it would leave the document's folder."""
    path = PurePosixPath(ref.strip().split("?", 1)[0].split("#", 1)[0])
    if not ref.strip() or path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path.as_posix().removeprefix("./")


def folder_assets(folder: Path, exclude: Path | None = None) -> dict[str, bytes]:
    """Image files under ``folder`` (a few levels deep), keyed by their path relative to it."""
    assets: dict[str, bytes] = {}
    root = folder.resolve()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if len(relative.parts) > MAX_DEPTH or path == exclude or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stat().st_size <= MAX_ASSET_BYTES:
            assets[relative.as_posix()] = path.read_bytes()
    return assets


_REFERENCE = re.compile(rb"""(?:\bsrc|\bhref)\s*=\s*["']([^"'<>]{1,1024})["']""", re.I)


def referenced_paths(data: bytes) -> set[str]:
    """Relative file references in a document's markup (``src=``, ``href=``, ``xlink:href=``), normalized.

    Only these are loaded for the document, so a page in a folder of thousands of images gets its own
    images and no others.
    """
    refs = set()
    for match in _REFERENCE.finditer(data):
        ref = normalize_reference(match.group(1).decode("utf-8", "replace"))
        if ref is not None and "://" not in ref and not ref.startswith(("data:", "mailto:")):
            refs.add(ref)
    return refs


def resolve_references(document: str, refs: set[str], available: Mapping[str, str]) -> dict[str, str]:
    """Map each reference of the document at ``document`` (a relative path) to an available asset.

    ``available`` maps asset paths (relative to the source root) to where they are stored. A reference
    without an extension (JATS ``xlink:href="fig1"``) matches an asset of that stem.
    """
    folder = PurePosixPath(document).parent
    by_stem: dict[str, str] = {}
    for path in available:
        by_stem.setdefault(str(PurePosixPath(path).with_suffix("")), path)
    resolved = {}
    for ref in refs:
        full = (folder / ref).as_posix().removeprefix("./")
        match = full if full in available else by_stem.get(full)
        if match is not None:
            resolved[ref] = available[match]
    return resolved


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
