"""An EPUB's package: the zip read within caps, ``META-INF/container.xml`` to the OPF, the OPF's manifest,
spine and Dublin Core metadata, and ``META-INF/encryption.xml`` to tell DRM from font obfuscation.

EPUB 2 and 3 share all of this (OCF and OPF). The spine gives reading order; items marked
``linear="no"`` (pop-up notes, answer keys) are outside it and skipped. Paths in the OPF are URL-encoded and
relative to the OPF's own folder, paths in ``encryption.xml`` to the container's root; both are resolved with
``..`` normalized, and one that leaves the book refuses the book (``unsafe``), as does a member named outside
it. Publishers obfuscate embedded fonts (IDPF and Adobe algorithms), which leaves the text readable; any
other encryption of a chapter is DRM, and such a book is refused as ``encrypted``.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from pin_assets.core.archives import ArchiveRefused, CappedZip
from pin_assets.core.document import ConversionError
from pin_assets.core.kinds import Probe
from pin_assets.core.markup.references import resolve_reference
from pin_assets.core.markup.xml import parse_xml_safely

MIMETYPE = b"application/epub+zip"
CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
ENC_NS = "http://www.w3.org/2001/04/xmlenc#"
FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})
CHAPTER_TYPES = frozenset({"application/xhtml+xml", "text/html"})
MEMBER_CAP = 64 * 2**20
TOTAL_CAP = 512 * 2**20
# Dublin Core elements kept in ori_meta, under these names (several creators are joined with "; ").
DC_FIELDS = {"title": "title", "creator": "author", "language": "language", "identifier": "identifier",
             "publisher": "publisher", "date": "date", "rights": "rights", "subject": "subject"}
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def sniff_epub(probe: Probe) -> bool:
    """The ``epub`` kind's sniffer: OCF's ``mimetype`` first member (stored, read from the first bytes), or,
    for a book zipped carelessly, a zip holding ``META-INF/container.xml`` and that ``mimetype`` anywhere."""
    head = probe.head
    if head[:4] != b"PK\x03\x04":
        return False
    name_len, extra_len = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
    start = 30 + name_len + extra_len
    if head[30 : 30 + name_len] == b"mimetype" and head[start : start + len(MIMETYPE)] == MIMETYPE:
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(probe.data)) as archive:
            names = set(archive.namelist())
            if CONTAINER not in names or "mimetype" not in names:
                return False
            info = archive.getinfo("mimetype")
            return info.file_size < 100 and archive.read(info).strip() == MIMETYPE
    except _READ_ERRORS:
        return False


@dataclass
class Book:
    """What the package says: chapters in reading order, metadata, and how to read members."""

    archive: CappedZip
    opf_path: str
    version: str
    chapters: list[str]
    skipped: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    media_types: dict[str, str] = field(default_factory=dict)
    encrypted: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def read(self, path: str) -> bytes:
        """A member's bytes; ``KeyError`` when it is not in the book."""
        return read_member(self.archive, path)


def open_book(data: bytes) -> Book:
    """Read the package of an EPUB; ``ConversionError`` (``corrupt``, ``unsafe``, ``encrypted``) when it
    cannot or must not be converted."""
    try:
        archive = CappedZip(data, member_cap=MEMBER_CAP, total_cap=TOTAL_CAP, what="the EPUB")
    except ArchiveRefused as exc:
        raise ConversionError("unsafe", str(exc)) from exc
    except _READ_ERRORS as exc:
        raise ConversionError("corrupt", f"not a readable EPUB (zip) file: {exc}") from exc
    opf_path = _rootfile(archive)
    opf = _member_xml(archive, opf_path, "the OPF package")
    book = Book(archive, opf_path, opf.get("version") or "", [])
    manifest = _manifest(opf, opf_path, book)
    book.metadata = _dublin_core(opf)
    book.encrypted = _drm_encrypted(archive)
    for itemref in opf.iterfind(f"{{{OPF_NS}}}spine/{{{OPF_NS}}}itemref"):
        item = manifest.get(itemref.get("idref") or "")
        if item is None:
            book.warnings.append(f"spine item {itemref.get('idref')!r} is not in the manifest")
            continue
        path, media_type = item
        if (itemref.get("linear") or "yes").strip().lower() == "no":
            book.skipped.append(path)
        elif media_type not in CHAPTER_TYPES:
            book.warnings.append(f"spine item {path!r} ({media_type}) is not a chapter; skipped")
        else:
            book.chapters.append(path)
    locked = [path for path in book.chapters if path in book.encrypted]
    if locked:
        raise ConversionError(
            "encrypted", f"{len(locked)} of the EPUB's {len(book.chapters)} chapters are DRM-encrypted "
            f"({book.encrypted[locked[0]]}), first {locked[0]!r}",
        )
    if not book.chapters:
        raise ConversionError("empty", "the EPUB's spine lists no chapter")
    return book


