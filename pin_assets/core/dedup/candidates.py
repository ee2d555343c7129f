"""Candidate pairs from every batch's bucket index, one band and one key range at a time.

For a band, the key space is cut into equal ranges so that each holds about ``chunk_entries`` entries of
the whole corpus (keys are uniform 64-bit hashes). Each batch's index is sorted by key, so a cursor per
batch reads its row groups in order and hands over the entries below the range's upper bound; the rest
waits for the next range. A range's entries from all batches are sorted together and documents whose
keys are equal become candidate pairs. Memory is one range (``chunk_entries`` x 16 bytes, plus the sort)
and at most one row group left over per batch, whatever the corpus size: the streaming merge of
datatrove's bucket files, done with numpy a range at a time instead of a heap entry by entry.

Pairs within a run of equal keys are each member with the next (a chain) and with the first (a star):
linear in the run's length, so a thousand copies of one page give about two thousand pairs per band,
not half a million. Every member still ends in the run's cluster when verification accepts the pairs.
Documents are numbered globally: a batch's row ``r`` is ``offset + r``; a pair is packed in one uint64
as ``a << 32 | b`` with ``a < b`` (so a corpus holds at most 2**32 documents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.dedup.index import IndexInfo

MAX_DOCUMENTS = 1 << 32


@dataclass
class BatchBuckets:
    """One batch's index as the merge sees it: where its documents start and how to open its file."""

    name: str
    offset: int
    open: Callable[[], pa.NativeFile]
    info: IndexInfo
    metadata: pq.FileMetaData | None = None


@dataclass
class _Cursor:
    batch: BatchBuckets
    next_group: int
    end_group: int
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))

    def _read(self) -> None:
        with self.batch.open() as handle:
            table = pq.ParquetFile(handle, metadata=self.batch.metadata).read_row_group(self.next_group)
        self.next_group += 1
        self.keys = np.concatenate([self.keys, table.column("key").to_numpy()])
        self.rows = np.concatenate([self.rows, table.column("row").to_numpy()])

    def take_below(self, upper: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Entries with key < ``upper`` (all remaining when None), reading row groups as needed."""
        while self.next_group < self.end_group and (
            upper is None or not len(self.keys) or int(self.keys[-1]) < upper
        ):
            self._read()
        cut = len(self.keys) if upper is None else int(np.searchsorted(self.keys, np.uint64(upper), "left"))
        taken = self.keys[:cut], self.rows[:cut]
        self.keys, self.rows = self.keys[cut:], self.rows[cut:]
        return taken


def run_pairs(keys: np.ndarray, gids: np.ndarray) -> np.ndarray:
    """Packed pairs (chain and star) of documents sharing a key; ``keys`` sorted, ``gids`` ascending within runs."""
    if len(keys) < 2:
        return np.zeros(0, np.uint64)
    same = keys[1:] == keys[:-1]
    if not same.any():
        return np.zeros(0, np.uint64)
    index = np.arange(len(keys))
    is_start = np.concatenate([[True], ~same])
    first = np.maximum.accumulate(np.where(is_start, index, 0))
    chain_a, chain_b = gids[:-1][same], gids[1:][same]
    star = (first != index) & (first != index - 1)
    star_a, star_b = gids[first[star]], gids[star]
    a = np.concatenate([chain_a, star_a]).astype(np.uint64)
    b = np.concatenate([chain_b, star_b]).astype(np.uint64)
    return (a << np.uint64(32)) | b


def band_candidates(batches: Sequence[BatchBuckets], band: int, chunk_entries: int = 2_000_000) -> Iterator[
        np.ndarray]:
    """Packed candidate pairs of one band (``band = bands`` for exact hashes), one key range at a time."""
    total = sum(b.info.entries[band] for b in batches)
    if total == 0:
        return
    ranges = max(1, -(-total // max(1, chunk_entries)))
    cursors = []
    for batch in batches:
        first, count = batch.info.groups[band]
        if count:
            cursors.append(_Cursor(batch, first, first + count))
    for i in range(ranges):
        upper = None if i == ranges - 1 else (i + 1) * (1 << 64) // ranges
        keys, gids = [], []
        for cursor in cursors:
            k, r = cursor.take_below(upper)
            if len(k):
                keys.append(k)
                gids.append(r.astype(np.uint64) + np.uint64(cursor.batch.offset))
        if not keys:
            continue
        k, g = np.concatenate(keys), np.concatenate(gids)
        order = np.lexsort((g, k))
        pairs = run_pairs(k[order], g[order])
        if len(pairs):
            yield pairs
