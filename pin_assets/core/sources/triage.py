"""What one file found in a source is: a container of many documents, an image asset, an image archive, or a
document of some kind. Ingest and the door check (``pin batch add``) both ask :func:`triage`, so they
cannot disagree about a file.

The order is fixed: containers first (a WARC, a dataset shard, in their registered priority), then image
files (assets of the documents that refer to them), then image archives (img2dataset's tars, read through
the batch's image index), and last every other file as a document, whose kind the registry's sniffers
decide (:func:`~pin_assets.core.sources.detect.detect_kind`). A file no kind recognises is still a
document, of kind ``unknown`` with the reason, so ingest records it and parse quarantines it.

:class:`FileBytes` reads lazily: the door check looks at the first bytes of a local file and reads the
whole file only when a sniffer needs it (a Parquet footer, a tar listing), while ingest, which holds the
bytes anyway, passes them in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pin_assets.core import kinds
from pin_assets.core.document import ConversionError
from pin_assets.core.sources.assets import is_image_file
from pin_assets.core.sources.detect import detect_kind

HEAD_BYTES = 64 * 1024  # enough for every content sniff of a file's start
Role = Literal["container", "image", "image_archive", "document"]


@dataclass
class FileBytes:
    """A file's name, its first :data:`HEAD_BYTES` and, on demand, all of its bytes (read once)."""

    name: str
    head: bytes
    _read: Callable[[], bytes] = field(repr=False)
    _all: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, name: str, data: bytes) -> FileBytes:
        return cls(name, data[:HEAD_BYTES], lambda: data, data)

    @classmethod
    def at(cls, path: Path, name: str | None = None) -> FileBytes:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES + 1)
        whole = head if len(head) <= HEAD_BYTES else None
        return cls(name or path.name, head[:HEAD_BYTES], path.read_bytes, whole)

    @property
    def complete(self) -> bool:
        """Whether all the bytes are in memory (small files, files ingest read, files a sniffer read)."""
        return self._all is not None

    def all(self) -> bytes:
        if self._all is None:
            self._all = self._read()
        return self._all


@dataclass(frozen=True)
class Triage:
    """The verdict on one file: its role, and for containers and documents the kind (``tag``: what the
    container's sniffer said it holds; ``error``: why a document of kind ``unknown`` cannot be converted,
    as ``"reason: message"``)."""

    role: Role
    kind: str | None = None
    tag: str | None = None
    error: str | None = None


def triage(file: FileBytes) -> Triage:
    """Decide what ``file`` is (see the module's docstring for the order)."""
    for container in kinds.containers():
        tag = container.sniff(file)
        if tag:
            return Triage("container", container.name, tag)
    if is_image_file(file.name, file.head[:16]):
        return Triage("image")
    if _is_image_archive(file):
        return Triage("image_archive")
    try:
        return Triage("document", detect_kind(file.all() if file.complete else file.head, file.name))
    except ConversionError as exc:
        return Triage("document", "unknown", error=f"{exc.reason}: {exc}")


def _is_image_archive(file: FileBytes) -> bool:
    from pin_assets.core.datasets.images import is_image_archive

    return file.name.lower().endswith(".tar") and is_image_archive(file.name, file.all())
