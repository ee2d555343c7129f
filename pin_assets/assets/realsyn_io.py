"""Storage helpers shared by the RealSyn assets: corpus listing, Parquet I/O and the embedding cache.

Embeddings are cached per batch and encoder (``ids`` + ``vectors`` in one ``.npz``): the non-partitioned
index and pairs assets re-run whenever a batch arrives, and only the new batch should pay for encoding.
A cache entry is used only when its ids equal the corpus ids exactly, so a re-extracted batch re-encodes.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets import realsyn_layout as rl
from resources.embeddings import Encoder
from resources.storage import StorageResource


def corpus_batches(storage: StorageResource) -> list[str]:
    """Batches whose RealSyn corpus has been materialized, sorted by name."""
    return rl.corpus_batches(list(storage.list_keys(rl.CORPUS_PREFIX)))


def read_table(storage: StorageResource, key: str, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(storage.open_input(key), columns=columns)


def write_table(storage: StorageResource, key: str, table: pa.Table) -> None:
    """Write a whole table as one atomic object."""
    with storage.staged_file(key, ".parquet") as path:
        pq.write_table(table, path, compression="zstd")


def cached_embeddings(
    storage: StorageResource, encoder: Encoder, batch: str, kind: str, ids: list[str],
    compute: Callable[[], np.ndarray],
) -> tuple[np.ndarray, bool]:
    """Vectors for ``ids`` from the cache, or computed and stored; the flag says whether the cache served."""
    key = rl.embeddings(encoder.name, batch, kind)
    if storage.exists(key):
        with np.load(io.BytesIO(storage.get_bytes(key))) as cached:
            if cached["ids"].tolist() == ids:
                return cached["vectors"].astype(np.float32), True
    vectors = np.asarray(compute(), dtype=np.float32).reshape(len(ids), encoder.dim)
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.array(ids, dtype=str), vectors=vectors)
    storage.put_bytes(key, buffer.getvalue())
    return vectors, False
