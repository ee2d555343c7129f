"""Stage `realsyn` (arXiv 2502.12513): mine image-text pairs from the parsed documents.

``realsyn_corpus`` is partitioned by batch like the PIN stages: extraction and dedup are per document, and a
new batch should not re-read old ones. The sentence index (``realsyn_index``) is versioned centroids plus
one shard per batch, and pairs are retrieved per batch across every shard, so a new batch costs its own
encoding, shard and retrieval. ``balanced_samples`` is global by definition (it balances across all
images) and reads the batches' pairs in two streaming passes. Embeddings are cached per batch.

Corpus-wide dedup: the hash columns of every materialized batch's corpus files (``text_hash``, ``phash``)
are the index. A batch drops sentences and images already kept by any *other* batch, then removes
near-duplicates inside itself (union-find). Whichever batch is materialized first keeps a shared item, and
re-materializing it later keeps it again (the other batch no longer holds it), so the result is stable
under any order of runs, provided two batches' corpora are not materialized at the same moment: the asset
runs in the ``realsyn_corpus`` pool; give that pool a limit of 1 in the instance's concurrency settings.
"""


import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from PIL import Image
from pydantic import Field

from pin_assets import layout
from pin_assets import realsyn_layout as rl
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.assets.realsyn_index import image_text_pairs, text_centroids, text_index
from pin_assets.assets.realsyn_io import (
    PREVIEW_ROWS,
    batch_images,
    corpus_batches,
    md_table,
    read_table,
    write_table,
)
from pin_assets.core.realsyn import retrieval
from pin_assets.core.realsyn.balance import StreamingCapSampler, cap_for_target
from pin_assets.core.realsyn.charts import distribution_report, size_stats
from pin_assets.core.realsyn.corpus import CorpusBuilder, CorpusConfig
from pin_assets.core.realsyn.filters import ImageFilter, SentenceFilter
from pin_assets.core.realsyn.schemas import IMAGES, SENTENCES, balanced_schema
from pin_assets.core.realsyn.shards import flat_index, nearest, sample_positions
from pin_assets.core.realsyn.webdataset_writer import write_shards
from pin_assets.core.tables import RowGroupWriter, iter_rows
from pin_assets.metadata import readable
from pin_assets.partitions import batches
from resources.embeddings import EmbeddingResource, Encoder
from resources.llm import LLMResource
from resources.storage import StorageResource

GROUP = "realsyn"


class RealSynCorpusConfig(Config):
    """Extraction filters (RealSyn §3.1 defaults)."""

    min_side: int = Field(default=100, ge=1, le=100_000,
                          description="Images whose shorter side is below this (px) are dropped.")
    max_aspect: float = Field(default=3.0, ge=1, le=1000, allow_inf_nan=False,
                              description="Images longer than this ratio (long/short side) are dropped.")
    min_words: int = Field(default=3, ge=1, le=10_000, description="Shortest sentence kept, in words.")
    max_words: int = Field(default=81, ge=1, le=10_000, description="Longest sentence kept, in words.")
    min_entropy: float = Field(default=0.3, ge=0, le=100, allow_inf_nan=False,
                               description="Lowest word entropy (nats) of a kept sentence.")
    phash_threshold: int = Field(default=4, ge=0, le=64,
                                 description="Images within this many phash bits are duplicates.")
    context_sentences: int = Field(default=2, ge=0, le=1000,
                                   description="Sentences kept as context on each side of an image.")


class BalancedSamplesConfig(Config):
    target_size: int = Field(default=1_000_000, ge=1, le=10**12, description="Images wanted after balancing (at most).")
    sample_size: int = Field(default=200_000, ge=1, le=10**9,
                             description="Images drawn across batches to train the clusters on.")
    n_clusters: int = Field(default=0, ge=0, le=10**6,
                            description="Image k-means clusters; 0 = about clusters_per_sqrt * sqrt(N).")
    clusters_per_sqrt: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False,
                                     description="Scale of the automatic cluster count.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1,
                      description="Seed of k-means and of the sampling: same seed, same sample.")
    shard_max_samples: int = Field(default=1000, ge=1, le=10**7, description="Samples per WebDataset shard.")
    shard_max_bytes: int = Field(default=1 << 30, ge=2**16, le=2**40,
                                 description="Largest shard before starting the next one.")


def _other_batch_hashes(storage: StorageResource, batch: str) -> tuple[np.ndarray, list[int]]:
    """Sentence and image hashes kept by every other materialized batch: the corpus-wide dedup index."""
    texts: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    images: list[int] = []
    for other in corpus_batches(storage):
        if other == batch:
            continue
        texts.append(read_table(storage, rl.corpus_sentences(other), ["text_hash"]).column(0).to_numpy())
        images += read_table(storage, rl.corpus_images(other), ["phash"]).column(0).to_pylist()
    return np.concatenate(texts), images


