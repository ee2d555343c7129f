"""arXiv's bulk source archives: one tar of many e-prints, expanded into one stored document per e-print.

arXiv publishes every submission's source in monthly tar files (``arXiv_src_2101_001.tar`` ...), each about
half a gigabyte, on requester-pays S3. A member is one e-print, named by its identifier under its month's
folder: ``2101/2101.00001.gz`` (a gzipped tar of the source folder, or a gzipped single TeX file) or, for a
submission that came as a PDF only, ``2101/2101.00002.pdf``; old identifiers read ``0001/astro-ph0001001.gz``.
Like a dataset shard's rows, each member becomes its own raw document (``kind`` ``arxiv`` or ``pdf``) with
its identifier in ``ori_meta``; a member that is neither is still a document, of kind ``unknown`` with the
reason, so conservation counts it.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from pin_assets.core.latex.archive import MAX_MEMBER_BYTES, is_tar, sniff_eprint, tar_headers
from pin_assets.core.sources.expanded import ExpandedDocument

MEMBER_NAME = re.compile(
    r"^(?:(?P<month>\d{4})/)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?\d{7})(?P<version>v\d+)?"
    r"\.(?P<ext>gz|pdf|tar\.gz|tgz|tar)$"
)
TAG = "arxiv-src"


def arxiv_id(member: str) -> str | None:
    """The identifier a bulk member is named by: ``2101.00001`` for ``2101/2101.00001.gz``, old-style
    ``astro-ph/0001001`` for ``0001/astro-ph0001001.gz``."""
    match = MEMBER_NAME.match(member)
    if match is None:
        return None
    ident = match.group("id")
    old = re.match(r"^([a-z][a-z-]*(?:\.[A-Z]{2})?)(\d{7})$", ident)
    return f"{old.group(1)}/{old.group(2)}" if old else ident


def sniff_bulk_tar(file: Any) -> str | None:
    """``"arxiv-src"`` for a tar whose members (those in the first bytes) are all named like arXiv bulk
    members, at least one of them; ``None`` for anything else, an e-print's own tar included."""
    head = file.head
    if not is_tar(head):
        return None
    headers, ending = tar_headers(head)
    if ending == "bad":
        return None
    seen = 0
    for name, kind in headers:
        if kind in (b"0", b"\x00"):
            if MEMBER_NAME.match(name.lstrip("./")) is None:
                return None
            seen += 1
        elif kind not in (b"5", b"x", b"g"):  # directories and pax headers are fine, links are not members
            return None
    return TAG if seen else None


def expand_bulk_tar(data: bytes, container: Any, tag: str) -> Iterator[ExpandedDocument]:
    """Each e-print of a bulk tar as a document of its own (``ori_meta``: its arXiv identifier and member)."""
    counts = {"eprints": 0, "pdfs": 0, "unreadable": 0}
    for name, content, error in _members(data):
        if error is None:
            yield _member(container, name, content, counts)
        else:
            counts["unreadable"] += 1
            yield _failed(container, name, error)
    for key, value in counts.items():
        container.summary[key] = container.summary.get(key, 0) + value


def _members(data: bytes) -> Iterator[tuple[str, bytes, str | None]]:
    """``(member name, bytes, None)`` per file of the tar, or ``(name, b"", "reason: message")``."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name.lstrip("./")
                if member.size > MAX_MEMBER_BYTES:
                    yield name, b"", (f"unsafe: the member declares {member.size:,} bytes, more than "
                                      f"{MAX_MEMBER_BYTES:,}")
                    continue
                handle = tar.extractfile(member)
                yield name, handle.read(member.size) if handle is not None else b"", None
    except tarfile.TarError as exc:
        yield "", b"", f"corrupt: the bulk tar cannot be read to its end: {exc}"


def _member(container: Any, name: str, content: bytes, counts: dict[str, int]) -> ExpandedDocument:
    ident = arxiv_id(name)
    origin = {"arxiv_id": ident, "bulk_member": name}
    uri, relpath = f"{container.uri}#{name}", f"{container.relpath}#{name}"
    base = PurePosixPath(name).name
    if content[:5] == b"%PDF-":
        counts["pdfs"] += 1
        return ExpandedDocument(base, uri, content, "pdf", None, relpath=relpath, origin=origin)
    if sniff_eprint(content, base):
        counts["eprints"] += 1
        ext = "tar.gz" if content[:2] == b"\x1f\x8b" else "tex"
        return ExpandedDocument(base, uri, content, "arxiv", None, relpath=relpath, origin=origin, ext=ext)
    counts["unreadable"] += 1
    return ExpandedDocument(base, uri, content, "unknown", "application/octet-stream",
                            error="unsupported: the member is neither a LaTeX source nor a PDF",
                            relpath=relpath, origin=origin)


def _failed(container: Any, name: str, error: str) -> ExpandedDocument:
    where = f"#{name}" if name else ""
    return ExpandedDocument(PurePosixPath(name).name or container.name, container.uri + where, error.encode(),
                            "unknown", "application/octet-stream", error=error,
                            relpath=container.relpath + where)
