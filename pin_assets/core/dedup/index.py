"""A batch's bucket index: for each LSH band, the batch's band keys sorted, as Parquet row groups.

This is datatrove's "bucket files per band", one file per batch: every band (and the exact-text hash,
indexed as one more band) is a run of row groups of ``(key, row)`` sorted by key, so the corpus-wide
step can stream all batches' buckets of one band in key order and hold only one row group per batch.
The file is built once per batch and band setting from the batch's signature file and never again: a
new batch adds its own index and leaves the others alone.

The row-group layout of each band is in the file's schema metadata (``pin.dedup.index``), with the band
setting and the signature scheme it was built from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.dedup.lsh import band_keys
from pin_assets.core.dedup.signatures import file_scheme, iter_row_groups, signature_matrix

INDEX_KEY = b"pin.dedup.index"
GROUP_ROWS = 65_536
ENTRY = pa.schema([("key", pa.uint64()), ("row", pa.uint32())])


@dataclass(frozen=True)
class IndexInfo:
    """What an index file holds: ``groups[band] = (first row group, count)``; the last band is exact hashes."""

    bands: int
    rows: int
    documents: int
    entries: list[int]
    groups: list[tuple[int, int]]
    scheme: dict[str, Any]

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_file(cls, parquet: pq.ParquetFile) -> IndexInfo:
        raw = json.loads((parquet.schema_arrow.metadata or {})[INDEX_KEY])
        return cls(**{**raw, "groups": [tuple(g) for g in raw["groups"]]})


def index_name(bands: int, rows: int) -> str:
    """File name of a batch's index for one band setting."""
    return f"b{bands}r{rows}.parquet"


def build_index(signatures: pa.NativeFile | str | Path, out: Path, bands: int, rows: int) -> IndexInfo:
    """Write the bucket index of one batch's signature file to ``out`` and return its layout.

    Memory: the batch's band keys (``(bands + 1) * 12`` bytes per document), not its signatures, which are
    read one row group at a time.
    """
    parquet = pq.ParquetFile(signatures)
    scheme = file_scheme(parquet)
    if scheme is None:
        raise ValueError("not a signature file: no MinHash scheme in its metadata")
    keys: list[list[np.ndarray]] = [[] for _ in range(bands + 1)]
    rows_of: list[list[np.ndarray]] = [[] for _ in range(bands + 1)]
    documents = 0
    for start, table in iter_row_groups(parquet, ["text_hash", "minhash"]):
        matrix, present = signature_matrix(table.column("minhash"), scheme["num_perm"])
        where = np.flatnonzero(present)
        band = band_keys(matrix[where], bands, rows)
        for b in range(bands):
            keys[b].append(band[b])
            rows_of[b].append((where + start).astype(np.uint32))
        exact = table.column("text_hash").combine_chunks()
        valid = np.flatnonzero(~np.asarray(exact.is_null().to_numpy(zero_copy_only=False), dtype=bool))
        keys[bands].append(np.asarray(exact.to_numpy(zero_copy_only=False))[valid].astype(np.int64).view(np.uint64))
        rows_of[bands].append((valid + start).astype(np.uint32))
        documents += table.num_rows
    sorted_bands = []
    for b in range(bands + 1):
        k = np.concatenate(keys[b]) if keys[b] else np.zeros(0, np.uint64)
        r = np.concatenate(rows_of[b]) if rows_of[b] else np.zeros(0, np.uint32)
        order = np.lexsort((r, k))
        sorted_bands.append((k[order], r[order]))
    groups, first = [], 0
    for k, _ in sorted_bands:
        count = -(-len(k) // GROUP_ROWS)
        groups.append((first, count))
        first += count
    info = IndexInfo(bands, rows, documents, [len(k) for k, _ in sorted_bands], groups, scheme)
    schema = ENTRY.with_metadata({INDEX_KEY: info.to_json()})
    with pq.ParquetWriter(out, schema, compression="none") as writer:  # random 64-bit keys do not compress
        for k, r in sorted_bands:
            for lo in range(0, len(k), GROUP_ROWS):
                writer.write_table(pa.table({"key": k[lo:lo + GROUP_ROWS], "row": r[lo:lo + GROUP_ROWS]},
                                            schema=schema))
    return info
