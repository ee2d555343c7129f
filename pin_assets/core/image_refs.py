"""Content image references in a record's Markdown: the one parser for both spellings PIN data uses.

Converters write Markdown image syntax, ``![alt](content_image/NAME)``. The PIN-14M release (and the
readers built for it) writes an HTML tag, ``<img src='content_image/NAME'>``. Records may carry either,
so everything that lists, counts or rewrites the images of a record goes through this module.

An image a document shows but whose bytes the record does not have (a web page's remote picture that was
not fetched, or could not be) keeps its place as ``![alt](missing_image/N)`` (``<img
src='missing_image/N'>`` in the HTML spelling): ``N`` indexes the record's ``ori_meta.missing_images``.
Such a reference counts as an image where the sequence of text and images matters (the interleaving
signal) and is never listed in ``content_image``, which names files only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

ImageSyntax = Literal["html", "markdown"]
IMAGE_SYNTAXES: tuple[ImageSyntax, ...] = ("html", "markdown")

CONTENT = "content_image/"
MISSING = "missing_image/"
# Either ``![alt](content_image/NAME)`` or ``<img src='content_image/NAME'>`` (either quote, optional `/`),
# or the same with ``missing_image/N``.
IMAGE_REF = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\((?P<md>(?:content|missing)_image/[^)\s]+)\)"
    r"|<img\s+src=(?P<q>['\"])(?P<html>(?:content|missing)_image/[^'\"\s>]+)(?P=q)\s*/?>"
)
HTML_IMAGE_TAG = re.compile(r"<img\s+src=(['\"])((?:content|missing)_image/[^'\"\s>]+)\1\s*/?>")


def image_paths(markdown: str) -> list[str]:
    """The ``content_image/NAME`` paths of ``markdown``, in reading order, in whichever spelling (missing
    images, which have no file, are not among them)."""
    paths = (m.group("md") or m.group("html") for m in IMAGE_REF.finditer(markdown))
    return [path for path in paths if path.startswith(CONTENT)]


def image_tag(path: str, syntax: ImageSyntax = "html", alt: str = "") -> str:
    """One image reference in the requested spelling (the HTML tag carries no alt text, as PIN-14M's)."""
    if syntax == "html":
        return f"<img src='{path}'>"
    return f"![{alt}]({path})"


def write_image_refs(markdown: str, syntax: ImageSyntax) -> str:
    """Rewrite every content image reference of ``markdown`` in ``syntax``; everything else is untouched."""
    if syntax not in IMAGE_SYNTAXES:
        raise ValueError(f"image syntax must be one of {IMAGE_SYNTAXES}, got {syntax!r}")

    def rewrite(match: re.Match[str]) -> str:
        path = match.group("md") or match.group("html")
        return image_tag(path, syntax, match.group("alt") or "")

    return IMAGE_REF.sub(rewrite, markdown)


def write_image_refs_keeping_offsets(
    markdown: str, syntax: ImageSyntax, offsets: Sequence[int]
) -> tuple[str, list[int]]:
    """:func:`write_image_refs`, with character ``offsets`` into ``markdown`` moved to the same places.

    Page offsets are stored per record and cut ``md`` into pages (pagination labels, page views); the two
    spellings differ in length, so every offset after a rewritten reference shifts by the difference. An
    offset inside a reference (never written by the converters) moves to the reference's start.
    """
    rewritten = write_image_refs(markdown, syntax)
    if rewritten == markdown:
        return markdown, list(offsets)
    changes = []  # (start, end, change in length) of each reference, in order
    for match in IMAGE_REF.finditer(markdown):
        new = image_tag(match.group("md") or match.group("html"), syntax, match.group("alt") or "")
        changes.append((match.start(), match.end(), len(new) - (match.end() - match.start())))
    moved = []
    for offset in offsets:
        delta = 0
        for start, end, change in changes:
            if end <= offset:
                delta += change
                continue
            if start < offset:
                offset = start
            break
        moved.append(offset + delta)
    return rewritten, moved


def split_at_images(markdown: str) -> list[tuple[str, str]]:
    """``markdown`` as ``("text", chunk)``, ``("image", path)`` and ``("missing", path)`` items in reading order.

    Text chunks are the Markdown between two images, stripped; chunks with nothing but whitespace are
    dropped, so two images on consecutive lines are two image items with no text between them.
    """
    items: list[tuple[str, str]] = []
    start = 0
    for match in IMAGE_REF.finditer(markdown):
        text = markdown[start : match.start()].strip()
        if text:
            items.append(("text", text))
        path = match.group("md") or match.group("html")
        items.append(("image" if path.startswith(CONTENT) else "missing", path))
        start = match.end()
    tail = markdown[start:].strip()
    if tail:
        items.append(("text", tail))
    return items
