"""Arrow schemas of the Parquet files each stage writes, and a streaming writer for them.

Stages write in row groups as documents finish, so a batch never sits in memory whole; downstream
stages stream the files back one row group at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.text import clean_value

MANIFEST = pa.schema(
    [
        ("doc_id", pa.string()),
        ("sha256", pa.string()),
        ("source_uri", pa.string()),
        ("alt_source_uris", pa.list_(pa.string())),
        ("source_dataset", pa.string()),
        ("filename", pa.string()),
        ("kind", pa.string()),
        ("mime", pa.string()),
        ("detect_error", pa.string()),
        ("bytes", pa.int64()),
        ("license", pa.string()),
        ("date_download", pa.string()),
        ("raw_key", pa.string()),
        ("relpath", pa.string()),
        ("paired_pdf_key", pa.string()),
        # provenance merged into meta.ori_meta, as JSON: a WARC record's page URL and crawl date
        ("origin_json", pa.string()),
    ]
)

# Files that travel with documents (figures, page images, a JATS article's PDF) rather than being ones.
ASSETS = pa.schema(
    [
        ("relpath", pa.string()),
        ("sha256", pa.string()),
        ("raw_key", pa.string()),
        ("bytes", pa.int64()),
        ("source_uri", pa.string()),
        ("role", pa.string()),  # "image" | "paired_pdf"
    ]
)

IMAGE_INFO = pa.struct(
    [("name", pa.string()), ("width", pa.int32()), ("height", pa.int32()), ("bytes", pa.int64()),
     ("caption", pa.string())]
)

MARKDOWN = pa.schema(
    [
        ("doc_id", pa.string()),
        ("kind", pa.string()),
        ("markdown", pa.large_string()),
        ("images", pa.list_(IMAGE_INFO)),
        ("page_offsets", pa.list_(pa.int64())),
        ("page_count", pa.int32()),
        ("scanned_pages", pa.list_(pa.int32())),
        ("title", pa.string()),
        ("language", pa.string()),
        ("metadata_json", pa.string()),
        ("warnings", pa.list_(pa.string())),
    ]
)

RENDERS = pa.schema(
    [
        ("doc_id", pa.string()),
        ("page", pa.int32()),
        ("key", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("bytes", pa.int64()),
        ("note", pa.string()),  # why the page was rendered otherwise than asked (smaller, for its format); null if not
    ]
)

QUARANTINE = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source_uri", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("error_class", pa.string()),
        ("message", pa.string()),
        ("location", pa.string()),  # last frame of the project's code where it failed; empty when none
    ]
)


class RowGroupWriter:
    """Buffer rows and flush them to a Parquet file as row groups of ``rows_per_group``.

    Every row's strings go through the one sanitizer (:func:`~pin_assets.core.text.clean_value`): Arrow
    refuses to encode a lone surrogate, and one such string would fail the whole file.
    """

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int = 256):
        self.path = path
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.rows: list[Mapping[str, Any]] = []
        self.count = 0
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def add(self, row: Mapping[str, Any]) -> None:
        self.rows.append(clean_value(row))
        self.count += 1
        if len(self.rows) >= self.rows_per_group:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self._writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def __enter__(self) -> RowGroupWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(path: Path, rows: list[Mapping[str, Any]], schema: pa.Schema) -> int:
    """Write a small table in one go (quarantine files, asset lists), sanitized like :class:`RowGroupWriter`."""
    table = pa.Table.from_pylist([clean_value(row) for row in rows], schema=schema)
    pq.write_table(table, path)
    return table.num_rows


def count_rows(source: pa.NativeFile | str | Path) -> int:
    """Rows of a Parquet file, from its footer alone."""
    return pq.ParquetFile(source).metadata.num_rows


def iter_rows(source: pa.NativeFile | str | Path, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Stream a Parquet file's rows one row group at a time."""
    parquet = pq.ParquetFile(source)
    for index in range(parquet.num_row_groups):
        yield from parquet.read_row_group(index, columns=columns).to_pylist()
