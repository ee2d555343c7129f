"""References from inside a document to files that travel with it (``src=``, ``href=``, ``xlink:href=``).

A reference is a key into the document's asset mapping (see :mod:`pin_assets.core.sources.assets`): relative,
forward-slashed, without query or fragment, with ``.`` and inner ``..`` folded (:func:`normalize_reference`).
Where it points is decided against the referring document's own path (:func:`resolve_reference`): a
chapter at ``OEBPS/text/ch1.xhtml`` that shows ``../images/fig.png`` shows ``OEBPS/images/fig.png``. A
reference that would leave the root (the source folder, the book) resolves to nothing, whatever it names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import PurePosixPath


def normalize_reference(ref: str) -> str | None:
    """The mapping key for a reference as a document writes it, or None for an empty or absolute one.

    A leading ``..`` stays (``../images/a.png``): whether it leaves the root is decided by
    :func:`resolve_reference`, which knows where the document sits.
    """
    text = ref.strip().split("?", 1)[0].split("#", 1)[0]
    if not text or text.startswith("/"):
        return None
    path = posixpath.normpath(text)
    return None if path == "." else path


def resolve_reference(document: str, ref: str) -> str | None:
    """Where ``ref``, written in the document at ``document`` (a path relative to the root), points: a path
    relative to the root, ``..`` normalized; None when it is empty, absolute or leaves the root."""
    key = normalize_reference(ref)
    if key is None:
        return None
    full = posixpath.normpath(posixpath.join(posixpath.dirname(document), key))
    if full == ".." or full.startswith(("../", "/")):
        return None
    return full


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
    by_stem: dict[str, str] = {}
    for path in available:
        by_stem.setdefault(str(PurePosixPath(path).with_suffix("")), path)
    resolved = {}
    for ref in refs:
        full = resolve_reference(document, ref)
        if full is None:
            continue
        match = full if full in available else by_stem.get(full)
        if match is not None:
            resolved[ref] = available[match]
    return resolved
