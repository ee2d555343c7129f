"""Reading compressed files and archive members from untrusted input with a cap on what they inflate to.

A few kilobytes of gzip or zip can declare (or, worse, silently produce) gigabytes: every decompression of
input from the wild goes through :func:`read_capped`, which reads at most ``cap + 1`` bytes and refuses
more, so a bomb costs ``cap`` bytes at most. Zip archives are opened through :class:`CappedZip`, which also
checks the member count, each member's declared size and compression ratio, a total for the whole archive,
and member names: an absolute name or one with ``..`` that leaves the archive (zip slip) is refused, never
looked up.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import IO

MAX_MEMBERS = 10_000
MAX_RATIO = 200  # uncompressed / compressed bytes; text compresses about 3-10x, bombs 1,000x and more
RATIO_FLOOR = 2**20  # members smaller than this are never judged by their ratio


class ArchiveRefused(ValueError):
    """The archive (or a member) is over a cap, looks like a bomb, or names a path outside itself."""


def read_capped(handle: IO[bytes], cap: int, what: str) -> bytes:
    """All of ``handle``, or :class:`ArchiveRefused` when it holds more than ``cap`` bytes."""
    data = handle.read(cap + 1)
    if len(data) > cap:
        raise ArchiveRefused(f"{what} inflates to more than {cap:,} bytes")
    return data


def safe_member_name(name: str) -> str | None:
    """A member name as a normalized relative path, or None when it is absolute or leaves the archive."""
    text = name.replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    path = posixpath.normpath(text)
    if path == "." or path == ".." or path.startswith("../"):
        return None
    return path


class CappedZip:
    """A zip archive read member by member within caps on count, sizes, ratios and the total read.

    ``ArchiveRefused`` is raised on opening when the archive as a whole is unsafe (too many members, a name
    leaving the archive, a declared total over ``total_cap``) and on reading a member that is over
    ``member_cap``, inflates beyond its declared size, or would take the total read past ``total_cap``.
    ``zipfile.BadZipFile`` (a ``ValueError``-like failure of the container itself) passes through.
    """

    def __init__(self, data: bytes, *, member_cap: int, total_cap: int, what: str = "the archive"):
        self.what = what
        self.member_cap = member_cap
        self.total_cap = total_cap
        self._read_total = 0
        self._zip = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in self._zip.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise ArchiveRefused(f"{what} holds {len(infos):,} files, more than {MAX_MEMBERS:,}")
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = safe_member_name(info.filename)
            if name is None:
                raise ArchiveRefused(f"{what} holds a file named {info.filename[:200]!r}, outside the archive")
            self._members.setdefault(name, info)
        declared = sum(info.file_size for info in infos)
        if declared > total_cap:
            raise ArchiveRefused(f"{what} declares {declared:,} bytes uncompressed, more than {total_cap:,}")

    def names(self) -> list[str]:
        return list(self._members)

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        """The member's bytes; ``KeyError`` when there is no such member."""
        info = self._members[name]
        where = f"{name!r} in {self.what}"
        if info.file_size > self.member_cap:
            raise ArchiveRefused(f"{where} declares {info.file_size:,} bytes, more than {self.member_cap:,}")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise ArchiveRefused(f"{where} inflates {info.file_size // max(1, info.compress_size):,} times "
                                 "(a compression bomb)")
        if self._read_total + info.file_size > self.total_cap:
            raise ArchiveRefused(f"{where} would take what is read of {self.what} past {self.total_cap:,} bytes")
        cap = min(self.member_cap, info.file_size)
        with self._zip.open(info) as handle:
            data = read_capped(handle, cap, where)
        self._read_total += len(data)
        return data

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> CappedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
