"""Stage `realsyn` (arXiv 2502.12513): mine image-text pairs from the parsed documents.

``realsyn_corpus`` is partitioned by batch like the PIN stages: extraction and dedup are per document, and a
new batch should not re-read old ones. The three downstream assets are *not* partitioned: k-means over all
sentences, retrieval over the whole corpus and balancing across all images are global by definition, and
per-batch results would cluster and balance each drop separately. They stay cheap to refresh because
embeddings are cached per batch (only a new batch is encoded).

Corpus-wide dedup: the hash columns of every materialized batch's corpus files (``text_hash``, ``phash``)
are the index. A batch drops sentences and images already kept by any *other* batch, then removes
near-duplicates inside itself (union-find). Whichever batch is materialized first keeps a shared item, and
re-materializing it later keeps it again (the other batch no longer holds it), so the result is stable
under any order of runs, provided two batches' corpora are not materialized at the same moment: the asset
runs in the ``realsyn_corpus`` pool; give that pool a limit of 1 in the instance's concurrency settings.
"""


import io
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AutomationCondition,
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
from pin_assets.assets.realsyn_io import cached_embeddings, corpus_batches, read_table, write_table
from pin_assets.core.realsyn import retrieval
from pin_assets.core.realsyn.balance import balanced_sample, cap_for_target, cluster_sizes
from pin_assets.core.realsyn.charts import distribution_report, size_stats
from pin_assets.core.realsyn.corpus import CorpusBuilder, CorpusConfig
from pin_assets.core.realsyn.filters import ImageFilter, SentenceFilter
from pin_assets.core.realsyn.schemas import IMAGES, INDEX_ROWS, SENTENCES, balanced_schema, pairs_schema
from pin_assets.core.realsyn.webdataset_writer import write_shards
from pin_assets.core.tables import RowGroupWriter, iter_rows
from pin_assets.partitions import batches
from resources.embeddings import EmbeddingResource, Encoder, ImageInput
from resources.llm import LLMResource
from resources.storage import StorageResource

GROUP = "realsyn"
IMAGE_CHUNK = 256
PREVIEW_ROWS = 5


class RealSynCorpusConfig(Config):
    """Extraction filters (RealSyn §3.1 defaults)."""

    min_side: int = Field(default=100, description="Images whose shorter side is below this (px) are dropped.")
    max_aspect: float = Field(default=3.0, description="Images longer than this ratio (long/short side) are dropped.")
    min_words: int = Field(default=3, description="Shortest sentence kept, in words.")
    max_words: int = Field(default=81, description="Longest sentence kept, in words.")
    min_entropy: float = Field(default=0.3, description="Lowest word entropy (nats) of a kept sentence.")
    phash_threshold: int = Field(default=4, description="Images within this many phash bits are duplicates.")
    context_sentences: int = Field(default=2, description="Sentences kept as context on each side of an image.")


class TextIndexConfig(Config):
    n_clusters: int = Field(default=0, description="k-means clusters; 0 = about clusters_per_sqrt * sqrt(N).")
    clusters_per_sqrt: float = Field(default=1.0, description="Scale of the automatic cluster count.")
    seed: int = Field(default=0, description="k-means seed.")


class ImageTextPairsConfig(Config):
    top_k: int = Field(default=3, description="Texts kept per image.")
    nprobe: int = Field(default=8, description="Clusters searched per image (nearest centres first).")
    recall_queries: int = Field(default=1000, description="Images checked against brute-force search.")
    seed: int = Field(default=0, description="Seed of the recall sample.")


class BalancedSamplesConfig(Config):
    target_size: int = Field(default=1_000_000, description="Images wanted after balancing (at most).")
    n_clusters: int = Field(default=0, description="Image k-means clusters; 0 = about clusters_per_sqrt * sqrt(N).")
    clusters_per_sqrt: float = Field(default=1.0, description="Scale of the automatic cluster count.")
    seed: int = Field(default=0, description="Seed of k-means and of the sampling: same seed, same sample.")
    shard_max_samples: int = Field(default=1000, description="Samples per WebDataset shard.")
    shard_max_bytes: int = Field(default=1 << 30, description="Largest shard before starting the next one.")


