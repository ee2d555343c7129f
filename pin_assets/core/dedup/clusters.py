"""Duplicate clusters over every batch: candidates, verification, union-find, one kept document each.

1. Candidates: documents sharing a band key in any band, or the same exact-text hash
   (:mod:`~pin_assets.core.dedup.candidates`, streamed from each batch's bucket index).
2. Verification: a pair is kept when its estimated Jaccard similarity, the share of equal values in the
   two 128-value signatures, is at least the threshold. Exact-hash pairs are verified the same way, so a
   hash collision cannot join two different texts. Only the documents that appear in some candidate pair
   are read back from the signature files, one row group at a time.
3. Clusters: union-find over the verified pairs (transitive: A~B and B~C put A, B, C together).
4. One document per cluster is kept, by :data:`KEEP_RULES`; the others are ``is_duplicate``.

Memory grows with the number of candidate documents (their signatures, 512 bytes each) and pairs, not
with the corpus: a document that shares no bucket with another is never loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pin_assets.core.dedup.candidates import MAX_DOCUMENTS, BatchBuckets, band_candidates
from pin_assets.core.dedup.index import IndexInfo
from pin_assets.core.dedup.signatures import signature_matrix
from pin_assets.core.realsyn.dedup import UnionFind

# Order of preference inside a cluster; the first document after sorting by these keys is kept. Every rule
# ends with the batch's registration order and the document's row, so the choice is deterministic.
KEEP_RULES: dict[str, str] = {
    "longest": "most normalized words, then most images, then the earliest batch",
    "most_images": "most content images, then most words, then the earliest batch",
    "earliest": "the earliest registered batch (first seen), then most words",
}
VERIFY_CHUNK = 50_000
COMPACT_AT = 4_000_000

MEMBERS = pa.schema(
    [
        ("batch", pa.string()),
        ("doc_id", pa.string()),
        ("source_dataset", pa.string()),
        ("duplicate_cluster", pa.string()),  # the kept document, as "<batch>/<doc_id>"
        ("is_duplicate", pa.bool_()),  # in a cluster and not the kept one
        ("near_duplicates", pa.int32()),  # other documents in the cluster
        ("exact_duplicates", pa.int32()),  # other documents in the cluster with the same normalized text
        ("similarity", pa.float32()),  # estimated Jaccard with the kept document
        ("words", pa.int32()),
        ("cluster_size", pa.int32()),
    ]
)


@dataclass
class BatchInput:
    """One batch for clustering: its name, its signature file and its bucket index (openers, not paths)."""

    name: str
    open_signatures: Callable[[], pa.NativeFile]
    open_index: Callable[[], pa.NativeFile]
    info: IndexInfo


@dataclass(frozen=True)
class ClusterSettings:
    threshold: float
    bands: int
    rows: int
    keep: str = "longest"
    chunk_entries: int = 2_000_000

    def __post_init__(self) -> None:
        if self.keep not in KEEP_RULES:
            raise ValueError(f"unknown keep rule {self.keep!r}: use one of {', '.join(KEEP_RULES)}")


@dataclass
class ClusterResult:
    members: pa.Table
    totals: dict[str, int]
    per_batch: list[dict[str, Any]]
    per_source: dict[str, dict[str, int]]
    size_histogram: dict[str, int]
    cross_source: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Gathered:
    """Columns of the candidate documents, aligned with the sorted global ids ``gids``."""

    gids: np.ndarray
    batch: np.ndarray  # position of the document's batch in registration order
    sigs: np.ndarray
    text_hash: np.ndarray
    has_hash: np.ndarray
    words: np.ndarray
    images: np.ndarray
    doc_id: pa.Array
    source: pa.Array


def _unique_pairs(batches: Sequence[BatchBuckets], bands: int, chunk_entries: int) -> tuple[np.ndarray, int]:
    """All distinct packed candidate pairs over every band and the exact hashes, and how many were raw."""
    buffer: list[np.ndarray] = []
    held, raw = 0, 0
    for band in range(bands + 1):
        for pairs in band_candidates(batches, band, chunk_entries):
            raw += len(pairs)
            buffer.append(pairs)
            held += len(pairs)
            if held > COMPACT_AT:
                buffer = [np.unique(np.concatenate(buffer))]
                held = len(buffer[0])
    unique = np.unique(np.concatenate(buffer)) if buffer else np.zeros(0, np.uint64)
    return unique, raw


def _gather(batches: Sequence[BatchInput], offsets: np.ndarray, gids: np.ndarray, num_perm: int) -> _Gathered:
    """Read the candidate documents' signatures and facts, touching only the row groups that hold them."""
    n = len(gids)
    empty = pa.array([], pa.string())
    out = _Gathered(gids, np.searchsorted(offsets, gids, "right") - 1, np.zeros((n, num_perm), np.uint32),
                    np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, np.int32), np.zeros(n, np.int32),
                    empty, empty)
    ids, sources = [], []
    position = 0
    columns = ["doc_id", "source_dataset", "words", "image_count", "text_hash", "minhash"]
    for b, batch in enumerate(batches):
        lo, hi = np.searchsorted(gids, [offsets[b], offsets[b + 1]])
        if lo == hi:
            continue
        local = (gids[lo:hi] - offsets[b]).astype(np.int64)
        with batch.open_signatures() as handle:
            parquet = pq.ParquetFile(handle)
            starts = np.cumsum([0] + [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)])
            for group in np.unique(np.searchsorted(starts, local, "right") - 1):
                g_lo, g_hi = np.searchsorted(local, [starts[group], starts[group + 1]])
                take = pa.array(local[g_lo:g_hi] - starts[group])
                table = parquet.read_row_group(int(group), columns=columns).take(take)
                span = slice(position, position + len(take))
                out.sigs[span], _ = signature_matrix(table.column("minhash"), num_perm)
                hashes = table.column("text_hash").combine_chunks()
                out.has_hash[span] = ~np.asarray(hashes.is_null().to_numpy(zero_copy_only=False), bool)
                out.text_hash[span] = np.asarray(hashes.fill_null(0).to_numpy(), np.int64)
                out.words[span] = table.column("words").to_numpy()
                out.images[span] = table.column("image_count").fill_null(0).to_numpy()
                ids.append(table.column("doc_id").combine_chunks())
                sources.append(table.column("source_dataset").combine_chunks())
                position += len(take)
    if position != n:
        raise ValueError(f"signature files changed under the index: found {position} of {n} candidate documents")
    out.doc_id = pa.concat_arrays(ids) if ids else out.doc_id
    out.source = pa.concat_arrays(sources) if sources else out.source
    return out


