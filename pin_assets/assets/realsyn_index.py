"""RealSyn's sentence index at corpus scale: versioned centroids, one shard per batch, streaming retrieval.

``text_centroids`` trains k-means centres once, on a bounded sample of sentences drawn across every
batch, and stores them as a numbered version; it keeps the current version unless ``retrain`` is set, so
a new batch never re-clusters the corpus. ``text_index`` (per batch) puts that batch's sentence vectors in
the current centres' lists and writes them as the batch's shard. ``image_text_pairs`` (per batch) assigns
the batch's images to their nearest centres once and visits the shards one at a time, merging each
image's top k: memory is the centres, one shard and one batch of images, whatever the corpus size.

Every shard and every pair names the centroid version it was built with. After a retrain, shards of the
old version are skipped by retrieval (and listed in its metadata) until their batch's ``text_index`` is
materialized again.
"""

import time
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field

from pin_assets import layout
from pin_assets import realsyn_layout as rl
from pin_assets.assets.realsyn_io import (
    PREVIEW_ROWS,
    batch_images,
    batch_sentences,
    corpus_batches,
    md_table,
    read_json,
    read_table,
    write_json,
    write_table,
)
from pin_assets.core.realsyn import retrieval, shards
from pin_assets.core.realsyn.charts import distribution_report
from pin_assets.core.realsyn.schemas import INDEX_ROWS, pairs_schema
from pin_assets.metadata import readable
from pin_assets.partitions import batches
from resources.embeddings import EmbeddingResource, Encoder
from resources.storage import StorageResource

GROUP = "realsyn"


class TextCentroidsConfig(Config):
    sample_size: int = Field(default=200_000, ge=1, le=10**9,
                             description="Sentences drawn across all batches to train on.")
    n_clusters: int = Field(default=0, ge=0, le=10**6,
                            description="k-means clusters; 0 = about clusters_per_sqrt * sqrt(sample).")
    clusters_per_sqrt: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False,
                                     description="Scale of the automatic cluster count.")
    codec: Literal["fp16", "pq"] = Field(default="fp16",
                                         description="How shards store vectors: 'fp16' (768 B each at 384 dims, "
                       "near-exact scores) or 'pq' (pq_m bytes each, lower recall); see bench/RESULTS.md.")
    pq_m: int = Field(default=48, ge=1, le=4096,
                      description="Bytes per vector with the 'pq' codec (must divide the dimension).")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed of the sample and of k-means.")
    retrain: bool = Field(default=False, description="Train a new version even if one exists. Shards of older "
                          "versions are skipped by retrieval until their batch's text_index is re-materialized.")


class ImageTextPairsConfig(Config):
    top_k: int = Field(default=3, ge=1, le=100, description="Texts kept per image.")
    nprobe: int = Field(default=8, ge=1, le=10**6, description="Clusters searched per image (nearest centres first).")
    recall_queries: int = Field(default=1000, ge=0, le=10**7,
                                description="Images checked against exact search (0 = none).")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed of the recall sample.")


def current_version(storage: StorageResource) -> dict[str, Any] | None:
    """The current centroid version's record, or None before the first training."""
    return read_json(storage, rl.CURRENT_CENTROIDS) if storage.exists(rl.CURRENT_CENTROIDS) else None


def load_template(storage: StorageResource, encoder: Encoder) -> tuple[str, Any]:
    """The current version's name and template; a clear failure when there is none or the encoder changed."""
    current = current_version(storage)
    if current is None:
        raise Failure("no text centroids yet: materialize text_centroids first")
    if current["encoder"] != encoder.name:
        raise Failure(f"centroids {current['version']} were trained on {current['encoder']!r} vectors, the encoder "
                      f"is now {encoder.name!r}: materialize text_centroids with retrain=true")
    return current["version"], shards.deserialize(storage.get_bytes(rl.centroid_template(current["version"])))


