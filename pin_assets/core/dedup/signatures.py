"""A batch's MinHash signature file: one row per document, written by the signals stage.

Like RedPajama-v2's ``minhash/`` files beside its quality signals, signatures live in their own Parquet
file per batch (``minhash/<batch>/part-00000.parquet``), not in the signal rows: the signal files feed
DuckDB statistics and the records' ``quality_signals``, and 128 integers per document belong in neither.
The file's schema metadata holds the :class:`~pin_assets.core.dedup.text.MinHashScheme`, so signatures
made with other settings (or another rensa algorithm version) are recognised and never compared.

Rows are written in row groups of :data:`ROWS_PER_GROUP` documents, so the clustering step reads only the
row groups that hold the documents it needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.dedup.text import SCHEME, MinHashScheme, snippet, text_signature
from pin_assets.core.signals import read_blocks
from pin_assets.core.text import clean_text

ROWS_PER_GROUP = 4096
SCHEME_KEY = b"pin.minhash.scheme"


def signature_schema(scheme: MinHashScheme = SCHEME) -> pa.Schema:
    return pa.schema(
        [
            ("doc_id", pa.string()),
            ("source_dataset", pa.string()),
            ("words", pa.int32()),  # normalized words (the "longest" keep rule)
            ("image_count", pa.int32()),
            ("text_hash", pa.int64()),  # BLAKE2b-64 of the normalized text; null without words
            ("snippet", pa.string()),
            ("minhash", pa.list_(pa.uint32(), scheme.num_perm)),  # null without words
        ],
        metadata={SCHEME_KEY: json.dumps(scheme.to_dict(), sort_keys=True).encode()},
    )


class SignatureWriter:
    """Compute and write signatures document by document, one row group per :data:`ROWS_PER_GROUP` rows."""

    def __init__(self, path: Path, scheme: MinHashScheme = SCHEME, rows_per_group: int = ROWS_PER_GROUP):
        self.scheme = scheme
        self.schema = signature_schema(scheme)
        self.rows_per_group = rows_per_group
        self.count = 0
        self.signed = 0
        self._rows: dict[str, list[Any]] = {name: [] for name in self.schema.names if name != "minhash"}
        self._sigs: list[np.ndarray | None] = []
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def add(self, doc_id: str, source_dataset: str, text: str, image_count: int = 0) -> None:
        """Add one document by its visible text (Markdown markup already removed)."""
        sig = text_signature(text, self.scheme)
        self._rows["doc_id"].append(clean_text(doc_id))
        self._rows["source_dataset"].append(clean_text(source_dataset))
        self._rows["words"].append(sig.words)
        self._rows["image_count"].append(image_count)
        self._rows["text_hash"].append(sig.text_hash)
        self._rows["snippet"].append(clean_text(snippet(text)))
        self._sigs.append(sig.minhash)
        self.count += 1
        self.signed += sig.minhash is not None
        if len(self._sigs) >= self.rows_per_group:
            self.flush()

    def add_markdown(self, doc_id: str, source_dataset: str, markdown: str, image_count: int = 0) -> None:
        """Add one document by its Markdown: compared on the text a reader sees, as the text signals are.

        Markup, image links and link targets differ between converters (a PDF and a web page of one
        article), so they are left out; table cells and code stay as text.
        """
        self.add(doc_id, source_dataset, visible_text(markdown), image_count)

    def flush(self) -> None:
        if not self._sigs:
            return
        n, perm = len(self._sigs), self.scheme.num_perm
        present = np.array([s is not None for s in self._sigs])
        flat = np.zeros((n, perm), dtype=np.uint32)
        for i, sig in enumerate(self._sigs):
            if sig is not None:
                flat[i] = sig
        minhash = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), perm, mask=pa.array(~present))
        columns = [pa.array(self._rows[name], type=self.schema.field(name).type) for name in self._rows]
        self._writer.write_table(pa.Table.from_arrays([*columns, minhash], schema=self.schema))
        self._rows = {name: [] for name in self._rows}
        self._sigs = []

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def __enter__(self) -> SignatureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def visible_text(markdown: str) -> str:
    """The text blocks of the Markdown as the quality signals read them (core.signals.read_blocks)."""
    return "\n".join(read_blocks(markdown).texts)


def file_scheme(parquet: pq.ParquetFile) -> dict[str, Any] | None:
    """The scheme a signature file was written with, or None for a file without one."""
    metadata = parquet.schema_arrow.metadata or {}
    return json.loads(metadata[SCHEME_KEY]) if SCHEME_KEY in metadata else None


def signature_matrix(column: pa.ChunkedArray | pa.Array, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """``(uint32[n, num_perm] with zeros where null, bool[n] present)`` from a ``minhash`` column."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    present = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    child = array.values.fill_null(0) if array.values.null_count else array.values
    values = child.to_numpy(zero_copy_only=False) if len(array) else np.zeros(0, dtype=np.uint32)
    # Null rows still occupy their num_perm slots in a fixed-size list's child array.
    matrix = np.asarray(values[array.offset * num_perm:(array.offset + len(array)) * num_perm], dtype=np.uint32)
    return matrix.reshape(len(array), num_perm), present


def iter_row_groups(parquet: pq.ParquetFile, columns: list[str]) -> Iterator[tuple[int, pa.Table]]:
    """``(first row, table)`` for each row group, reading only ``columns``."""
    start = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=columns)
        yield start, table
        start += table.num_rows
