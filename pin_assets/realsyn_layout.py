"""Storage keys of the RealSyn stage, spelled here and nowhere else (the PIN keys live in ``layout``).

Under the storage base::

    realsyn/corpus/<batch>/sentences.parquet        filtered, deduplicated sentences with lineage
    realsyn/corpus/<batch>/images.parquet           filtered, deduplicated images with lineage
    realsyn/embeddings/<encoder>/<batch>/<kind>.npz cached embeddings (ids + vectors) per batch and encoder
    realsyn/text_index/ivf.faiss                    the serialized IVF index over every sentence embedding
    realsyn/text_index/sentences.parquet            index row -> sentence id, batch, document, text
    realsyn/pairs/pairs.parquet                     top-k retrieved texts per image, with scores
    realsyn/balanced/realsyn.parquet                the balanced sample, RealSyn release columns
    realsyn/balanced/shards/shard-NNNNNN.tar        the same sample as WebDataset shards

The corpus files' ``text_hash`` and ``phash`` columns are the corpus-wide dedup index (no separate files).
"""

from __future__ import annotations

import re

from pin_assets.layout import check_name

PREFIX = "realsyn"
CORPUS_PREFIX = f"{PREFIX}/corpus"
EMBEDDINGS_PREFIX = f"{PREFIX}/embeddings"
TEXT_INDEX = f"{PREFIX}/text_index/ivf.faiss"
TEXT_INDEX_ROWS = f"{PREFIX}/text_index/sentences.parquet"
PAIRS = f"{PREFIX}/pairs/pairs.parquet"
BALANCED = f"{PREFIX}/balanced/realsyn.parquet"
SHARDS_PREFIX = f"{PREFIX}/balanced/shards"

_ENCODER_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def corpus_sentences(batch: str) -> str:
    return f"{CORPUS_PREFIX}/{check_name(batch)}/sentences.parquet"


def corpus_images(batch: str) -> str:
    return f"{CORPUS_PREFIX}/{check_name(batch)}/images.parquet"


def encoder_slug(encoder_name: str) -> str:
    """An encoder's name as one safe key segment (model names carry '/' and ':')."""
    return check_name(_ENCODER_UNSAFE.sub("_", encoder_name).strip("._-")[:100] or "encoder", "encoder name")


def embeddings(encoder_name: str, batch: str, kind: str) -> str:
    if kind not in ("sentences", "images"):
        raise ValueError(f"unknown embedding kind {kind!r}")
    return f"{PREFIX}/embeddings/{encoder_slug(encoder_name)}/{check_name(batch)}/{kind}.npz"


def shard(index: int) -> str:
    return f"{SHARDS_PREFIX}/shard-{index:06d}.tar"


def corpus_batches(keys: list[str]) -> list[str]:
    """Batches that have a RealSyn corpus, from a listing of ``CORPUS_PREFIX``; sorted, so runs are repeatable."""
    found = {key.split("/")[2] for key in keys if key.endswith("/sentences.parquet") and key.count("/") == 3}
    return sorted(found)


def batch_prefixes(batch: str, embedding_keys: list[str]) -> list[str]:
    """This batch's RealSyn corpus and its cached embeddings (under every encoder found in ``embedding_keys``,
    a listing of ``realsyn/embeddings``). The corpus-wide index, pairs and sample drop the batch when they
    are next rebuilt."""
    encoders = sorted({key.split("/")[2] for key in embedding_keys if key.count("/") == 4})
    return [f"{CORPUS_PREFIX}/{check_name(batch)}", *(f"{EMBEDDINGS_PREFIX}/{encoder}/{batch}" for encoder in encoders)]