@asset(
    group_name=GROUP,
    deps=["realsyn_corpus"],
    description="k-means centres of a bounded sentence sample across batches, as a versioned IVF template; "
    "kept as is unless retrain is set.",
    kinds={"faiss"},
)
def text_centroids(
    context: AssetExecutionContext, config: TextCentroidsConfig, storage: StorageResource,
    embeddings: EmbeddingResource,
) -> MaterializeResult:
    current = current_version(storage)
    if current is not None and not config.retrain:
        context.log.info(f"keeping centroid version {current['version']} (set retrain to train a new one)")
        return MaterializeResult(metadata={
            "version": current["version"], "retrained": False, "clusters": current["clusters"],
            "sample": current["sample"], "codec": current["codec"], "trained_at": current["trained_at"],
        })
    encoder = embeddings.get()
    names = corpus_batches(storage)
    sizes = {b: read_table(storage, rl.corpus_sentences(b), ["sentence_id"]).num_rows for b in names}
    if sum(sizes.values()) == 0:
        raise Failure("no sentences in any batch: materialize realsyn_corpus for at least one batch first")
    picks = shards.sample_positions(sizes, config.sample_size, seed=config.seed)
    parts, encoded = [np.zeros((0, encoder.dim), dtype=np.float32)], 0
    for batch in names:  # one batch's vectors in memory at a time; only the sampled rows kept
        _, vectors, fresh = batch_sentences(storage, encoder, batch)
        encoded += fresh
        parts.append(vectors[picks[batch]])
        del vectors
    sample = np.concatenate(parts)
    n_clusters = retrieval.auto_clusters(len(sample), config.n_clusters, config.clusters_per_sqrt)
    started = time.perf_counter()
    template = shards.train_template(sample, n_clusters, config.codec, config.pq_m, config.seed)
    train_s = time.perf_counter() - started
    number = shards.version_number(current["version"]) + 1 if current else 1
    version = shards.version_name(number)
    record = {
        "version": version, "clusters": int(template.nlist), "sample": len(sample), "corpus": sum(sizes.values()),
        "batches": len(names), "codec": config.codec, "pq_m": config.pq_m if config.codec == "pq" else None,
        "seed": config.seed, "encoder": encoder.name, "dim": encoder.dim,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    storage.put_bytes(rl.centroid_template(version), shards.serialize(template))
    write_json(storage, rl.centroid_meta(version), record)
    write_json(storage, rl.CURRENT_CENTROIDS, record)  # last: a version is current only once fully written
    return MaterializeResult(metadata={
        "version": version, "retrained": current is not None, "previous_version": current["version"] if current else "",
        "clusters": int(template.nlist), "sample": len(sample), "corpus_sentences": sum(sizes.values()),
        "codec": config.codec, "encoder": encoder.name, "sentences_encoded_now": encoded,
        "train_s": readable(train_s), "trained_at": record["trained_at"],
        "template_path": MetadataValue.path(storage.uri(rl.centroid_template(version))),
    })


@asset(
    group_name=GROUP,
    partitions_def=batches,
    deps=["realsyn_corpus", text_centroids],
    description="The batch's sentence vectors in the current centroids' lists: one index shard per batch.",
    kinds={"faiss", "parquet"},
)
def text_index(
    context: AssetExecutionContext, storage: StorageResource, embeddings: EmbeddingResource
) -> MaterializeResult:
    batch = context.partition_key
    encoder = embeddings.get()
    version, template = load_template(storage, encoder)
    if not storage.exists(rl.corpus_sentences(batch)):
        raise Failure(f"no RealSyn corpus for batch {batch!r}: materialize realsyn_corpus for it first")
    started = time.perf_counter()
    table, vectors, encoded = batch_sentences(storage, encoder, batch)
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    shard = shards.build_shard(template, vectors)
    data = shards.serialize(shard)
    build_s = time.perf_counter() - started
    storage.put_bytes(rl.index_shard(batch), data)
    write_table(storage, rl.index_rows(batch), pa.Table.from_arrays(
        [pa.array(np.arange(table.num_rows, dtype=np.int64)),
         *(table.column(n) for n in ("sentence_id", "batch", "doc_id", "text"))], schema=INDEX_ROWS,
    ))
    codec = read_json(storage, rl.centroid_meta(version))["codec"]
    write_json(storage, rl.index_meta(batch), {"centroid_version": version, "codec": codec,
                                               "sentences": table.num_rows, "bytes": len(data)})
    sizes = shards.list_sizes(shard)
    return MaterializeResult(metadata={
        "centroid_version": version,
        "sentences": table.num_rows,
        "clusters": int(shard.nlist),
        "codec": codec,
        "shard_bytes": len(data),
        "bytes_per_sentence": readable(len(data) / table.num_rows if table.num_rows else 0.0),
        "encoder": encoder.name,
        "sentences_encoded_now": encoded,
        "sentences_per_s": readable(encoded / encode_s if encoded and encode_s else 0.0),
        "assign_s": readable(build_s),
        "cluster_sizes": MetadataValue.md(distribution_report({"sentences per cluster": sizes})),
        "shard_path": MetadataValue.path(storage.uri(rl.index_shard(batch))),
    })


def indexed_batches(storage: StorageResource, version: str) -> tuple[list[str], list[str]]:
    """Batches whose shard was built with ``version``, and those built with another (stale) version."""
    current, stale = [], []
    for batch in rl.batches_with(list(storage.list_keys(rl.TEXT_INDEX_PREFIX)), rl.TEXT_INDEX_PREFIX, "shard.json"):
        (current if read_json(storage, rl.index_meta(batch))["centroid_version"] == version else stale).append(batch)
    return current, stale


def _texts_of_hits(storage: StorageResource, names: list[str], best: shards.TopK) -> dict[tuple[int, int], dict]:
    """(shard number, row) -> sentence row, for the hits only: each shard's row table read once, in turn."""
    found: dict[tuple[int, int], dict] = {}
    for number, batch in enumerate(names):
        wanted = np.unique(best.rows[best.shards == number])
        if len(wanted) == 0:
            continue
        table = read_table(storage, rl.index_rows(batch), ["row", "sentence_id", "text"])
        rows = table.take(pa.array(wanted)).to_pylist()
        found.update({(number, int(r["row"])): r for r in rows})
    return found


def _exact_top_k(storage: StorageResource, encoder: Encoder, names: list[str], queries: np.ndarray, k: int
                 ) -> shards.TopK:
    """Brute-force top k over every indexed batch's float32 vectors, one batch at a time (ground truth)."""
    best = shards.TopK(len(queries), k)
    for number, batch in enumerate(names):
        _, vectors, _ = batch_sentences(storage, encoder, batch)
        scores, rows = retrieval.exact_search(vectors, queries, min(k, max(1, len(vectors))))
        if scores.shape[1] < k:
            pad = k - scores.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
        best.add(number, scores, rows)
    return best


@asset(
    group_name=GROUP,
    partitions_def=batches,
    deps=[text_index, "realsyn_corpus"],
    description="Top-k real sentences per image of the batch, searched across every shard of the current "
    "centroid version (streaming), with recall against exact search.",
    kinds={"faiss", "parquet"},
)
def image_text_pairs(
    context: AssetExecutionContext, config: ImageTextPairsConfig, storage: StorageResource,
    embeddings: EmbeddingResource,
) -> MaterializeResult:
    batch = context.partition_key
    encoder = embeddings.get()
    version, template = load_template(storage, encoder)
    names, stale = indexed_batches(storage, version)
    if stale:
        context.log.warning(f"{len(stale)} shard(s) built with older centroids are skipped until their "
                            f"text_index is re-materialized: {', '.join(stale[:10])}")
    if not names:
        raise Failure(f"no text_index shard of centroid version {version}: materialize text_index first")
    images, queries, encoded = batch_images(storage, encoder, batch)
    k = config.top_k
    started = time.perf_counter()
    loaded = (shards.deserialize(storage.get_bytes(rl.index_shard(name))) for name in names)
    best = shards.search_shards(template, loaded, queries, k, config.nprobe)
    search_s = time.perf_counter() - started
    hits = _texts_of_hits(storage, names, best)
    pairs = []
    for i, row in enumerate(images):
        pair = {
            "image_id": row["image_id"], "batch": row["batch"], "doc_id": row["doc_id"],
            "image": layout.image(row["name"]), "width": row["width"], "height": row["height"],
            "caption": row["caption"], "centroid_version": version,
        }
        for rank in range(k):
            hit = hits.get((int(best.shards[i, rank]), int(best.rows[i, rank]))) if best.rows[i, rank] >= 0 else None
            pair[f"text{rank + 1}"] = hit["text"] if hit else ""
            pair[f"score{rank + 1}"] = float(best.scores[i, rank]) if hit else float("nan")
            pair[f"sentence_id{rank + 1}"] = hit["sentence_id"] if hit else None
        pairs.append(pair)
    write_table(storage, rl.pairs(batch), pa.Table.from_pylist(pairs, schema=pairs_schema(k)))

    sample = np.sort(np.random.default_rng(config.seed).permutation(len(queries))[: config.recall_queries])
    recall = float("nan")
    if len(sample):
        exact = _exact_top_k(storage, encoder, names, queries[sample], k)
        recall = retrieval.recall_at_k(best.keys()[sample], exact.keys())
    return MaterializeResult(metadata={
        "images": len(images),
        "centroid_version": version,
        "shards_searched": len(names),
        "stale_shards_skipped": len(stale),
        "images_encoded_now": encoded,
        "encoder": encoder.name,
        "nprobe": config.nprobe,
        "clusters": int(template.nlist),
        f"recall_at_{k}": readable(recall),
        "recall_queries": len(sample),
        "search_s": readable(search_s),
        "path": MetadataValue.path(storage.uri(rl.pairs(batch))),
        "preview": MetadataValue.md(md_table(pairs[:PREVIEW_ROWS], ["image_id", "caption", "text1", "score1"])),
    })