def _verify(pairs: np.ndarray, docs: _Gathered, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Compact index pairs ``(i, j)`` whose estimated Jaccard is at least ``threshold``."""
    a = np.searchsorted(docs.gids, (pairs >> np.uint64(32)).astype(np.int64))
    b = np.searchsorted(docs.gids, (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64))
    keep = np.zeros(len(pairs), bool)
    num_perm = docs.sigs.shape[1]
    for lo in range(0, len(pairs), VERIFY_CHUNK):
        sl = slice(lo, lo + VERIFY_CHUNK)
        equal = (docs.sigs[a[sl]] == docs.sigs[b[sl]]).sum(axis=1)
        keep[sl] = equal >= threshold * num_perm - 1e-9
    return a[keep], b[keep]


def _keep_order(rule: str, docs: _Gathered, roots: np.ndarray) -> np.ndarray:
    """Indices sorted so each cluster's kept document comes first among its members (np.lexsort: last key first)."""
    gid, batch = docs.gids, docs.batch  # global ids follow batch registration order, then row order
    if rule == "longest":
        keys = (gid, batch, -docs.images, -docs.words, roots)
    elif rule == "most_images":
        keys = (gid, batch, -docs.words, -docs.images, roots)
    else:
        keys = (gid, -docs.images, -docs.words, batch, roots)
    return np.lexsort(keys)


def _size_bucket(size: int) -> str:
    for upper, label in ((2, "2"), (4, "3-4"), (9, "5-9"), (99, "10-99"), (999, "100-999")):
        if size <= upper:
            return label
    return "1000+"


def find_clusters(batches: Sequence[BatchInput], settings: ClusterSettings) -> ClusterResult:
    """Cluster the documents of ``batches`` (in registration order) and pick one kept document per cluster."""
    schemes = {json_key(b.info.scheme) for b in batches}
    if len(schemes) > 1:
        raise ValueError("signature files were made with different MinHash schemes; re-materialize quality_signals")
    sizes = np.array([b.info.documents for b in batches], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if offsets[-1] >= MAX_DOCUMENTS:
        raise ValueError(f"{offsets[-1]:,} documents: the clustering numbers documents in 32 bits")
    buckets = [BatchBuckets(b.name, int(offsets[i]), b.open_index, b.info) for i, b in enumerate(batches)]
    for bucket in buckets:
        with bucket.open() as handle:
            bucket.metadata = pq.ParquetFile(handle).metadata
    pairs, raw = _unique_pairs(buckets, settings.bands, settings.chunk_entries)
    num_perm = int(batches[0].info.scheme["num_perm"]) if batches else 128
    gids = np.unique(np.concatenate([pairs >> np.uint64(32), pairs & np.uint64(0xFFFFFFFF)])).astype(np.int64)
    docs = _gather(batches, offsets, gids, num_perm)
    a, b = _verify(pairs, docs, settings.threshold)
    groups = UnionFind(len(gids))
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        groups.union(i, j)
    roots = np.fromiter((groups.find(i) for i in range(len(gids))), dtype=np.int64, count=len(gids))
    _, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    size = counts[inverse]
    in_cluster = size >= 2
    members = _members_table(batches, docs, roots, size, in_cluster, settings.keep)
    return _summarise(batches, members, raw, len(pairs), len(a), sizes)


def json_key(scheme: dict[str, Any]) -> str:
    return repr(sorted(scheme.items()))


def _members_table(batches: Sequence[BatchInput], docs: _Gathered, roots: np.ndarray,
                   size: np.ndarray, in_cluster: np.ndarray, rule: str) -> pa.Table:
    idx = np.flatnonzero(in_cluster)
    if not len(idx):
        return MEMBERS.empty_table()
    order = idx[_keep_order(rule, _subset(docs, idx), roots[idx])]
    r = roots[order]
    first = np.concatenate([[True], r[1:] != r[:-1]])
    kept_of = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    batch_of = docs.batch
    names = np.array([b.name for b in batches], dtype=object)
    batch_names = pa.array(names[batch_of[order]].tolist(), pa.string())
    kept_names = pa.array(names[batch_of[kept_of]].tolist(), pa.string())
    cluster = pc.binary_join_element_wise(kept_names, docs.doc_id.take(pa.array(kept_of)), "/")
    equal = (docs.sigs[order] == docs.sigs[kept_of]).mean(axis=1)
    exact_key = np.where(docs.has_hash[order], docs.text_hash[order], 0)
    _, exact_inverse, exact_counts = np.unique(np.stack([r, exact_key]), axis=1, return_inverse=True,
                                               return_counts=True)
    table = pa.table(
        {
            "batch": batch_names,
            "doc_id": docs.doc_id.take(pa.array(order)),
            "source_dataset": docs.source.take(pa.array(order)),
            "duplicate_cluster": cluster,
            "is_duplicate": pa.array(order != kept_of),
            "near_duplicates": pa.array(size[order] - 1, pa.int32()),
            "exact_duplicates": pa.array(exact_counts[exact_inverse.ravel()] - 1, pa.int32()),
            "similarity": pa.array(equal, pa.float32()),
            "words": pa.array(docs.words[order], pa.int32()),
            "cluster_size": pa.array(size[order], pa.int32()),
        },
        schema=MEMBERS,
    )
    # Largest clusters first, the kept document first inside each: the table reads as a report.
    return table.sort_by([("cluster_size", "descending"), ("duplicate_cluster", "ascending"),
                          ("is_duplicate", "ascending"), ("batch", "ascending"), ("doc_id", "ascending")])


def _subset(docs: _Gathered, idx: np.ndarray) -> _Gathered:
    return _Gathered(docs.gids[idx], docs.batch[idx], docs.sigs[idx], docs.text_hash[idx], docs.has_hash[idx],
                     docs.words[idx], docs.images[idx], docs.doc_id, docs.source)


def _summarise(batches: Sequence[BatchInput], members: pa.Table, raw: int, unique: int, verified: int,
               sizes: np.ndarray) -> ClusterResult:
    rows = members.to_pydict() if members.num_rows else {name: [] for name in MEMBERS.names}
    in_batch: Counter[str] = Counter(rows["batch"])
    dup_batch: Counter[str] = Counter(b for b, d in zip(rows["batch"], rows["is_duplicate"], strict=True) if d)
    per_source: dict[str, dict[str, int]] = {}
    for source, dup, exact in zip(rows["source_dataset"], rows["is_duplicate"], rows["exact_duplicates"],
                                  strict=True):
        entry = per_source.setdefault(source or "(none)", {"in_clusters": 0, "duplicates": 0, "exact": 0})
        entry["in_clusters"] += 1
        entry["duplicates"] += int(dup)
        entry["exact"] += int(exact > 0)
    cluster_sources: dict[str, set[str]] = {}
    cluster_size: dict[str, int] = {}
    for cluster, source, n in zip(rows["duplicate_cluster"], rows["source_dataset"], rows["cluster_size"],
                                  strict=True):
        cluster_sources.setdefault(cluster, set()).add(source or "(none)")
        cluster_size[cluster] = n
    histogram: Counter[str] = Counter(_size_bucket(n) for n in cluster_size.values())
    crossing: Counter[str] = Counter(" + ".join(sorted(s)) for s in cluster_sources.values() if len(s) > 1)
    totals = {
        "documents": int(sizes.sum()),
        "batches": len(batches),
        "candidate_pairs": raw,
        "distinct_candidate_pairs": unique,
        "verified_pairs": verified,
        "clusters": len(cluster_size),
        "documents_in_clusters": members.num_rows,
        "duplicates": sum(dup_batch.values()),
        "exact_duplicate_documents": int(sum(1 for e in rows["exact_duplicates"] if e > 0)),
    }
    per_batch = [{"batch": b.name, "documents": b.info.documents, "in_clusters": in_batch[b.name],
                  "duplicates": dup_batch[b.name]} for b in batches]
    order = ("2", "3-4", "5-9", "10-99", "100-999", "1000+")
    return ClusterResult(members, totals, per_batch, per_source,
                         {k: histogram[k] for k in order if histogram[k]}, crossing.most_common(10))
