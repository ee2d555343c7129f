"""WARC files (Common Crawl, OBELICS' starting point) as a source: one raw file, many web pages.

Each HTML ``response`` record becomes a document with its target URL and crawl date; image responses in
the same WARC become assets keyed by their absolute URL, so the pages that show them resolve them locally.
Every record is accounted for: a page, an image, or skipped with a reason (requests, metadata, revisits,
other content types, HTTP errors), and the counts add up to the records read. warcio reads the records
(plain or per-record gzip, as crawlers write them) and undoes HTTP chunked and content encodings.
"""

from __future__ import annotations

import gzip
import io
import re
import urllib.parse
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from pin_assets.core.document import ConversionError
from pin_assets.core.sources.expanded import ExpandedAsset, ExpandedDocument

if TYPE_CHECKING:
    from pin_assets.core.sources.expanded import ContainerFile
    from pin_assets.core.sources.triage import FileBytes

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_URL_ATTRIBUTE = re.compile(
    rb"""\b(?:src|srcset|href|data-[\w-]*src[\w-]*|data-original|data-url)\s*=\s*["']([^"'<>]{1,4096})["']""", re.I
)
_BASE_HREF = re.compile(rb"""<base\s[^>]*href\s*=\s*["']([^"'<>]{1,2048})["']""", re.I)


def is_warc(name: str, head: bytes) -> bool:
    """A WARC by its first bytes (``WARC/1.x``), also inside gzip (``.warc.gz`` is gzip per record)."""
    if head.startswith(b"WARC/"):
        return True
    if head.startswith(b"\x1f\x8b"):
        try:
            start = zlib.decompressobj(31).decompress(head, 16)
        except zlib.error:
            return False
        return start.startswith(b"WARC/") if len(start) >= 5 else name.lower().endswith((".warc.gz", ".warc"))
    return False


@dataclass(frozen=True)
class WarcPage:
    """An HTML response record: the page's bytes and where and when it was crawled."""

    url: str
    crawl_date: str  # WARC-Date, ISO 8601
    record_id: str
    content_type: str
    body: bytes


@dataclass
class WarcContents:
    """Everything a WARC held, and the count of every record by what became of it."""

    pages: list[WarcPage] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    records: int = 0
    image_records: int = 0
    error: str | None = None  # set when the file broke off; what was read before is kept

    @property
    def balanced(self) -> bool:
        """Records read = pages + image records + skipped ones: none vanished."""
        return self.records == len(self.pages) + self.image_records + sum(self.skipped.values())


def read_warc(stream: BinaryIO) -> WarcContents:
    """Read every record; a corrupt or truncated file keeps what came before and sets ``error``."""
    from warcio.archiveiterator import ArchiveIterator  # loaded by the steps that meet a WARC, not at import
    from warcio.exceptions import ArchiveLoadFailed

    out = WarcContents()
    try:
        for record in ArchiveIterator(stream):
            out.records += 1
            _take(record, out)
    except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"[:500]
    return out


def _take(record, out: WarcContents) -> None:  # noqa: ANN001 - warcio's ArcWarcRecord
    if record.rec_type != "response":
        out.skipped[record.rec_type] = out.skipped.get(record.rec_type, 0) + 1
        return
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    status = record.http_headers.get_statuscode() if record.http_headers else None
    content_type = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
    mime = content_type.split(";")[0].strip().lower()
    if status and not status.startswith("2"):
        reason = f"http_{status}"
    elif mime in _HTML_TYPES:
        out.pages.append(
            WarcPage(url, record.rec_headers.get_header("WARC-Date") or "",
                     record.rec_headers.get_header("WARC-Record-ID") or "", content_type,
                     record.content_stream().read())
        )
        return
    elif mime.startswith("image/"):
        out.images[url] = record.content_stream().read()
        out.image_records += 1
        return
    else:
        reason = f"response_{mime or 'untyped'}"
    out.skipped[reason] = out.skipped.get(reason, 0) + 1


def read_warc_bytes(data: bytes) -> WarcContents:
    """:func:`read_warc` on bytes, plus a check warcio does not make: a gzip member cut short (a download
    that broke off) ends its iteration silently, so the whole stream is read through gzip once."""
    contents = read_warc(io.BytesIO(data))
    if contents.error is None and data.startswith(b"\x1f\x8b"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                while stream.read(2**20):
                    pass
        except (EOFError, OSError, zlib.error) as exc:
            contents.error = f"{type(exc).__name__}: {exc}"[:500]
    return contents


def page_image_refs(html: bytes, page_url: str, available: Mapping[str, str]) -> dict[str, str]:
    """The images of ``available`` (absolute URL -> store key) that a page refers to, by absolute URL."""
    base = _BASE_HREF.search(html[:65536])
    base_url = urllib.parse.urljoin(page_url, base.group(1).decode("utf-8", "replace").strip()) if base else page_url
    found = {}
    for match in _URL_ATTRIBUTE.finditer(html):
        for candidate in match.group(1).decode("utf-8", "replace").split(","):
            bits = candidate.split()
            if not bits or bits[0].startswith("data:"):
                continue
            url = urllib.parse.urljoin(base_url, bits[0])
            if url in available:
                found[url] = available[url]
    return found


def warc_failure(contents: WarcContents) -> ConversionError | None:
    """Why the WARC file itself must be quarantined: it broke off, or it held no HTML page at all."""
    if contents.error:
        return ConversionError("corrupt", f"WARC file broke off after {contents.records} records: {contents.error}")
    if not contents.pages:
        return ConversionError("empty", f"WARC file has no HTML response among its {contents.records} records")
    return None


def sniff_warc(file: FileBytes) -> str | None:
    """The ``warc`` container kind's sniffer."""
    return "warc" if is_warc(file.name, file.head[:4096]) else None


def expand_warc(data: bytes, file: ContainerFile, tag: str) -> Iterator[ExpandedDocument | ExpandedAsset]:
    """One WARC file: each image response an asset keyed by its URL, each HTML response a document (URL and
    crawl date as its origin); a WARC that broke off or holds no page is itself a document that fails."""
    contents = read_warc_bytes(data)
    summary = file.summary
    summary["records"] = contents.records
    summary["pages"] = len(contents.pages)
    summary["images"] = contents.image_records
    summary["skipped"] = dict(contents.skipped)
    summary["balanced"] = contents.balanced
    for url, image in contents.images.items():
        ext = PurePosixPath(url.split("?")[0]).suffix.lower().lstrip(".")[:5] or "bin"
        yield ExpandedAsset(url, image, url, ext)
    for page in contents.pages:
        origin = {"url": page.url, "crawl_date": page.crawl_date, "warc_record_id": page.record_id}
        yield ExpandedDocument(page.url, f"{file.uri}#{page.record_id}", page.body, None, None, relpath=page.url,
                               date=page.crawl_date[:10] or None, origin=origin)
    failure = warc_failure(contents)
    if failure is not None:
        yield ExpandedDocument(file.name, file.uri, data, "unknown", "application/warc",
                               f"{failure.reason}: {failure}", relpath=file.name)