def read_member(archive: CappedZip, path: str) -> bytes:
    try:
        return archive.read(path)
    except ArchiveRefused as exc:
        raise ConversionError("unsafe", str(exc)) from exc
    except _READ_ERRORS as exc:
        raise ConversionError("corrupt", f"{path!r} in the EPUB cannot be read: {exc}") from exc


def _member_xml(archive: CappedZip, path: str, what: str) -> etree._Element:
    if path not in archive:
        raise ConversionError("corrupt", f"the EPUB has no {what} ({path!r})")
    return parse_xml_safely(read_member(archive, path))


def _rootfile(archive: CappedZip) -> str:
    container = _member_xml(archive, CONTAINER, "META-INF/container.xml")
    for rootfile in container.iter(f"{{{CONTAINER_NS}}}rootfile"):
        media_type = rootfile.get("media-type") or "application/oebps-package+xml"
        full_path = rootfile.get("full-path") or ""
        if media_type == "application/oebps-package+xml" and full_path:
            path = resolve_reference("", unquote(full_path))
            if path is None:
                raise ConversionError("unsafe", f"the EPUB's package path {full_path[:200]!r} leaves the book")
            return path
    raise ConversionError("corrupt", "META-INF/container.xml names no OPF package")


def _manifest(opf: etree._Element, opf_path: str, book: Book) -> dict[str, tuple[str, str]]:
    """``id -> (member path, media type)``; a path that leaves the book refuses it."""
    items: dict[str, tuple[str, str]] = {}
    for item in opf.iterfind(f"{{{OPF_NS}}}manifest/{{{OPF_NS}}}item"):
        href = item.get("href") or ""
        if "://" in href:
            continue  # a remote resource (EPUB 3 allows them); never fetched
        path = resolve_reference(opf_path, unquote(href))
        if path is None:
            raise ConversionError("unsafe", f"the EPUB's manifest item {href[:200]!r} leaves the book")
        media_type = (item.get("media-type") or "").strip().lower()
        items[item.get("id") or ""] = (path, media_type)
        book.media_types[path] = media_type
    return items


def _dublin_core(opf: etree._Element) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    metadata = opf.find(f"{{{OPF_NS}}}metadata")
    if metadata is None:
        return {}
    for el in metadata.iter(f"{{{DC_NS}}}*"):
        name = DC_FIELDS.get(etree.QName(el).localname)
        text = " ".join("".join(el.itertext()).split())
        if name and text and text not in found.setdefault(name, []):
            found[name].append(text)
    return {name: "; ".join(values) for name, values in found.items()}


def _drm_encrypted(archive: CappedZip) -> dict[str, str]:
    """Members encrypted by anything but font obfuscation: ``path -> algorithm``."""
    if ENCRYPTION not in archive:
        return {}
    encrypted = {}
    for data in _member_xml(archive, ENCRYPTION, "encryption.xml").iter(f"{{{ENC_NS}}}EncryptedData"):
        method = data.find(f"{{{ENC_NS}}}EncryptionMethod")
        algorithm = (method.get("Algorithm") if method is not None else None) or "unknown algorithm"
        reference = data.find(f"{{{ENC_NS}}}CipherData/{{{ENC_NS}}}CipherReference")
        uri = reference.get("URI") if reference is not None else None
        path = resolve_reference("", unquote(uri)) if uri else None
        if path is not None and algorithm not in FONT_OBFUSCATION:
            encrypted[path] = algorithm
    return encrypted
