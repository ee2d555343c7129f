"""Documents carved out of one raw file that holds many (a dataset shard's rows, a WARC file's records).

A container kind (:class:`~pin_assets.core.kinds.ContainerKind`) expands its file into
:class:`ExpandedDocument` items, each stored by ingest as a raw document of its own (content-addressed, one
manifest row), and :class:`ExpandedAsset` items, files its documents refer to (a WARC's images). So
conservation ("raw documents = records + quarantined") counts the documents, not the files. A member that
cannot be read is still an ``ExpandedDocument``, with ``kind`` ``"unknown"`` and an ``error``, which ingest
records and parse quarantines with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExpandedDocument:
    """One document of a multi-document raw file.

    ``name`` and ``uri`` say where it came from (``FILE#rowN``); ``data`` is what gets stored and hashed;
    ``kind`` is the converter to use, ``None`` to detect it from ``data``, or ``"unknown"`` with ``error`` as
    ``"reason: message"``; ``mime`` ``None`` means the kind's own; ``attachments`` are files that travel with
    it, as ``(reference used in data, bytes)`` (its images). ``relpath`` is where it sits for reference
    resolution (default: the container's path with the fragment of ``uri``); ``date`` the day it was
    captured (a crawl date; default: the batch's download date); ``origin`` provenance for ``ori_meta``.
    """

    name: str
    uri: str
    data: bytes
    kind: str | None
    mime: str | None = "application/json"
    error: str | None = None
    attachments: tuple[tuple[str, bytes], ...] = ()
    relpath: str | None = None
    date: str | None = None
    origin: dict[str, Any] | None = None
    ext: str | None = None  # the stored raw object's extension; default: the kind's


@dataclass(frozen=True)
class ExpandedAsset:
    """A file the container's documents refer to, stored as a batch asset under ``relpath``."""

    relpath: str
    data: bytes
    uri: str
    ext: str


@dataclass
class ContainerFile:
    """The container file being expanded: its name, URI and path in the source, where to find dataset
    images, and a ``summary`` of counts the expander fills for the run's metadata."""

    name: str
    uri: str
    relpath: str
    images: Any = None  # a LazyImageIndex: images of dataset rows, looked up by name or URL
    summary: dict[str, Any] = field(default_factory=dict)
