"""Existing interleaved datasets as sources: OBELICS rows (Parquet or JSON Lines) and MMC4 documents (JSON Lines).

One dataset file holds many documents, so ingest *expands* it: :func:`expand_dataset_file` yields one
:class:`~pin_assets.core.sources.expanded.ExpandedDocument` per row, each a small canonical JSON document
(``kind`` ``obelics`` or ``mmc4``) that is stored, hashed and converted like any other raw document.
A row that cannot be read becomes an ``ExpandedDocument`` with an ``error``, which ingest records and
parse quarantines, so "raw documents = records + quarantined" still holds when one file turns into
thousands of documents.

Images are never fetched: they come from an :class:`~pin_assets.core.datasets.images.ImageIndex` over a
local folder or tar files, as img2dataset writes them (``KEY.jpg`` beside ``KEY.json`` holding the ``url``),
looked up by file name (MMC4's ``image_name``) or by URL. An image that is not there is listed in
``missing_images``.

Source schemas:

* OBELICS: ``texts`` and ``images`` are lists of one length with exactly one of the two non-null at each
  index; ``metadata`` a JSON string list (one dict per image: alt text, source URL...);
  ``general_metadata`` a JSON string (document URL, Common Crawl location).
* MMC4: ``url``, ``text_list`` (sentences), ``image_info`` (``{image_name, raw_url, matched_text_index,
  matched_sim}``): each image goes right after the sentence it is matched to.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.archives import read_capped
from pin_assets.core.datasets.images import ImageIndex
from pin_assets.core.datasets.rows import canonical_document, row_kind
from pin_assets.core.jsonl import iter_lines
from pin_assets.core.sources.expanded import ExpandedDocument

if TYPE_CHECKING:
    from pin_assets.core.sources.expanded import ContainerFile
    from pin_assets.core.sources.triage import FileBytes

MIME_TYPE = "application/json"
PARQUET_MAGIC = b"PAR1"
MAX_SHARD_BYTES = 8 * 2**30


def unwrap_shard(data: bytes) -> bytes:
    """The JSON Lines inside a ``.jsonl.gz`` or a one-member ``.jsonl.zip`` (how MMC4 ships), else ``data``.

    Decompressed size is capped at :data:`MAX_SHARD_BYTES`, so a compression bomb is refused, not inflated.
    """
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                return read_capped(handle, MAX_SHARD_BYTES, "the shard")
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) == 1 and members[0].filename.lower().endswith((".jsonl", ".json")):
                    with archive.open(members[0]) as handle:
                        return read_capped(handle, MAX_SHARD_BYTES, "the shard")
    except (OSError, EOFError, zipfile.BadZipFile, ValueError):
        return data
    return data


def sniff_dataset(data: bytes) -> str | None:
    """``"obelics"`` or ``"mmc4"`` for a Parquet or JSON Lines file of such rows, else ``None``.

    Decided from the content (the Parquet schema, the first JSON line's keys), never the file name.
    Compressed JSON Lines are unwrapped first by the caller (:func:`unwrap_shard`).
    """
    if data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC:
        try:
            names = set(pq.ParquetFile(io.BytesIO(data)).schema_arrow.names)
        except (pa.ArrowException, OSError):
            return None
        return row_kind(dict.fromkeys(names))
    if data[:256].lstrip()[:1] != b"{":
        return None
    first = next(iter_lines([data[: 4 << 20]]), b"")
    try:
        row = json.loads(first)
    except ValueError:
        return None
    return row_kind(row) if isinstance(row, dict) else None


def _iter_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(row number, row, error)`` for each row of a Parquet or JSON Lines file."""
    if data[:4] == PARQUET_MAGIC:
        try:
            parquet = pq.ParquetFile(io.BytesIO(data))
            number = 0
            for group in range(parquet.num_row_groups):
                for row in parquet.read_row_group(group).to_pylist():
                    yield number, row, None
                    number += 1
        except (pa.ArrowException, OSError) as exc:
            yield -1, None, f"corrupt: unreadable Parquet: {exc}"
        return
    for number, line in enumerate(iter_lines([data])):
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, None, f"corrupt: line {number + 1} is not JSON: {exc}"
            continue
        if not isinstance(row, dict):
            yield number, None, f"corrupt: line {number + 1} is not a JSON object"
            continue
        yield number, row, None


def expand_dataset_file(
    data: bytes, name: str, uri: str, kind: str, images: ImageIndex | None
) -> Iterator[ExpandedDocument]:
    """Every row of an OBELICS/MMC4 file as a canonical document with its images resolved (or missing).

    The stored document keeps the row's order of texts and images, a content-hash reference for each
    image found (its bytes travel as ``attachments``, stored beside the document) and the row's own
    fields as ``ori_meta``.
    """
    for number, row, error in _iter_rows(data):
        label = f"row{number}" if number >= 0 else "file"
        row_name, row_uri = f"{name}#{label}", f"{uri}#{label}"
        if error is None and row is not None:
            found: dict[str, bytes] = {}
            try:
                document = canonical_document(row, kind, images, found)
            except ValueError as exc:
                error = f"corrupt: {label}: {exc}"
            else:
                payload = json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode()
                yield ExpandedDocument(row_name, row_uri, payload, kind, MIME_TYPE, attachments=tuple(found.items()),
                                      ext="json")
                continue
        raw = json.dumps({"source": row_uri, "row": row}, default=str, sort_keys=True).encode()
        yield ExpandedDocument(row_name, row_uri, raw, "unknown", MIME_TYPE, error, ext="json")


def sniff_shard(file: FileBytes) -> str | None:
    """The ``dataset`` container kind's sniffer: ``obelics`` or ``mmc4`` for a shard of such rows.

    Only a file whose first bytes could start one (Parquet, gzip, zip, a JSON object) is read whole.
    """
    head = file.head
    if not (head[:4] in (PARQUET_MAGIC, b"PK\x03\x04") or head[:2] == b"\x1f\x8b" or head[:256].lstrip()[:1] == b"{"):
        return None
    return sniff_dataset(unwrap_shard(file.all()))


def expand_shard(data: bytes, file: ContainerFile, tag: str) -> Iterator[ExpandedDocument]:
    """Every row of a shard as a document of kind ``tag`` (see :func:`expand_dataset_file`)."""
    for rows, member in enumerate(expand_dataset_file(unwrap_shard(data), file.name, file.uri, tag,
                                                      file.images.get()), start=1):
        file.summary["rows"] = rows
        yield member

