"""Hierarchical retrieval (RealSyn §3.2): k-means the sentence embeddings, then search near centres only.

An inverted-file index is exactly that hierarchy: the coarse quantizer holds the k-means centres, each
sentence sits in the list of its nearest centre, and a query scans only the ``nprobe`` lists whose centres
are most similar to it, exactly (inner product of L2-normalized vectors = cosine similarity). Recall against
brute force is measured on the same data, so the speed/recall trade-off of ``nprobe`` is visible.
"""

from __future__ import annotations

import math

import numpy as np

from pin_assets.core.lazy import lazy_import

faiss = lazy_import("faiss")  # loaded at first use, not with the definitions (core/lazy.py)


def auto_clusters(n: int, requested: int = 0, per_sqrt: float = 1.0) -> int:
    """Cluster count: ``requested`` when set, else about ``per_sqrt * sqrt(n)``; always within [1, n]."""
    if n <= 0:
        return 1
    wanted = requested if requested > 0 else round(per_sqrt * math.sqrt(n))
    return max(1, min(n, wanted))


def _as_matrix(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def kmeans(x: np.ndarray, k: int, seed: int = 0, niter: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (faiss) of row vectors: centres and each row's cluster label; seeded."""
    x = _as_matrix(x)
    k = max(1, min(k, len(x)))
    model = faiss.Kmeans(
        x.shape[1], k, niter=niter, seed=seed, spherical=True, verbose=False,
        min_points_per_centroid=1, max_points_per_centroid=256,
    )
    model.train(x)
    _, labels = model.index.search(x, 1)
    return model.centroids.copy(), labels[:, 0].astype(np.int64)


def build_ivf(x: np.ndarray, n_clusters: int, seed: int = 0) -> faiss.IndexIVFFlat:
    """An inner-product IVF index whose coarse centres come from seeded k-means over ``x``; all rows added."""
    x = _as_matrix(x)
    centroids, _ = kmeans(x, n_clusters, seed=seed)
    quantizer = faiss.IndexFlatIP(x.shape[1])
    quantizer.add(centroids)
    index = faiss.IndexIVFFlat(quantizer, x.shape[1], len(centroids), faiss.METRIC_INNER_PRODUCT)
    index.add(x)  # faiss's Python wrapper keeps ``quantizer`` alive as long as ``index``
    return index


def serialize(index: faiss.Index) -> bytes:
    return faiss.serialize_index(index).tobytes()


def deserialize(data: bytes) -> faiss.Index:
    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def ivf_search(index: faiss.Index, queries: np.ndarray, top_k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row ids) per query scanning the ``nprobe`` nearest clusters; id -1 where fewer found."""
    faiss.extract_index_ivf(index).nprobe = max(1, nprobe)
    return index.search(_as_matrix(queries), top_k)


def exact_search(x: np.ndarray, queries: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k by inner product: the ground truth hierarchical retrieval is measured against."""
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(_as_matrix(x))
    return flat.search(_as_matrix(queries), top_k)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top-k ids that the approximate search also returned (1.0 when nothing to find)."""
    hits = total = 0
    for got, want in zip(found, truth, strict=True):
        wanted = {int(i) for i in want if i >= 0}
        hits += len(wanted & {int(i) for i in got if i >= 0})
        total += len(wanted)
    return hits / total if total else 1.0