def _md_table(rows: list[dict[str, Any]], columns: list[str], width: int = 80) -> str:
    """A small Markdown preview table; cells shortened and pipes escaped."""
    def cell(value: Any) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value if value is not None else "")
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


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
    automation_condition=AutomationCondition.eager(),
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
            "dropped_by_filter": MetadataValue.md(_md_table(
                [{"filter": k, "dropped": v} for k, v in dropped.items()] or [{"filter": "(none)", "dropped": 0}],
                ["filter", "dropped"])),
            "other_batches_in_dedup_index": len(corpus_batches(storage)) - 1,
            "image_dedup": f"phash 64-bit (imagehash.phash, 8x8 DCT), Hamming <= {config.phash_threshold}, union-find",
            "sentence_dedup": "BLAKE2b-64 of lower-cased text without punctuation or extra spaces",
            "sentences_path": MetadataValue.path(storage.uri(rl.corpus_sentences(batch))),
            "images_path": MetadataValue.path(storage.uri(rl.corpus_images(batch))),
            "preview_sentences": MetadataValue.md(_md_table(preview, ["sentence_id", "text", "prev_sentence_id"])),
            "preview_images": MetadataValue.md(_md_table(
                images[:PREVIEW_ROWS], ["image_id", "name", "width", "height", "caption", "context_after"])),
        }
    )


def _image_inputs(storage: StorageResource, rows: list[dict[str, Any]]) -> list[ImageInput]:
    return [
        ImageInput(storage.get_bytes(layout.image(r["name"])), r["caption"] or "",
                   " ".join(t for t in (r["context_before"], r["context_after"]) if t))
        for r in rows
    ]


def _encode_images(storage: StorageResource, encoder: Encoder, rows: list[dict[str, Any]]) -> np.ndarray:
    """Encode in chunks so only ``IMAGE_CHUNK`` images' bytes are in memory at once."""
    chunks = [np.zeros((0, encoder.dim), dtype=np.float32)]
    for start in range(0, len(rows), IMAGE_CHUNK):
        chunks.append(encoder.encode_images(_image_inputs(storage, rows[start:start + IMAGE_CHUNK])))
    return np.concatenate(chunks)


def _all_images(storage: StorageResource, encoder: Encoder) -> tuple[list[dict[str, Any]], np.ndarray, int]:
    """Every corpus image row, its embedding (cached per batch), and how many were encoded in this call."""
    rows: list[dict[str, Any]] = []
    vectors = [np.zeros((0, encoder.dim), dtype=np.float32)]
    encoded = 0
    for batch in corpus_batches(storage):
        batch_rows = read_table(storage, rl.corpus_images(batch)).to_pylist()
        found, hit = cached_embeddings(
            storage, encoder, batch, "images", [r["image_id"] for r in batch_rows],
            lambda rows_=batch_rows: _encode_images(storage, encoder, rows_),
        )
        encoded += 0 if hit else len(batch_rows)
        rows += batch_rows
        vectors.append(found)
    return rows, np.concatenate(vectors), encoded


