"""Locality-sensitive hashing of MinHash signatures: bands and rows for a Jaccard threshold, band keys.

A signature of ``num_perm`` values is cut into ``bands`` bands of ``rows`` values; two documents become a
candidate pair when all values of at least one band agree. With Jaccard similarity ``s`` that happens with
probability ``1 - (1 - s**rows)**bands``, an S-curve. :func:`lsh_params` picks the ``(bands, rows)`` that
minimises the area of false positives (below the threshold) plus false negatives (above it), equally
weighted, the rule datasketch's ``MinHashLSH`` uses; for 128 permutations it gives RedPajama-v2's published
settings: 0.7 -> 14 x 9, 0.8 -> 9 x 13, 0.9 -> 5 x 25. Candidates are then verified by their estimated
Jaccard (the share of equal signature values), so the bands only decide what gets compared.

A band's ``rows`` 32-bit values become one 64-bit key by a chain of murmur3 finalizers (each step a
bijection of the running key), vectorized over a whole batch. Equal bands always give equal keys; unequal
bands collide with probability about 2**-64, and a collision costs one rejected verification, never a
wrong cluster.
"""

from __future__ import annotations

from functools import cache

import numpy as np

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
EXACT_BAND = -1  # the band number under which exact-text hashes are indexed


def _area(a: float, b: float, fn, steps: int = 400) -> float:  # noqa: ANN001 (a vectorized callable)
    x = np.linspace(a, b, steps + 1)
    return float(np.trapezoid(fn(x), x)) if b > a else 0.0


@cache
def lsh_params(threshold: float, num_perm: int = 128) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising false-positive plus false-negative area."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            def hit(s, b=bands, r=rows):  # noqa: ANN001, ANN202
                return 1 - (1 - s**r) ** b
            error = 0.5 * _area(0.0, threshold, hit) + 0.5 * _area(threshold, 1.0, lambda s, h=hit: 1 - h(s))
            if best is None or error < best[0] - 1e-12:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Chance that two documents of Jaccard ``similarity`` share at least one band."""
    return 1 - (1 - similarity**rows) ** bands


def _fmix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= _M1
    h ^= h >> np.uint64(33)
    h *= _M2
    h ^= h >> np.uint64(33)
    return h


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``uint64[bands, n]``: one key per band and document, from ``uint32[n, num_perm]`` signatures."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values; signatures have "
                         f"{signatures.shape[1]}")
    values = signatures.astype(np.uint64)
    keys = np.empty((bands, signatures.shape[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            h = np.full(signatures.shape[0], np.uint64((band + 1) * _GOLDEN & _MASK), dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                h = _fmix(h ^ (values[:, col] + np.uint64((col + 1) * _GOLDEN & _MASK)))
            keys[band] = h
    return keys