@asset(
    group_name=GROUP,
    partitions_def=batches,
    deps=["parsed_markdown"],
    description="Filtered, deduplicated sentences and images of one batch, with document, offsets and neighbours.",
    kinds={"parquet"},
    automation_condition=AFTER_UPSTREAM,
    pool="realsyn_corpus",
)
def realsyn_corpus(
    context: AssetExecutionContext, config: RealSynCorpusConfig, storage: StorageResource
) -> MaterializeResult:
    batch = context.partition_key
    settings = CorpusConfig(
        images=ImageFilter(config.min_side, config.max_aspect),
        sentences=SentenceFilter(config.min_words, config.max_words, config.min_entropy),
        phash_threshold=config.phash_threshold,
        context_sentences=config.context_sentences,
    )
    seen_text, seen_images = _other_batch_hashes(storage, batch)
    builder = CorpusBuilder(
        batch, settings, lambda name: storage.get_bytes(layout.image(name)), seen_text=seen_text,
        seen_images=seen_images,
    )
    preview: list[dict[str, Any]] = []
    with storage.staged_file(rl.corpus_sentences(batch), ".parquet") as path, RowGroupWriter(path, SENTENCES) as out:
        for doc in iter_rows(storage.open_input(layout.markdown(batch)), ["doc_id", "markdown", "images"]):
            for row in builder.add_document(doc["doc_id"], doc["markdown"], doc["images"]):
                out.add(row)
                if len(preview) < PREVIEW_ROWS:
                    preview.append(row)
        images = builder.finish_images()
        write_table(storage, rl.corpus_images(batch), pa.Table.from_pylist(images, schema=IMAGES))
    counts = dict(sorted(builder.counts.items()))
    dropped = {k: v for k, v in counts.items() if k.startswith(("image_", "sentence_")) and "candidates" not in k}
    return MaterializeResult(
        metadata={
            **{k: MetadataValue.int(v) for k, v in counts.items()},
            "dropped_by_filter": MetadataValue.md(md_table(
                [{"filter": k, "dropped": v} for k, v in dropped.items()] or [{"filter": "(none)", "dropped": 0}],
                ["filter", "dropped"])),
            "other_batches_in_dedup_index": len(corpus_batches(storage)) - 1,
            "image_dedup": f"phash 64-bit (imagehash.phash, 8x8 DCT), Hamming <= {config.phash_threshold}, union-find",
            "sentence_dedup": "BLAKE2b-64 of lower-cased text without punctuation or extra spaces",
            "sentences_path": MetadataValue.path(storage.uri(rl.corpus_sentences(batch))),
            "images_path": MetadataValue.path(storage.uri(rl.corpus_images(batch))),
            "preview_sentences": MetadataValue.md(md_table(preview, ["sentence_id", "text", "prev_sentence_id"])),
            "preview_images": MetadataValue.md(md_table(
                images[:PREVIEW_ROWS], ["image_id", "name", "width", "height", "caption", "context_after"])),
        }
    )


def _shard_files(storage: StorageResource, row: dict[str, Any], k: int) -> dict[str, bytes]:
    """A WebDataset sample: the image as ``jpg``/``png`` (others re-encoded to PNG), JSON record, caption text."""
    data = storage.get_bytes(row["image"])
    suffix = PurePosixPath(row["image"]).suffix.lower().lstrip(".")
    if suffix in ("jpg", "jpeg"):
        ext = "jpg"
    elif suffix == "png":
        ext = "png"
    else:
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(buffer, "PNG")
        ext, data = "png", buffer.getvalue()
    record = {key: row[key] for key in ("image_id", "image", "batch", "doc_id", "caption", "syn_text", "cluster")}
    record.update({f"text{r}": row[f"text{r}"] for r in range(1, k + 1)})
    record.update({f"score{r}": row[f"score{r}"] for r in range(1, k + 1)})
    caption = row["syn_text"] or row["text1"]
    return {ext: data, "json": json.dumps(record, ensure_ascii=False).encode(), "txt": caption.encode()}


def pairs_batches(storage: StorageResource) -> list[str]:
    """Batches with retrieved pairs, sorted (the order both balance passes read them in)."""
    return rl.batches_with(list(storage.list_keys(rl.PAIRS_PREFIX)), rl.PAIRS_PREFIX, "pairs.parquet")


def _top_k(storage: StorageResource, batch: str) -> int:
    """How many texts per image the pairs hold (``text1..k`` columns)."""
    names = pq.read_schema(storage.open_input(rl.pairs(batch))).names
    return sum(1 for name in names if re.fullmatch(r"text\d+", name))


