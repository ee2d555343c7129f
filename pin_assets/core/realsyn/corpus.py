"""One batch's RealSyn corpus: filtered, deduplicated sentences and images with lineage.

Sentences stream out document by document. Images are buffered as small rows (no pixels) until the batch
ends, because union-find over near-duplicates needs every hash of the batch before it can say which copy is
first. Hashes kept by *other* batches come in as ``seen_*`` so the corpus is deduplicated as a whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pin_assets.core.realsyn.dedup import HashBandIndex, first_of_each_group, image_phash, text_hash
from pin_assets.core.realsyn.filters import ImageFilter, SentenceFilter
from pin_assets.core.realsyn.sentences import Segment, image_refs, locate_images, split_sentences

# Every counter the builder reports, so metadata always carries each filter's count (0 included).
COUNT_KEYS = (
    "documents", "sentence_candidates", "sentences_kept", "sentence_too_short", "sentence_too_long",
    "sentence_low_entropy", "sentence_duplicate", "sentence_duplicate_other_batch", "image_candidates",
    "images_kept", "image_too_small", "image_aspect_ratio", "image_unreadable", "image_duplicate",
    "image_duplicate_other_batch",
)


@dataclass(frozen=True)
class CorpusConfig:
    """Extraction settings; defaults follow the RealSyn paper."""

    images: ImageFilter = field(default_factory=ImageFilter)
    sentences: SentenceFilter = field(default_factory=SentenceFilter)
    phash_threshold: int = 4
    context_sentences: int = 2


def sentence_id(doc_id: str, start: int) -> str:
    """Stable id from the document and the character offset (no dots, so usable as a WebDataset key)."""
    return f"s-{doc_id[:20]}-{start}"


def image_id(doc_id: str, index: int) -> str:
    return f"i-{doc_id[:20]}-{index}"


@dataclass
class CorpusBuilder:
    """Accumulates one batch. ``load_image(name)`` returns encoded bytes of a content image."""

    batch: str
    config: CorpusConfig
    load_image: Callable[[str], bytes]
    seen_text: np.ndarray | None = None
    seen_images: Sequence[int] = ()
    counts: Counter = field(default_factory=Counter)
    _text_seen: set[int] = field(default_factory=set)
    _pending_images: list[dict[str, Any]] = field(default_factory=list)
    _phash_by_name: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts.update({key: 0 for key in COUNT_KEYS})
        self._other_text = set(self.seen_text.tolist()) if self.seen_text is not None else set()
        self._other_images = HashBandIndex(self.config.phash_threshold)
        for value in self.seen_images:
            self._other_images.add(int(value))

    def add_document(self, doc_id: str, markdown: str, images: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sentence rows of one document (kept ones, with neighbours); its images are queued for dedup."""
        self.counts["documents"] += 1
        segments = split_sentences(markdown)
        kept = [s for s in segments if self._keep_sentence(s)]
        ids = [sentence_id(doc_id, s.start) for s in kept]
        rows = [
            {
                "sentence_id": ids[i], "doc_id": doc_id, "batch": self.batch, "position": i,
                "char_start": s.start, "char_end": s.end, "text": s.text,
                "prev_sentence_id": ids[i - 1] if i else None,
                "next_sentence_id": ids[i + 1] if i + 1 < len(ids) else None,
                "text_hash": text_hash(s.text),
            }
            for i, s in enumerate(kept)
        ]
        self._queue_images(doc_id, markdown, images, segments, kept, ids)
        return rows

    def _keep_sentence(self, segment: Segment) -> bool:
        self.counts["sentence_candidates"] += 1
        reason = self.config.sentences.reject_reason(segment.text)
        if reason is None:
            value = text_hash(segment.text)
            if value in self._other_text:
                reason = "sentence_duplicate_other_batch"
            elif value in self._text_seen:
                reason = "sentence_duplicate"
            self._text_seen.add(value)
        if reason:
            self.counts[reason] += 1
            return False
        self.counts["sentences_kept"] += 1
        return True

    def _phash(self, name: str) -> int | None:
        if name not in self._phash_by_name:
            try:
                self._phash_by_name[name] = image_phash(self.load_image(name))
            except Exception:  # undecodable or missing bytes: the image cannot be used, whatever the cause
                self._phash_by_name[name] = None
        return self._phash_by_name[name]

    def _queue_images(
        self, doc_id: str, markdown: str, images: Sequence[dict[str, Any]], segments: list[Segment],
        kept: list[Segment], ids: list[str],
    ) -> None:
        refs = locate_images([i["name"] for i in images], image_refs(markdown))
        n = self.config.context_sentences
        for index, (image, ref) in enumerate(zip(images, refs, strict=True)):
            offset = ref.start if ref else -1
            self.counts["image_candidates"] += 1
            reason = self.config.images.reject_reason(int(image["width"]), int(image["height"]))
            value = None if reason else self._phash(image["name"])
            if reason is None and value is None:
                reason = "image_unreadable"
            if reason:
                self.counts[reason] += 1
                continue
            before = [s for s in segments if s.end <= offset] if offset >= 0 else []
            after = [s for s in segments if s.start >= offset] if offset >= 0 else []
            prev_kept = [i for i, s in enumerate(kept) if s.end <= offset] if offset >= 0 else []
            next_kept = [i for i, s in enumerate(kept) if s.start >= offset] if offset >= 0 else []
            self._pending_images.append({
                "image_id": image_id(doc_id, index), "doc_id": doc_id, "batch": self.batch, "image_index": index,
                "char_offset": offset, "name": image["name"], "width": int(image["width"]),
                "height": int(image["height"]), "caption": image.get("caption") or (ref.alt if ref else ""),
                "context_before": " ".join(s.text for s in before[-n:]) if n else "",
                "context_after": " ".join(s.text for s in after[:n]) if n else "",
                "prev_sentence_id": ids[prev_kept[-1]] if prev_kept else None,
                "next_sentence_id": ids[next_kept[0]] if next_kept else None,
                "phash": value,
            })

    def finish_images(self) -> list[dict[str, Any]]:
        """Image rows that survive near-duplicate removal within the batch and against other batches."""
        hashes = [row["phash"] for row in self._pending_images]
        keep = first_of_each_group(hashes, self.config.phash_threshold, self._other_images)
        near_other = [bool(self._other_images.near(h)) for h in hashes]
        kept = []
        for row, flag, other in zip(self._pending_images, keep, near_other, strict=True):
            if flag:
                kept.append(row)
            else:
                self.counts["image_duplicate_other_batch" if other else "image_duplicate"] += 1
        self.counts["images_kept"] += len(kept)
        self._pending_images = []
        return kept
