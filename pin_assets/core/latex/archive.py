"""Reading an arXiv e-print's files out of whatever it was stored as, without trusting it.

arXiv stores a submission's source in one of three shapes: a gzipped tar of the source folder, a gzipped
single ``.tex`` file (the original name is often not even in the gzip header), or, rarely, a bare tar; users
bring plain ``.tex`` files, Overleaf's zip downloads and unpacked folders (which ingest packs into a tar). All
of them become one mapping from a relative path to bytes, with the guards every archive from the wild needs:

* **bombs**: decompression reads at most :data:`MAX_UNPACKED_BYTES` in all and :data:`MAX_MEMBER_BYTES` per
  file, and refuses an archive of more than :data:`MAX_MEMBERS` files; a few kilobytes that declare or inflate
  to gigabytes cost at most the cap, never the machine (``ConversionError("unsafe")``);
* **path traversal**: member names are normalized as GNU tar does (a leading ``/`` is dropped, a name that
  climbs out with ``..`` is skipped with a warning), links and device files are skipped, never followed; the
  files are later written under one folder and LaTeX itself is fenced into it (see :mod:`.engines`).

Gzip and zip go through the shared capped readers of :mod:`pin_assets.core.archives` (a zip slip refuses the
zip, as for EPUB); tar members are read here, within the same caps.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pin_assets.core.archives import ArchiveRefused, CappedZip, read_capped
from pin_assets.core.document import ConversionError

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 128 * 2**20
MAX_UNPACKED_BYTES = 512 * 2**20
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
TEX_SUFFIXES = frozenset({".tex", ".ltx", ".latex"})
# Files a LaTeX source folder holds besides figures: what tells a tar of a paper from any other tar.
SOURCE_SUFFIXES = TEX_SUFFIXES | {".sty", ".cls", ".bbl", ".bib", ".bst", ".clo", ".def"}
_TAR_BLOCK = 512
# A TeX file begins (after comments and blank lines) with a control sequence; a Markdown or text file that
# merely quotes LaTeX does not. \documentclass or \documentstyle is what makes it a document of its own.
_CLASS_LINE = re.compile(rb"^[ \t]*\\document(?:class|style)\b", re.M)
_LEADING_NOISE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[ \t]*(?:%[^\n]*)?\r?\n)*[ \t]*")


@dataclass
class EprintFiles:
    """The files of one e-print: relative POSIX path -> bytes, how they were stored, and what was left out."""

    files: dict[str, bytes]
    layout: str  # "tar.gz", "tar", "gz", "zip", "tex" or "folder"
    mtime: int = 0  # newest modification time the archive records (0: none); LaTeX's \today is taken from it
    skipped: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.files.values())


def read_eprint(data: bytes, name: str | None = None) -> EprintFiles:
    """The files of an e-print stored as ``data`` (gzip, tar, zip or a plain TeX file).

    Raises ``ConversionError``: ``unsafe`` for a bomb or an archive over the caps, ``corrupt`` for a
    truncated or unreadable archive, ``empty`` for one without files.
    """
    stem = _stem(name)
    if data[:2] == GZIP_MAGIC:
        inner = _gunzip(data)
        if is_tar(inner):
            found = _read_tar(inner, "tar.gz")
        else:
            found = EprintFiles({_gzip_member_name(data, stem): inner}, "gz", _gzip_mtime(data))
    elif is_tar(data):
        found = _read_tar(data, "tar")
    elif data[:4] == ZIP_MAGIC:
        found = _read_zip(data)
    else:
        found = EprintFiles({f"{stem}.tex" if not (name or "").lower().endswith(tuple(TEX_SUFFIXES))
                             else PurePosixPath(name or "main.tex").name: data}, "tex")
    if not found.files:
        raise ConversionError("empty", f"the e-print ({found.layout}) holds no files")
    return found


def _stem(name: str | None) -> str:
    """The e-print's name without its storage suffixes: ``2405.16513`` for ``2405.16513.tar.gz``."""
    base = PurePosixPath(name or "").name
    for suffix in (".tar.gz", ".tgz", ".tar", ".gz", ".zip", ".tex", ".ltx", ".latex"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base or "main"


def eprint_stem(name: str) -> str:
    """Public alias of the stem rule, for pairing an e-print with its PDF (``<stem>.pdf`` beside it)."""
    return _stem(name)


# ---------------------------------------------------------------- gzip


def _gunzip(data: bytes) -> bytes:
    """The inflated bytes of a gzip file (every member, as gunzip reads them), at most the cap."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            return read_capped(handle, MAX_UNPACKED_BYTES, "the gzip file")
    except ArchiveRefused as exc:
        raise _bomb(str(exc)) from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise ConversionError("corrupt", f"the gzip file is damaged or truncated: {exc}") from exc


def _bomb(message: str) -> ConversionError:
    return ConversionError("unsafe", f"{message} (a compression bomb, or an e-print over the size caps)")


def _gzip_member_name(data: bytes, stem: str) -> str:
    """The file name the gzip header records (FNAME), when it is a plain TeX name; else ``<stem>.tex``."""
    flags = data[3] if len(data) > 3 else 0
    if flags & 0x08:  # FNAME
        start = 10 + (2 + int.from_bytes(data[10:12], "little") if flags & 0x04 else 0)
        end = data.find(b"\x00", start, start + 256)
        if end > start:
            recorded = PurePosixPath(data[start:end].decode("latin-1").replace("\\", "/")).name
            if PurePosixPath(recorded).suffix.lower() in TEX_SUFFIXES:
                return recorded
    return f"{stem}.tex"


def _gzip_mtime(data: bytes) -> int:
    return int.from_bytes(data[4:8], "little") if len(data) >= 8 else 0


# ---------------------------------------------------------------- tar


def is_tar(data: bytes) -> bool:
    """A POSIX/GNU tar (``ustar`` magic), or an old V7 tar whose first header's checksum adds up."""
    if len(data) < _TAR_BLOCK:
        return False
    if data[257:262] == b"ustar":
        return True
    header = data[:_TAR_BLOCK]
    try:
        recorded = int(header[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return recorded == sum(header[:148]) + 8 * 32 + sum(header[156:]) and header[0] != 0


def _read_tar(data: bytes, layout: str) -> EprintFiles:
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    total = members = mtime = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                members += 1
                if members > MAX_MEMBERS:
                    raise _bomb(f"the tar holds more than {MAX_MEMBERS:,} files")
                if member.isdir():
                    continue
                path = safe_relative_path(member.name)
                if path is None:
                    skipped.append(f"{member.name[:200]!r}: the name leaves the e-print's folder")
                    continue
                if not member.isfile():
                    skipped.append(f"{path!r}: a link or special file, not followed")
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise _bomb(f"{path!r} declares {member.size:,} bytes, more than {MAX_MEMBER_BYTES:,}")
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise _bomb(f"the tar's files add up to more than {MAX_UNPACKED_BYTES:,} bytes")
                handle = tar.extractfile(member)
                content = handle.read(member.size) if handle is not None else b""
                if len(content) < member.size:
                    raise ConversionError("corrupt", f"the tar is truncated inside {path!r}")
                if path in files:
                    skipped.append(f"{path!r}: stored twice, the later copy kept")
                files[path] = content
                mtime = max(mtime, int(member.mtime or 0))
    except tarfile.TarError as exc:
        raise ConversionError("corrupt", f"the tar is damaged: {exc}") from exc
    return EprintFiles(files, layout, mtime, skipped)


def safe_relative_path(name: str) -> str | None:
    """A member name as a relative POSIX path inside the e-print, or ``None`` when it would leave it.

    As GNU tar extracts: backslashes are separators, leading ``/`` (and a drive letter) are dropped, ``.``
    parts vanish, and any ``..`` that climbs above the top refuses the member.
    """
    text = name.replace("\\", "/")
    text = re.sub(r"^[A-Za-z]:", "", text).lstrip("/")
    if not text or "\x00" in text:
        return None
    normal = posixpath.normpath(text)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


# ---------------------------------------------------------------- zip


def _read_zip(data: bytes) -> EprintFiles:
    """A zip (Overleaf's "download source") through the shared capped reader, which refuses zip slips."""
    try:
        with CappedZip(data, member_cap=MAX_MEMBER_BYTES, total_cap=MAX_UNPACKED_BYTES, what="the zip") as archive:
            files = {name: archive.read(name) for name in archive.names()}
    except ArchiveRefused as exc:
        raise ConversionError("unsafe", str(exc)) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise ConversionError("corrupt", f"the zip is damaged: {exc}") from exc
    return EprintFiles(files, "zip")


# ---------------------------------------------------------------- folders and recognition


def read_folder(folder: Path) -> EprintFiles:
    """An unpacked e-print folder as the same mapping (hidden files and links left out)."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    total = 0
    root = folder.resolve()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(relative).parts) or path.is_dir():
            continue
        if path.is_symlink() or not path.is_file():
            skipped.append(f"{relative!r}: a link or special file, not followed")
            continue
        if len(files) >= MAX_MEMBERS:
            raise _bomb(f"the folder holds more than {MAX_MEMBERS:,} files")
        total += path.stat().st_size
        if total > MAX_UNPACKED_BYTES:
            raise _bomb(f"the folder's files add up to more than {MAX_UNPACKED_BYTES:,} bytes")
        files[relative] = path.read_bytes()
    return EprintFiles(files, "folder", 0, skipped)


def pack_folder(folder: Path) -> bytes:
    """An unpacked e-print folder as a gzipped tar (see :func:`pack_files`)."""
    return pack_files(read_folder(folder).files)


def pack_files(files: dict[str, bytes]) -> bytes:
    """Files as a gzipped tar, byte for byte the same for the same files (sorted members, no owners, zero
    times), so the same source packed twice is one document."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w:",
                                                                                format=tarfile.GNU_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def looks_like_tex(text: bytes) -> bool:
    """A LaTeX document of its own: ``\\documentclass``/``\\documentstyle`` at the start of a line, and the
    file itself starting (after comments and blank lines) with a control sequence."""
    start = _LEADING_NOISE.match(text)
    first = text[start.end() : start.end() + 1] if start else text[:1]
    return first == b"\\" and bool(_CLASS_LINE.search(text))


def sniff_eprint(data: bytes, name: str | None = None) -> bool:
    """Whether ``data`` is a LaTeX source: a (gzipped) tar or a zip holding TeX files, a gzipped TeX file, or
    a plain one. Only the bytes present are read (a door check sees a file's first bytes): a tar is judged
    by the member names in them, and when they end before the tar shows a TeX file, by its name."""
    tar_name = (name or "").lower().endswith((".tar.gz", ".tgz", ".tar"))
    if data[:2] == GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=31).decompress(data[: 256 * 1024], 4 * 2**20)
        except zlib.error:
            return tar_name  # a damaged .tar.gz is still an e-print, which converting reports as corrupt
        if len(head) < _TAR_BLOCK and tar_name:  # cut off before its first tar header
            return True
        if is_tar(head):
            found = _tar_names_show_source(head)
            return found if found is not None else tar_name
        return looks_like_tex(head[:65536])
    if is_tar(data):
        found = _tar_names_show_source(data)
        return found if found is not None else tar_name
    if data[:4] == ZIP_MAGIC:
        return _zip_names_show_source(data)
    return looks_like_tex(data[:65536])


def sniff_eprint_probe(probe: Any) -> bool:
    """The ``arxiv`` kind's sniffer (a :class:`~pin_assets.core.kinds.Probe`)."""
    return sniff_eprint(probe.data, probe.name)


def tar_headers(data: bytes) -> tuple[list[tuple[str, bytes]], str]:
    """The (path, type flag) of every tar member header present in ``data``, which may be only the start of
    the archive, without reading a member; and why the walk ended: ``"end"`` (the archive's end marker),
    ``"cut"`` (the data ended first) or ``"bad"`` (a header whose size is not a number)."""
    headers: list[tuple[str, bytes]] = []
    offset = 0
    while offset + _TAR_BLOCK <= len(data):
        header = data[offset : offset + _TAR_BLOCK]
        if not header.strip(b"\x00"):
            return headers, "end"
        name = header[:100].split(b"\x00", 1)[0].decode("utf-8", "replace")
        prefix = header[345:500].split(b"\x00", 1)[0].decode("utf-8", "replace") if header[257:262] == b"ustar" else ""
        headers.append((f"{prefix}/{name}" if prefix else name, header[156:157]))
        try:
            size = int(header[124:136].replace(b"\x00", b" ").strip() or b"0", 8)
        except ValueError:
            return headers, "bad"
        offset += _TAR_BLOCK + (size + _TAR_BLOCK - 1) // _TAR_BLOCK * _TAR_BLOCK
    return headers, "cut"


def _tar_names_show_source(data: bytes) -> bool | None:
    """``True`` when a tar header present in ``data`` names a TeX source, ``False`` when the archive ends
    (or breaks) without one, ``None`` when the data ends first."""
    headers, ending = tar_headers(data)
    if any(PurePosixPath(name).suffix.lower() in SOURCE_SUFFIXES for name, _ in headers):
        return True
    return None if ending == "cut" else False


def _zip_names_show_source(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    if "mimetype" in names[:1]:  # EPUB, ODF: a zip that says what it is
        return False
    return any(PurePosixPath(n).suffix.lower() in TEX_SUFFIXES for n in names)