def _pairs_and_vectors(
    storage: StorageResource, encoder: Encoder, batch: str
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One batch's pairs and their images' embeddings (from the per-batch cache), row for row."""
    pairs = read_table(storage, rl.pairs(batch)).to_pylist()
    rows, vectors, _ = batch_images(storage, encoder, batch)
    position = {row["image_id"]: i for i, row in enumerate(rows)}
    return pairs, vectors[[position[p["image_id"]] for p in pairs]] if pairs else vectors[:0]


@asset(
    group_name=GROUP,
    deps=[image_text_pairs],
    description="Semantically balanced sample (MetaCLIP-style cap per image cluster) as Parquet and WebDataset, "
    "in two streaming passes over the batches' pairs.",
    kinds={"parquet", "webdataset"},
)
def balanced_samples(
    context: AssetExecutionContext, config: BalancedSamplesConfig, storage: StorageResource,
    embeddings: EmbeddingResource, llm: LLMResource,
) -> MaterializeResult:
    encoder = embeddings.get()
    names = pairs_batches(storage)
    sizes = {b: read_table(storage, rl.pairs(b), ["image_id"]).num_rows for b in names}
    total = sum(sizes.values())
    if total == 0:
        raise Failure("no image-text pairs: materialize image_text_pairs over a corpus with images first")
    k = _top_k(storage, names[0])

    # Image clusters: k-means on a bounded sample drawn across batches (all images while they fit).
    picks = sample_positions(sizes, config.sample_size, seed=config.seed)
    sample = np.concatenate([_pairs_and_vectors(storage, encoder, b)[1][picks[b]] for b in names])
    n_clusters = retrieval.auto_clusters(total, config.n_clusters, config.clusters_per_sqrt)
    centres, _ = retrieval.kmeans(sample, min(n_clusters, len(sample)), seed=config.seed)
    del sample
    centre_index = flat_index(centres)

    # Pass 1: cluster sizes. Pass 2: the capped sample, a batch at a time.
    before = np.zeros(len(centres), dtype=np.int64)
    for batch in names:
        before += np.bincount(nearest(centre_index, _pairs_and_vectors(storage, encoder, batch)[1]),
                              minlength=len(centres))
    cap = cap_for_target(before.tolist(), config.target_size)
    sampler = StreamingCapSampler(before, cap, config.seed)
    after = np.zeros(len(centres), dtype=np.int64)
    chosen: list[dict[str, Any]] = []  # the output sample (at most target_size rows), never the corpus
    for batch in names:
        pairs, vectors = _pairs_and_vectors(storage, encoder, batch)
        labels = nearest(centre_index, vectors)
        keep = sampler.select(labels)
        after += np.bincount(labels[keep], minlength=len(centres))
        picked = [{**pairs[i], "cluster": int(labels[i])} for i in keep]
        for row, syn in zip(picked, llm.complete_many([(r["text1"], r["caption"]) for r in picked]), strict=True):
            row["syn_text"] = syn
        chosen += picked

    def samples() -> Iterator[tuple[str, dict[str, bytes]]]:
        for row in chosen:
            yield row["image_id"], _shard_files(storage, row, k)

    with tempfile.TemporaryDirectory(prefix="pin-wds-") as tmp:
        placed = write_shards(
            samples(), Path(tmp), lambda i, path: storage.put_file(rl.shard(i), path),
            max_samples=config.shard_max_samples, max_bytes=config.shard_max_bytes,
        )
    shard_count = max(placed) + 1 if placed else 0
    for key in list(storage.list_keys(rl.SHARDS_PREFIX)):
        if key not in {rl.shard(i) for i in range(shard_count)}:
            storage.delete_prefix(key)  # shards left by an earlier, larger sample
    for row, shard in zip(chosen, placed, strict=True):
        row["shard"] = PurePosixPath(rl.shard(shard)).name
    write_table(storage, rl.BALANCED, pa.Table.from_pylist(chosen, schema=balanced_schema(k)))
    report = distribution_report({"before": before, "after": after})
    return MaterializeResult(
        metadata={
            "images_before": total,
            "images_after": len(chosen),
            "target_size": config.target_size,
            "cap": cap,
            "clusters": len(centres),
            "cluster_sample": int(sum(len(p) for p in picks.values())),
            "batches": len(names),
            "seed": config.seed,
            "max_cluster_before": int(before.max()),
            "max_cluster_after": int(after.max()),
            "max_over_median_before": readable(size_stats(before)["max_over_median"]),
            "max_over_median_after": readable(size_stats(after)["max_over_median"]),
            "cluster_sizes": MetadataValue.md(report),
            "syn_text": f"written by {llm.model} at {llm.base_url}" if llm.enabled
            else "disabled (llm.enabled is false): syn_text is empty",
            "shards": shard_count,
            "parquet_path": MetadataValue.path(storage.uri(rl.BALANCED)),
            "shards_path": MetadataValue.path(storage.uri(rl.SHARDS_PREFIX)),
            "preview": MetadataValue.md(md_table(chosen[:PREVIEW_ROWS], ["image_id", "cluster", "text1", "syn_text"])),
        }
    )


REALSYN_ASSETS = [realsyn_corpus, text_centroids, text_index, image_text_pairs, balanced_samples]
