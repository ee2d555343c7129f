"""Storage helpers shared by the RealSyn assets: corpus listing, Parquet I/O and the embedding cache.

Embeddings are cached per batch and encoder (``ids`` + ``vectors`` in one ``.npz``): the non-partitioned
index and pairs assets re-run whenever a batch arrives, and only the new batch should pay for encoding.
A cache entry is used only when its ids equal the corpus ids exactly, so a re-extracted batch re-encodes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets import layout
from pin_assets import realsyn_layout as rl
from resources.embeddings import Encoder, ImageInput
from resources.storage import StorageResource

IMAGE_CHUNK = 256
PREVIEW_ROWS = 5


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


def read_json(storage: StorageResource, key: str) -> dict[str, Any]:
    return json.loads(storage.get_bytes(key))


def write_json(storage: StorageResource, key: str, value: dict[str, Any]) -> None:
    storage.put_bytes(key, json.dumps(value, indent=1, sort_keys=True).encode())


def md_table(rows: list[dict[str, Any]], columns: list[str], width: int = 80) -> str:
    """A small Markdown preview table; cells shortened and pipes escaped."""
    def cell(value: Any) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value if value is not None else "")
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _image_inputs(storage: StorageResource, rows: list[dict[str, Any]]) -> list[ImageInput]:
    return [
        ImageInput(storage.get_bytes(layout.image(r["name"])), r["caption"] or "",
                   " ".join(t for t in (r["context_before"], r["context_after"]) if t))
        for r in rows
    ]


def encode_images(storage: StorageResource, encoder: Encoder, rows: list[dict[str, Any]]) -> np.ndarray:
    """Encode in chunks so only ``IMAGE_CHUNK`` images' bytes are in memory at once."""
    chunks = [np.zeros((0, encoder.dim), dtype=np.float32)]
    for start in range(0, len(rows), IMAGE_CHUNK):
        chunks.append(encoder.encode_images(_image_inputs(storage, rows[start:start + IMAGE_CHUNK])))
    return np.concatenate(chunks)


def batch_images(
    storage: StorageResource, encoder: Encoder, batch: str
) -> tuple[list[dict[str, Any]], np.ndarray, int]:
    """One batch's corpus image rows, their embeddings (cached), and how many were encoded in this call."""
    rows = read_table(storage, rl.corpus_images(batch)).to_pylist()
    vectors, hit = cached_embeddings(
        storage, encoder, batch, "images", [r["image_id"] for r in rows],
        lambda: encode_images(storage, encoder, rows),
    )
    return rows, vectors, 0 if hit else len(rows)


def batch_sentences(storage: StorageResource, encoder: Encoder, batch: str) -> tuple[pa.Table, np.ndarray, int]:
    """One batch's corpus sentences (id, batch, document, text), their embeddings (cached), how many encoded now."""
    table = read_table(storage, rl.corpus_sentences(batch), ["sentence_id", "batch", "doc_id", "text"])
    vectors, hit = cached_embeddings(
        storage, encoder, batch, "sentences", table.column("sentence_id").to_pylist(),
        lambda: encoder.encode_texts(table.column("text").to_pylist()),
    )
    return table, vectors, 0 if hit else table.num_rows
