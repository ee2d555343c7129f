"""A sharded sentence index whose memory does not grow with the corpus (RealSyn at 0.84B sentences).

One global IVF index needs every sentence vector in one process and re-clusters on each new batch. Here:

* **Centroids** are trained once, by k-means over a bounded sample drawn across batches, and stored as a
  *template*: an empty, trained IVF index (coarse centres, plus the PQ codebooks when product quantization
  is chosen). The template is versioned; retraining is an explicit action that writes a new version.
* **Shards**: each batch's vectors are added to a copy of the template and serialized alone. Every shard
  shares the same centres, so a new batch adds one shard and leaves the others untouched.
* **Search** assigns each query to its ``nprobe`` nearest centres once, then visits the shards one at a
  time, scanning only those lists in each (``search_preassigned``) and merging a running top k. Peak
  memory is the template, one shard and the running top k of the query chunk.

Vectors are L2-normalized rows, and scores are inner products (= cosine similarity), as in ``retrieval``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from pin_assets.core.lazy import lazy_import
from pin_assets.core.realsyn.retrieval import kmeans

faiss = lazy_import("faiss")  # loaded at first use, not with the definitions (core/lazy.py)

CODECS = ("fp16", "pq")


def version_name(number: int) -> str:
    """Centroid versions are ``v000001``, ``v000002``...: sortable, and stable in storage keys."""
    if number < 1:
        raise ValueError(f"centroid versions start at 1, not {number}")
    return f"v{number:06d}"


def version_number(name: str) -> int:
    if len(name) != 7 or not name.startswith("v") or not name[1:].isdigit():
        raise ValueError(f"not a centroid version: {name!r}")
    return int(name[1:])


def sample_positions(sizes: Mapping[str, int], total: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A uniform sample of ``total`` rows (without replacement) from the union of the batches.

    Returned per batch as sorted row positions, so each batch is read once and only its sampled rows kept:
    the training sample is bounded by ``total`` however large the corpus grows.
    """
    names = sorted(sizes)
    counts = np.array([int(sizes[name]) for name in names], dtype=np.int64)
    grand = int(counts.sum())
    if grand == 0 or total <= 0:
        return {name: np.empty(0, dtype=np.int64) for name in names}
    picked = np.sort(np.random.default_rng(seed).choice(grand, size=min(total, grand), replace=False))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {
        name: picked[np.searchsorted(picked, bounds[i]):np.searchsorted(picked, bounds[i + 1])] - bounds[i]
        for i, name in enumerate(names)
    }


