"""References from inside a document to files that travel with it (``src=``, ``href=``, ``xlink:href=``).

A reference is a key into the document's asset mapping (see :mod:`pin_assets.core.sources.assets`): relative,
forward-slashed, without query or fragment. A reference that would leave the document's folder is no key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath


def normalize_reference(ref: str) -> str | None:
    """The mapping key for a reference inside a document, or None when it would leave the document's folder."""
    path = PurePosixPath(ref.strip().split("?", 1)[0].split("#", 1)[0])
    if not ref.strip() or path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path.as_posix().removeprefix("./")


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