@asset(
    group_name=GROUP,
    deps=[realsyn_corpus],
    description="k-means (faiss) over every sentence embedding: an IVF index whose lists are the clusters.",
    kinds={"faiss", "parquet"},
)
def text_index(
    context: AssetExecutionContext, config: TextIndexConfig, storage: StorageResource,
    embeddings: EmbeddingResource,
) -> MaterializeResult:
    encoder = embeddings.get()
    tables, vectors = [], []
    encoded, encode_s = 0, 0.0
    for batch in corpus_batches(storage):
        table = read_table(storage, rl.corpus_sentences(batch), ["sentence_id", "batch", "doc_id", "text"])
        started = time.perf_counter()
        found, hit = cached_embeddings(
            storage, encoder, batch, "sentences", table.column("sentence_id").to_pylist(),
            lambda t=table: encoder.encode_texts(t.column("text").to_pylist()),
        )
        if not hit:
            encoded += table.num_rows
            encode_s += time.perf_counter() - started
        tables.append(table)
        vectors.append(found)
    if not tables or sum(t.num_rows for t in tables) == 0:
        raise Failure("no sentences in any batch: materialize realsyn_corpus for at least one batch first")
    x = np.concatenate(vectors)
    n_clusters = retrieval.auto_clusters(len(x), config.n_clusters, config.clusters_per_sqrt)
    started = time.perf_counter()
    index = retrieval.build_ivf(x, n_clusters, seed=config.seed)
    build_s = time.perf_counter() - started
    storage.put_bytes(rl.TEXT_INDEX, retrieval.serialize(index))
    rows = pa.concat_tables(tables)
    write_table(storage, rl.TEXT_INDEX_ROWS, pa.Table.from_arrays(
        [pa.array(np.arange(rows.num_rows)), *(rows.column(n) for n in ("sentence_id", "batch", "doc_id", "text"))],
        schema=INDEX_ROWS,
    ))
    sizes = np.array([index.invlists.list_size(i) for i in range(index.nlist)])
    return MaterializeResult(
        metadata={
            "sentences": len(x),
            "clusters": n_clusters,
            "encoder": encoder.name,
            "dim": encoder.dim,
            "sentences_encoded_now": encoded,
            "sentences_per_s": MetadataValue.float(encoded / encode_s if encode_s else 0.0),
            "kmeans_and_index_s": MetadataValue.float(build_s),
            "cluster_sizes": MetadataValue.md(distribution_report({"sentences per cluster": sizes})),
            "index_path": MetadataValue.path(storage.uri(rl.TEXT_INDEX)),
        }
    )


def _timed_search(fn: Any) -> tuple[np.ndarray, np.ndarray, float]:
    started = time.perf_counter()
    scores, ids = fn()
    return scores, ids, time.perf_counter() - started


