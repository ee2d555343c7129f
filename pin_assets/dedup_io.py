"""Storage side of duplicate detection: signature files, per-batch bucket indexes, the corpus-wide outputs.

The signals stage writes ``minhash/<batch>/part-00000.parquet`` through :func:`signature_writer`, which
first deletes the batch's bucket indexes (``dedup/index/<batch>/``): they were built from the signatures
being replaced. ``duplicate_clusters`` then builds an index only for a batch that has none for its band
setting (:func:`prepare_batches`) and reuses every other batch's, so adding a batch costs that batch's
signatures and index, plus one streaming pass over every batch's buckets.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pin_assets import layout
from pin_assets.core.dedup.clusters import BatchInput, ClusterResult
from pin_assets.core.dedup.flags import BATCHES_VIEW, MEMBERS_VIEW, flags_select
from pin_assets.core.dedup.index import IndexInfo, build_index, index_name
from pin_assets.core.dedup.signatures import SignatureWriter, file_scheme
from pin_assets.core.dedup.text import SCHEME
from pin_assets.core.stats import JoinedSource, PlainSource
from resources.storage import StorageResource

COVERAGE = pa.schema([("batch", pa.string()), ("documents", pa.int64()), ("in_clusters", pa.int64()),
                      ("duplicates", pa.int64()), ("index", pa.string())])


@contextlib.contextmanager
def signature_writer(storage: StorageResource, batch: str) -> Iterator[SignatureWriter]:
    """A :class:`SignatureWriter` whose file becomes the batch's signature object on clean exit."""
    storage.delete_prefix(layout.dedup_index_prefix(batch))
    with storage.staged_file(layout.minhash(batch), ".parquet") as path, SignatureWriter(path) as writer:
        yield writer


def index_key(batch: str, bands: int, rows: int) -> str:
    return f"{layout.dedup_index_prefix(batch)}/{index_name(bands, rows)}"


@dataclass
class Prepared:
    """The batches ready to cluster and what happened to each on the way."""

    inputs: list[BatchInput] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    without_signatures: list[str] = field(default_factory=list)
    other_scheme: list[str] = field(default_factory=list)


def prepare_batches(storage: StorageResource, batches: Sequence[str], bands: int, rows: int) -> Prepared:
    """Each batch with current signatures, in the given order, with its bucket index (built if missing)."""
    out = Prepared()
    for batch in batches:
        sig_key = layout.minhash(batch)
        if not storage.exists(sig_key):
            out.without_signatures.append(batch)
            continue
        if file_scheme(pq.ParquetFile(storage.open_input(sig_key))) != SCHEME.to_dict():
            out.other_scheme.append(batch)
            continue
        key = index_key(batch, bands, rows)
        if storage.exists(key):
            info = IndexInfo.from_file(pq.ParquetFile(storage.open_input(key)))
            out.reused.append(batch)
        else:
            with storage.staged_file(key, ".parquet") as path:
                info = build_index(storage.open_input(sig_key), path, bands, rows)
            out.built.append(batch)
        out.inputs.append(BatchInput(batch, lambda k=sig_key: storage.open_input(k),
                                     lambda k=key: storage.open_input(k), info))
    return out


def write_outputs(storage: StorageResource, result: ClusterResult, prepared: Prepared) -> None:
    """The members table and the coverage table, each one atomic object."""
    built = set(prepared.built)
    coverage = pa.Table.from_pylist(
        [{**row, "index": "built" if row["batch"] in built else "reused"} for row in result.per_batch],
        schema=COVERAGE,
    )
    for key, table in ((layout.DEDUP_MEMBERS, result.members), (layout.DEDUP_BATCHES, coverage)):
        with storage.staged_file(key, ".parquet") as path:
            pq.write_table(table, path, compression="zstd")


def snippets(storage: StorageResource, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """``(batch, doc_id) -> snippet`` for a few documents (cluster examples), read from their signature files."""
    found: dict[tuple[str, str], str] = {}
    for batch, ids in wanted.items():
        table = pq.read_table(storage.open_input(layout.minhash(batch)), columns=["doc_id", "snippet"])
        table = table.filter(pc.is_in(table.column("doc_id"), pa.array(sorted(ids), pa.string())))
        for doc_id, text in zip(table.column("doc_id").to_pylist(), table.column("snippet").to_pylist(), strict=True):
            found[(batch, doc_id)] = text or ""
    return found


def _parquet_source(storage: StorageResource, key: str) -> PlainSource:
    """A stored Parquet object as DuckDB input: a local path, or a pyarrow dataset on S3."""
    fs, base = storage.arrow_filesystem()
    path = f"{base}/{key}"
    return path if isinstance(fs, pafs.LocalFileSystem) else pads.dataset([path], filesystem=fs, format="parquet")


def with_duplicate_flags(storage: StorageResource, signals: PlainSource) -> PlainSource | JoinedSource:
    """``signals`` with the duplicate flag columns joined on, once ``duplicate_clusters`` has run."""
    if not (storage.exists(layout.DEDUP_MEMBERS) and storage.exists(layout.DEDUP_BATCHES)):
        return signals
    tables = ((MEMBERS_VIEW, _parquet_source(storage, layout.DEDUP_MEMBERS)),
              (BATCHES_VIEW, _parquet_source(storage, layout.DEDUP_BATCHES)))
    return JoinedSource(signals, tables, flags_select("signal_rows"))


def read_members(storage: StorageResource) -> pa.Table:
    return pq.read_table(io.BytesIO(storage.get_bytes(layout.DEDUP_MEMBERS)))


def summary_json(result: ClusterResult) -> bytes:
    return json.dumps({"totals": result.totals, "per_source": result.per_source,
                       "cluster_sizes": result.size_histogram, "cross_source": result.cross_source},
                      indent=1, sort_keys=True).encode()
