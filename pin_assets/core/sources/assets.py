"""Files that travel with a document: the figures of a JATS article package, the images of a saved page.

Converters never read the file system: they get a mapping from the path a document uses to refer to a
file (relative, forward-slashed, as written in ``xlink:href`` or ``<img src>``) to its bytes. The same
converter then works for files on disk (``pin convert``) and for objects in a store (the assets), and a
document cannot reach anything outside the mapping, whatever path it names.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp"})
IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
MAX_ASSET_BYTES = 50 * 2**20
MAX_DEPTH = 3


def is_image_file(name: str, head: bytes) -> bool:
    """An image by magic bytes (or WebP's RIFF header), with a known image extension as confirmation."""
    magic = head.startswith(IMAGE_MAGICS) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    return magic and PurePosixPath(name.lower()).suffix in IMAGE_SUFFIXES


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