def _matrix(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def train_template(
    sample: np.ndarray, n_clusters: int, codec: str = "fp16", pq_m: int = 48, seed: int = 0
) -> faiss.IndexIVF:
    """An empty, trained inner-product IVF index: spherical k-means centres of ``sample`` plus the codec.

    ``fp16`` stores each vector as float16 (half of float32, scores nearly exact); ``pq`` stores ``pq_m``
    bytes per vector (PQ codebooks trained on the same sample), far smaller and less exact.
    """
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}: use one of {CODECS}")
    sample = _matrix(sample)
    if len(sample) == 0:
        raise ValueError("no vectors to train centroids on")
    centroids, _ = kmeans(sample, n_clusters, seed=seed)
    dim = sample.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(centroids)
    if codec == "fp16":
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, len(centroids), faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
    else:
        if dim % pq_m:
            raise ValueError(f"pq_m={pq_m} must divide the dimension {dim}")
        index = faiss.IndexIVFPQ(quantizer, dim, len(centroids), pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
    index.train(sample)  # the quantizer is already trained (it holds the centres): this trains the codec only
    return index  # faiss's Python wrapper keeps ``quantizer`` alive as long as ``index``


def template_centroids(template: faiss.IndexIVF) -> np.ndarray:
    return faiss.extract_index_ivf(template).quantizer.reconstruct_n(0, template.nlist)


def build_shard(template: faiss.IndexIVF, vectors: np.ndarray) -> faiss.IndexIVF:
    """A copy of the template holding ``vectors`` (row ids 0..n-1), each in the list of its nearest centre."""
    shard = faiss.clone_index(template)
    if len(vectors):
        shard.add(_matrix(vectors))
    return shard


def serialize(index: faiss.Index) -> bytes:
    return faiss.serialize_index(index).tobytes()


def deserialize(data: bytes) -> faiss.Index:
    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def list_sizes(index: faiss.IndexIVF) -> np.ndarray:
    invlists = faiss.extract_index_ivf(index).invlists
    return np.array([invlists.list_size(i) for i in range(index.nlist)], dtype=np.int64)


@dataclass(frozen=True)
class CoarseAssignment:
    """Each query's ``nprobe`` nearest centres (ids and scores), computed once and reused for every shard."""

    queries: np.ndarray
    ids: np.ndarray
    scores: np.ndarray


def assign(template: faiss.IndexIVF, queries: np.ndarray, nprobe: int) -> CoarseAssignment:
    queries = _matrix(queries)
    nprobe = max(1, min(nprobe, template.nlist))
    scores, ids = faiss.extract_index_ivf(template).quantizer.search(queries, nprobe)
    return CoarseAssignment(queries, ids, scores)


def search_shard(shard: faiss.IndexIVF, coarse: CoarseAssignment, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row ids within the shard) scanning only the pre-assigned lists; id -1 where none."""
    ivf = faiss.extract_index_ivf(shard)
    ivf.nprobe = coarse.ids.shape[1]
    return ivf.search_preassigned(coarse.queries, top_k, coarse.ids, coarse.scores)


class TopK:
    """The running best ``k`` hits per query over shards: (score, shard number, row in shard).

    Merging shard by shard gives the same top k as one search over all shards together: the k best of a
    union are among the k best of each part. Ties keep the earlier shard first, so results are repeatable.
    """

    def __init__(self, n_queries: int, k: int):
        self.k = k
        self.scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
        self.shards = np.full((n_queries, k), -1, dtype=np.int32)
        self.rows = np.full((n_queries, k), -1, dtype=np.int64)

    def add(self, shard_number: int, scores: np.ndarray, rows: np.ndarray) -> None:
        scores = np.where(rows >= 0, scores, -np.inf).astype(np.float32)
        all_scores = np.concatenate([self.scores, scores], axis=1)
        all_shards = np.concatenate([self.shards, np.where(rows >= 0, shard_number, -1).astype(np.int32)], axis=1)
        all_rows = np.concatenate([self.rows, rows.astype(np.int64)], axis=1)
        order = np.argsort(-all_scores, axis=1, kind="stable")[:, : self.k]
        self.scores = np.take_along_axis(all_scores, order, axis=1)
        self.shards = np.take_along_axis(all_shards, order, axis=1)
        self.rows = np.take_along_axis(all_rows, order, axis=1)

    def keys(self) -> np.ndarray:
        """One int64 per hit, unique across shards (shard number in the high bits); -1 where no hit."""
        return np.where(self.rows >= 0, (self.shards.astype(np.int64) << 40) | self.rows, -1)


def search_shards(
    template: faiss.IndexIVF, shards: Iterable[faiss.IndexIVF], queries: np.ndarray, top_k: int, nprobe: int
) -> TopK:
    """Stream over ``shards`` (an iterable that may load each one lazily) and merge each query's top k."""
    coarse = assign(template, queries, nprobe)
    best = TopK(len(coarse.queries), top_k)
    for number, shard in enumerate(shards):
        scores, rows = search_shard(shard, coarse, top_k)
        best.add(number, scores, rows)
    return best


def flat_index(centres: np.ndarray) -> faiss.IndexFlatIP:
    """An exact inner-product index over a few centres (image clusters for balancing)."""
    index = faiss.IndexFlatIP(centres.shape[1])
    index.add(_matrix(centres))
    return index


def nearest(index: faiss.Index, x: np.ndarray) -> np.ndarray:
    """Each row's nearest centre (label), as int64."""
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    _, labels = index.search(_matrix(x), 1)
    return labels[:, 0].astype(np.int64)
