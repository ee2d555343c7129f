"""Storage keys of the RealSyn stage, spelled here and nowhere else (the PIN keys live in ``layout``).

Under the storage base::

    realsyn/corpus/<batch>/sentences.parquet        filtered, deduplicated sentences with lineage
    realsyn/corpus/<batch>/images.parquet           filtered, deduplicated images with lineage
    realsyn/embeddings/<encoder>/<batch>/<kind>.npz cached embeddings (ids + vectors) per batch and encoder
    realsyn/centroids/current.json                  which centroid version shards are built with now
    realsyn/centroids/<version>/template.faiss      an empty trained IVF index: k-means centres (+ codec)
    realsyn/centroids/<version>/meta.json           how that version was trained (sample, clusters, encoder)
    realsyn/text_index/<batch>/shard.faiss          the batch's sentence vectors in the shared centres' lists
    realsyn/text_index/<batch>/sentences.parquet    shard row -> sentence id, batch, document, text
    realsyn/text_index/<batch>/shard.json           the centroid version and codec the shard was built with
    realsyn/pairs/<batch>/pairs.parquet             top-k retrieved texts per image of the batch, with scores
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
CENTROIDS_PREFIX = f"{PREFIX}/centroids"
CURRENT_CENTROIDS = f"{CENTROIDS_PREFIX}/current.json"
TEXT_INDEX_PREFIX = f"{PREFIX}/text_index"
PAIRS_PREFIX = f"{PREFIX}/pairs"
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
    return f"{EMBEDDINGS_PREFIX}/{encoder_slug(encoder_name)}/{check_name(batch)}/{kind}.npz"


def centroid_template(version: str) -> str:
    return f"{CENTROIDS_PREFIX}/{check_name(version, 'centroid version')}/template.faiss"


def centroid_meta(version: str) -> str:
    return f"{CENTROIDS_PREFIX}/{check_name(version, 'centroid version')}/meta.json"


def index_shard(batch: str) -> str:
    return f"{TEXT_INDEX_PREFIX}/{check_name(batch)}/shard.faiss"


def index_rows(batch: str) -> str:
    return f"{TEXT_INDEX_PREFIX}/{check_name(batch)}/sentences.parquet"


def index_meta(batch: str) -> str:
    return f"{TEXT_INDEX_PREFIX}/{check_name(batch)}/shard.json"


def pairs(batch: str) -> str:
    return f"{PAIRS_PREFIX}/{check_name(batch)}/pairs.parquet"


def batches_with(keys: list[str], prefix: str, file_name: str) -> list[str]:
    """Batches under ``prefix`` that hold ``file_name`` (``<prefix>/<batch>/<file_name>``), sorted."""
    depth = prefix.count("/") + 2
    found = {key.split("/")[depth - 1] for key in keys if key.endswith(f"/{file_name}") and key.count("/") == depth}
    return sorted(found)


def shard(index: int) -> str:
    return f"{SHARDS_PREFIX}/shard-{index:06d}.tar"


def corpus_batches(keys: list[str]) -> list[str]:
    """Batches that have a RealSyn corpus, from a listing of ``CORPUS_PREFIX``; sorted, so runs are repeatable."""
    found = {key.split("/")[2] for key in keys if key.endswith("/sentences.parquet") and key.count("/") == 3}
    return sorted(found)


def batch_prefixes(batch: str, embedding_keys: list[str]) -> list[str]:
    """This batch's RealSyn corpus, index shard, pairs and cached embeddings (under every encoder found in
    ``embedding_keys``, a listing of ``realsyn/embeddings``). The balanced sample drops the batch when it is
    next rebuilt; the centroids, trained on a sample across batches, are kept."""
    encoders = sorted({key.split("/")[2] for key in embedding_keys if key.count("/") == 4})
    batch = check_name(batch)
    return [f"{CORPUS_PREFIX}/{batch}", f"{TEXT_INDEX_PREFIX}/{batch}", f"{PAIRS_PREFIX}/{batch}",
            *(f"{EMBEDDINGS_PREFIX}/{encoder}/{batch}" for encoder in encoders)]