@asset(
    group_name=GROUP,
    deps=[text_index, realsyn_corpus],
    description="Top-k real sentences per image by hierarchical retrieval, with recall against brute force.",
    kinds={"faiss", "parquet"},
)
def image_text_pairs(
    context: AssetExecutionContext, config: ImageTextPairsConfig, storage: StorageResource,
    embeddings: EmbeddingResource,
) -> MaterializeResult:
    encoder = embeddings.get()
    index = retrieval.deserialize(storage.get_bytes(rl.TEXT_INDEX))
    sentences = read_table(storage, rl.TEXT_INDEX_ROWS).to_pylist()
    images, queries, encoded = _all_images(storage, encoder)
    k = config.top_k
    scores, ids, search_s = _timed_search(lambda: retrieval.ivf_search(index, queries, k, config.nprobe))
    pairs = []
    for row, row_scores, row_ids in zip(images, scores, ids, strict=True):
        pair = {
            "image_id": row["image_id"], "batch": row["batch"], "doc_id": row["doc_id"],
            "image": layout.image(row["name"]), "width": row["width"], "height": row["height"],
            "caption": row["caption"],
        }
        for rank in range(k):
            hit = sentences[row_ids[rank]] if row_ids[rank] >= 0 else None
            pair[f"text{rank + 1}"] = hit["text"] if hit else ""
            pair[f"score{rank + 1}"] = float(row_scores[rank]) if hit else float("nan")
            pair[f"sentence_id{rank + 1}"] = hit["sentence_id"] if hit else None
        pairs.append(pair)
    write_table(storage, rl.PAIRS, pa.Table.from_pylist(pairs, schema=pairs_schema(k)))

    # Recall and speed against brute force on the same vectors, for a seeded sample of images.
    sample = np.sort(np.random.default_rng(config.seed).permutation(len(queries))[: config.recall_queries])
    ivf = faiss.extract_index_ivf(index)
    ivf.make_direct_map()
    vectors = ivf.reconstruct_n(0, ivf.ntotal)
    _, exact_ids, exact_s = _timed_search(lambda: retrieval.exact_search(vectors, queries[sample], k))
    _, approx_ids, approx_s = _timed_search(lambda: retrieval.ivf_search(index, queries[sample], k, config.nprobe))
    recall = retrieval.recall_at_k(approx_ids, exact_ids)
    return MaterializeResult(
        metadata={
            "images": len(images),
            "sentences_indexed": int(ivf.ntotal),
            "images_encoded_now": encoded,
            "encoder": encoder.name,
            "nprobe": config.nprobe,
            "clusters": int(ivf.nlist),
            f"recall_at_{k}": MetadataValue.float(recall),
            "recall_queries": len(sample),
            "search_s": MetadataValue.float(search_s),
            "speedup_vs_exact": MetadataValue.float(exact_s / approx_s if approx_s else 0.0),
            "path": MetadataValue.path(storage.uri(rl.PAIRS)),
            "preview": MetadataValue.md(_md_table(pairs[:PREVIEW_ROWS], ["image_id", "caption", "text1", "score1"])),
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


def _pair_vectors(storage: StorageResource, encoder: Encoder, pairs: list[dict[str, Any]]) -> np.ndarray:
    rows, vectors, _ = _all_images(storage, encoder)
    position = {row["image_id"]: i for i, row in enumerate(rows)}
    return vectors[[position[p["image_id"]] for p in pairs]] if pairs else vectors[:0]


@asset(
    group_name=GROUP,
    deps=[image_text_pairs],
    description="Semantically balanced sample (MetaCLIP-style cap per image cluster) as Parquet and WebDataset.",
    kinds={"parquet", "webdataset"},
)
def balanced_samples(
    context: AssetExecutionContext, config: BalancedSamplesConfig, storage: StorageResource,
    embeddings: EmbeddingResource, llm: LLMResource,
) -> MaterializeResult:
    pairs = read_table(storage, rl.PAIRS).to_pylist()
    if not pairs:
        raise Failure("no image-text pairs: materialize image_text_pairs over a corpus with images first")
    k = sum(1 for name in pairs[0] if name.startswith("text"))
    vectors = _pair_vectors(storage, embeddings.get(), pairs)
    n_clusters = retrieval.auto_clusters(len(pairs), config.n_clusters, config.clusters_per_sqrt)
    _, labels = retrieval.kmeans(vectors, n_clusters, seed=config.seed)
    before = cluster_sizes(labels, n_clusters)
    cap = cap_for_target(before.tolist(), config.target_size)
    keep = balanced_sample(labels, cap, config.seed)
    after = cluster_sizes(labels[keep], n_clusters)
    chosen = [{**pairs[i], "cluster": int(labels[i])} for i in keep]
    for row, syn in zip(chosen, llm.complete_many([(r["text1"], r["caption"]) for r in chosen]), strict=True):
        row["syn_text"] = syn

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
            "images_before": len(pairs),
            "images_after": len(chosen),
            "target_size": config.target_size,
            "cap": cap,
            "clusters": n_clusters,
            "seed": config.seed,
            "max_cluster_before": int(before.max()),
            "max_cluster_after": int(after.max()),
            "max_over_median_before": MetadataValue.float(size_stats(before)["max_over_median"]),
            "max_over_median_after": MetadataValue.float(size_stats(after)["max_over_median"]),
            "cluster_sizes": MetadataValue.md(report),
            "syn_text": f"written by {llm.model} at {llm.base_url}" if llm.enabled
            else "disabled (llm.enabled is false): syn_text is empty",
            "shards": shard_count,
            "parquet_path": MetadataValue.path(storage.uri(rl.BALANCED)),
            "shards_path": MetadataValue.path(storage.uri(rl.SHARDS_PREFIX)),
            "preview": MetadataValue.md(_md_table(chosen[:PREVIEW_ROWS], ["image_id", "cluster", "text1", "syn_text"])),
        }
    )


REALSYN_ASSETS = [realsyn_corpus, text_index, image_text_pairs, balanced_samples]
