"""Semantic balance sampling (RealSyn §3.3, after MetaCLIP): flatten the concept distribution of the images.

Images are k-means clustered; a cluster with at most ``cap`` members is kept whole, a larger one
contributes ``cap`` members drawn at random. Frequent concepts (slides, logos) stop dominating while rare
ones keep every example. The cap is the largest integer whose kept total does not exceed the target (a
binary search: the kept total is monotone in the cap). Sampling is seeded: same seed, same sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def kept_total(sizes: Sequence[int], cap: int) -> int:
    return int(sum(min(size, cap) for size in sizes))


def cap_for_target(sizes: Sequence[int], target: int) -> int:
    """Largest cap whose kept total is <= ``target`` (at least 1); the largest cluster's size if all fit."""
    if not sizes:
        return 0
    largest = max(sizes)
    if kept_total(sizes, largest) <= target:
        return largest
    lo, hi = 1, largest  # invariant: answer in [lo, hi]; kept_total(hi) > target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if kept_total(sizes, mid) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


def balanced_sample(labels: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """Sorted row positions kept: every member of clusters of size <= cap, ``cap`` random ones of the others."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    kept: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        kept.append(members if len(members) <= cap else rng.choice(members, size=cap, replace=False))
    return np.sort(np.concatenate(kept)) if kept else np.empty(0, dtype=np.int64)


def cluster_sizes(labels: np.ndarray, n_clusters: int | None = None) -> np.ndarray:
    """Members per cluster label (0..n_clusters-1; empty clusters count 0)."""
    labels = np.asarray(labels, dtype=np.int64)
    length = n_clusters if n_clusters is not None else (int(labels.max()) + 1 if len(labels) else 0)
    return np.bincount(labels, minlength=length)


class StreamingCapSampler:
    """The second pass of a streaming balance: cluster sizes known (first pass), labels arrive batch by batch.

    Each cluster ends with exactly ``min(size, cap)`` members, a uniformly random subset of it, without ever
    holding more than one batch of labels: per cluster, the number kept from the members in this batch is a
    hypergeometric draw from (still needed, still to come), and which of them are kept is uniform. That is
    sequential sampling without replacement (Knuth's algorithm S), vectorized per cluster and batch.
    """

    def __init__(self, sizes: Sequence[int], cap: int, seed: int):
        sizes_array = np.asarray(sizes, dtype=np.int64)
        self.need = np.minimum(sizes_array, cap)
        self.left = sizes_array.copy()
        self.rng = np.random.default_rng(seed)

    def select(self, labels: np.ndarray) -> np.ndarray:
        """Sorted positions of ``labels`` (this batch's cluster labels) that the sample keeps."""
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) == 0:
            return np.empty(0, dtype=np.int64)
        order = np.argsort(labels, kind="stable")
        clusters, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        if np.any(counts > self.left[clusters]):
            raise ValueError("more members of a cluster than its counted size: labels differ from the first pass")
        kept: list[np.ndarray] = []
        for cluster, start, count in zip(clusters.tolist(), starts.tolist(), counts.tolist(), strict=True):
            members = order[start:start + count]
            need, left = int(self.need[cluster]), int(self.left[cluster])
            if need == left:
                take = count
                chosen = members
            else:
                take = int(self.rng.hypergeometric(need, left - need, count)) if need else 0
                chosen = self.rng.choice(members, size=take, replace=False)
            kept.append(chosen)
            self.need[cluster] -= take
            self.left[cluster] -= count
        return np.sort(np.concatenate(kept))
