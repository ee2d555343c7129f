"""Documents carved out of one raw file that holds many (a dataset shard's rows, a WARC file's records).

Ingest stores each :class:`ExpandedDocument` as a raw document of its own (content-addressed, one manifest
row), so conservation ("raw documents = records + quarantined") counts the documents, not the files. A
member that cannot be read is still an ``ExpandedDocument``, with ``kind`` ``"unknown"`` and an ``error``,
which ingest records and parse quarantines with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpandedDocument:
    """One document of a multi-document raw file.

    ``name`` and ``uri`` say where it came from (``FILE#rowN``); ``data`` is what gets stored and hashed;
    ``kind`` is the converter to use, or ``"unknown"`` with ``error`` as ``"reason: message"``;
    ``attachments`` are files that travel with it, as ``(reference used in data, bytes)`` (its images).
    """

    name: str
    uri: str
    data: bytes
    kind: str
    mime: str = "application/json"
    error: str | None = None
    attachments: tuple[tuple[str, bytes], ...] = ()
