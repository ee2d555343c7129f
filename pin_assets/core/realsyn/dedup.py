"""Near-duplicate removal for images (perceptual hash + union-find) and sentences (normalized-text hash).

Images: a 64-bit DCT perceptual hash (``imagehash.phash``, 8x8) survives rescaling and re-encoding — a
half-size JPEG copy lands within Hamming distance 2 of its original while unrelated pictures sit near 28 —
so images within ``threshold`` bits (default 4) are the same picture. Candidate pairs come from
multi-index hashing: split the 64 bits into ``threshold + 1`` bands; by the pigeonhole principle two hashes
within ``threshold`` bits agree exactly on at least one band, so only hashes sharing a band are compared,
never all pairs. Connected components (union-find) keep their first member in reading order.

Sentences: lower-cased, punctuation and spacing removed, then hashed (BLAKE2b, 64 bits); sentences that
differ only in case, punctuation or spacing collide. Exact normalized matching is what RealSyn needs at
sentence length; MinHash would only add fuzzy matches between genuinely different sentences.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import imagehash
import numpy as np
from PIL import Image

HASH_BITS = 64
_NOT_WORD = re.compile(r"[\W_]+")


def text_hash(text: str) -> int:
    """Signed 64-bit hash of the normalized text (signed so it fits Arrow int64)."""
    normalized = " ".join(_NOT_WORD.sub(" ", text.lower()).split())
    digest = hashlib.blake2b(normalized.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def image_phash(data: bytes) -> int:
    """Signed 64-bit DCT perceptual hash of encoded image bytes; raises on undecodable data."""
    with Image.open(io.BytesIO(data)) as image:
        bits = imagehash.phash(image.convert("RGB"), hash_size=8).hash.flatten()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << HASH_BITS) - 1)).bit_count()


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving; the root of a set is its smallest member."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class HashBandIndex:
    """Multi-index hashing: find stored 64-bit hashes within ``threshold`` bits of a query without a full scan."""

    def __init__(self, threshold: int):
        if not 0 <= threshold < HASH_BITS:
            raise ValueError("threshold must be in [0, 63]")
        self.threshold = threshold
        bands = threshold + 1
        edges = [round(i * HASH_BITS / bands) for i in range(bands + 1)]
        self._bands = [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:], strict=False)]
        self._tables: list[dict[int, list[int]]] = [defaultdict(list) for _ in self._bands]
        self.hashes: list[int] = []

    def _keys(self, value: int) -> Iterable[tuple[int, int]]:
        unsigned = value & ((1 << HASH_BITS) - 1)
        for band, (shift, mask) in enumerate(self._bands):
            yield band, (unsigned >> shift) & mask

    def add(self, value: int) -> int:
        """Store a hash; returns its position."""
        position = len(self.hashes)
        self.hashes.append(value)
        for band, key in self._keys(value):
            self._tables[band][key].append(position)
        return position

    def near(self, value: int) -> list[int]:
        """Positions of stored hashes within ``threshold`` bits of ``value``."""
        candidates = {p for band, key in self._keys(value) for p in self._tables[band].get(key, ())}
        return sorted(p for p in candidates if hamming(self.hashes[p], value) <= self.threshold)


def near_duplicate_groups(hashes: Sequence[int], threshold: int) -> list[int]:
    """For each hash, the position of its group's representative (first member in order): union-find.

    Transitive: a chain of near-copies (each within ``threshold`` of the next) forms one group.
    """
    index = HashBandIndex(threshold)
    groups = UnionFind(len(hashes))
    for position, value in enumerate(hashes):
        for other in index.near(value):
            groups.union(other, position)
        index.add(value)
    return [groups.find(i) for i in range(len(hashes))]


def first_of_each_group(hashes: Sequence[int], threshold: int, seen: HashBandIndex | None = None) -> list[bool]:
    """Keep flags: an item survives when it is first of its near-duplicate group and not near ``seen``.

    ``seen`` holds hashes kept earlier (other batches); a group touching any of them is dropped entirely,
    since its picture is already in the corpus.
    """
    roots = near_duplicate_groups(hashes, threshold)
    touched = {roots[i] for i, value in enumerate(hashes) if seen is not None and seen.near(value)}
    return [roots[i] == i and roots[i] not in touched for i in range(len(hashes))]


def new_text_flags(hashes: Sequence[int], seen: np.ndarray | None = None) -> list[bool]:
    """Keep flags for text hashes: first occurrence in order, and not among ``seen`` (other batches)."""
    seen_set = set(seen.tolist()) if seen is not None else set()
    kept: list[bool] = []
    for value in hashes:
        kept.append(value not in seen_set)
        seen_set.add(value)
    return kept
