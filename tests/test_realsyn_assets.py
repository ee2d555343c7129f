"""The RealSyn branch materialized on the bundled sample batch, storage in a temp folder."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from dagster import DagsterInstance, Definitions, materialize
from PIL import Image

from pin_assets import layout
from pin_assets import realsyn_layout as rl
from pin_assets.assets import PIN_ASSETS, parsed_markdown, raw_documents
from pin_assets.assets.realsyn import REALSYN_ASSETS, balanced_samples, realsyn_corpus
from pin_assets.assets.realsyn_index import image_text_pairs, text_centroids, text_index
from pin_assets.batches import SAMPLE_SPEC, BatchSpec, register_batch
from pin_assets.core.realsyn import retrieval
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.core.tables import iter_rows
from resources import ProcessingResource, StorageResource, TokenizerResource
from resources.embeddings import EmbeddingResource
from resources.llm import LLMResource
from tests.test_embeddings import _ChatServer


def _embeddings() -> EmbeddingResource:
    """PyTorch, as a GPU would use: the exported CPU runtimes (and their one-off export) are tested in
    tests/test_embeddings.py, and their vectors agree with PyTorch's to cosine >= 0.99."""
    return EmbeddingResource(runtime="torch")


def _metadata(result) -> dict[str, dict]:
    assert result.success
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.event_specific_data.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory):
    """The sample batch's PDFs parsed into a temp store (RealSyn reads only `parsed_markdown`: no renders).

    The PDFs give ~250 sentences and 4 usable images; the bundled JATS articles would add ~1,200 sentences,
    seconds of encoding on an idle 2-core machine but minutes on a shared one.
    """
    store = StorageResource(base_uri=str(tmp_path_factory.mktemp("realsyn") / "store"))
    pdfs = SAMPLE_DIR / "pdf" if (SAMPLE_DIR / "pdf").is_dir() else SAMPLE_DIR
    with DagsterInstance.ephemeral() as instance:
        register_batch(instance, store, BatchSpec("sample", str(pdfs), "sample", SAMPLE_SPEC.license))
        result = materialize(
            [raw_documents, parsed_markdown], partition_key="sample", instance=instance,
            resources={"storage": store, "processing": ProcessingResource(workers=2),
                       "tokenizer": TokenizerResource()},
        )
        assert result.success
        yield instance, store


def test_realsyn_branch_on_the_sample_batch(sample_store) -> None:
    instance, store = sample_store
    resources = {"storage": store, "embeddings": _embeddings(), "llm": LLMResource()}
    corpus = _metadata(materialize([realsyn_corpus], partition_key="sample", instance=instance,
                                   resources=resources))["realsyn_corpus"]
    assert corpus["sentences_kept"] > 100 and corpus["images_kept"] >= 3
    assert corpus["image_too_small"] > 0 and corpus["sentence_duplicate"] > 0
    assert corpus["image_candidates"] == sum(corpus.get(k, 0) for k in (
        "images_kept", "image_too_small", "image_aspect_ratio", "image_unreadable", "image_duplicate",
        "image_duplicate_other_batch"))

    markdown = {r["doc_id"]: r["markdown"] for r in iter_rows(store.open_input(layout.markdown("sample")))}
    sentences = pq.read_table(store.open_input(rl.corpus_sentences("sample"))).to_pylist()
    for row in sentences:
        span = markdown[row["doc_id"]][row["char_start"]:row["char_end"]]
        assert all(word in span for word in re.findall(r"\w+", row["text"])), (span, row["text"])
    images = pq.read_table(store.open_input(rl.corpus_images("sample"))).to_pylist()
    for row in images:
        assert re.match(rf"!\[[^\]]*\]\(content_image/{row['name']}\)", markdown[row["doc_id"]][row["char_offset"]:])
        assert min(row["width"], row["height"]) >= 100

    centroids = _metadata(materialize([text_centroids], instance=instance, resources=resources))["text_centroids"]
    assert centroids["version"] == "v000001" and centroids["sample"] == len(sentences)
    assert centroids["clusters"] == round(len(sentences) ** 0.5)
    meta = _metadata(materialize([text_index, image_text_pairs], partition_key="sample", instance=instance,
                                 resources=resources,
                                 run_config={"ops": {"image_text_pairs": {"config": {"nprobe": 1000}}}}))
    assert meta["text_index"]["sentences"] == len(sentences) and meta["text_index"]["centroid_version"] == "v000001"
    assert meta["image_text_pairs"]["recall_at_3"] == 1.0, "all clusters probed = exact search"
    assert meta["image_text_pairs"]["shards_searched"] == 1
    pairs = pq.read_table(store.open_input(rl.pairs("sample"))).to_pylist()
    assert len(pairs) == len(images)
    texts = {row["text"] for row in sentences}
    for pair in pairs:
        assert {pair["text1"], pair["text2"], pair["text3"]} <= texts and pair["centroid_version"] == "v000001"
        assert pair["score1"] >= pair["score2"] >= pair["score3"]

    config = {"ops": {"balanced_samples": {"config": {"target_size": 3, "shard_max_samples": 2}}}}
    meta = _metadata(materialize([balanced_samples], instance=instance, resources=resources, run_config=config))
    balanced = meta["balanced_samples"]
    assert balanced["images_after"] <= 3 and balanced["max_cluster_after"] <= balanced["cap"]
    assert "disabled" in balanced["syn_text"] and "| max |" in balanced["cluster_sizes"]
    table = pq.read_table(store.open_input(rl.BALANCED))
    assert {"image", "text1", "text2", "text3", "syn_text"} <= set(table.column_names)
    rows = table.to_pylist()
    assert all(r["syn_text"] == "" for r in rows)
    shard_keys = sorted(store.list_keys(rl.SHARDS_PREFIX))
    assert len(shard_keys) == balanced["shards"] == -(-len(rows) // 2)
    samples = list(wds.WebDataset([store.uri(k) for k in shard_keys], shardshuffle=False).decode("pil"))
    assert [s["__key__"] for s in samples] == [r["image_id"] for r in rows]
    for sample, row in zip(samples, rows, strict=True):
        picture = sample.get("jpg") or sample.get("png")
        assert isinstance(picture, Image.Image) and picture.size == (row["width"], row["height"])
        assert sample["json"]["text1"] == row["text1"] and sample["txt"] == row["text1"]


def _cached(store: StorageResource, encoder_name: str, kind: str) -> np.ndarray:
    with np.load(io.BytesIO(store.get_bytes(rl.embeddings(encoder_name, "sample", kind)))) as cached:
        return cached["vectors"]


def test_sharded_pairs_agree_with_the_old_global_index(sample_store) -> None:
    """Same sample, same k-means settings: the sharded index returns the pairs the global IVF index did."""
    instance, store = sample_store
    resources = {"storage": store, "embeddings": _embeddings(), "llm": LLMResource()}
    if not store.exists(rl.CURRENT_CENTROIDS):
        materialize([realsyn_corpus], partition_key="sample", instance=instance, resources=resources)
        materialize([text_centroids], instance=instance, resources=resources)
    meta = _metadata(materialize([text_index, image_text_pairs], partition_key="sample", instance=instance,
                                 resources=resources))["image_text_pairs"]
    assert meta["nprobe"] == 8
    name = meta["encoder"]
    sentences, images = _cached(store, name, "sentences"), _cached(store, name, "images")
    old = retrieval.build_ivf(sentences, retrieval.auto_clusters(len(sentences)), seed=0)
    _, old_ids = retrieval.ivf_search(old, images, 3, 8)
    sentence_ids = pq.read_table(store.open_input(rl.corpus_sentences("sample")), columns=["sentence_id"]).column(0)
    pairs = pq.read_table(store.open_input(rl.pairs("sample"))).to_pylist()
    shared = [len({sentence_ids[int(i)].as_py() for i in row if i >= 0}
                  & {p[f"sentence_id{r}"] for r in (1, 2, 3)}) / 3 for row, p in zip(old_ids, pairs, strict=True)]
    overlap = sum(shared) / len(shared)
    print(f"pairs overlap, sharded vs global index on the sample: {overlap:.3f} over {len(pairs)} images")
    assert overlap >= 0.95


def _fresh_markdown(store: StorageResource, batch: str) -> None:
    """A batch of two text-only documents whose sentences no other batch holds."""
    schema = pq.read_schema(store.open_input(layout.markdown("sample")))
    template = next(iter_rows(store.open_input(layout.markdown("sample"))))
    subjects = ["river otter", "glacier", "lighthouse keeper", "violin maker", "orchard", "radio telescope"]
    places = ["northern valley", "harbour town", "desert station", "mountain pass"]
    rows = []
    for d in range(2):
        text = " ".join(f"The {subjects[(i + d) % 6]} near the {places[i % 4]} was studied in season {i + 10 * d} "
                        f"by volunteers who kept careful notes." for i in range(12))
        rows.append({**template, "doc_id": f"{batch}-{d}", "markdown": f"# Notes {d}\n\n{text}\n", "images": []})
    with store.staged_file(layout.markdown(batch), ".parquet") as path:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def test_a_new_batch_adds_one_shard_and_retraining_is_explicit(sample_store) -> None:
    instance, store = sample_store
    resources = {"storage": store, "embeddings": _embeddings(), "llm": LLMResource()}
    if not store.exists(rl.index_shard("sample")):
        materialize([realsyn_corpus], partition_key="sample", instance=instance, resources=resources)
        materialize([text_centroids], instance=instance, resources=resources)
        materialize([text_index], partition_key="sample", instance=instance, resources=resources)
    version = json.loads(store.get_bytes(rl.CURRENT_CENTROIDS))["version"]
    sample_shard = store.get_bytes(rl.index_shard("sample"))
    _fresh_markdown(store, "fresh")
    instance.add_dynamic_partitions("batches", ["fresh"])
    corpus = _metadata(materialize([realsyn_corpus], partition_key="fresh", instance=instance,
                                   resources=resources))["realsyn_corpus"]
    assert corpus["sentences_kept"] >= 20

    kept = _metadata(materialize([text_centroids], instance=instance, resources=resources))["text_centroids"]
    assert kept["retrained"] is False and kept["version"] == version
    shard = _metadata(materialize([text_index], partition_key="fresh", instance=instance,
                                  resources=resources))["text_index"]
    assert shard["centroid_version"] == version and shard["sentences"] == corpus["sentences_kept"]
    assert store.get_bytes(rl.index_shard("sample")) == sample_shard, "the other batch's shard is untouched"
    pairs = _metadata(materialize([image_text_pairs], partition_key="sample", instance=instance,
                                  resources=resources))["image_text_pairs"]
    assert pairs["shards_searched"] == 2 and pairs["stale_shards_skipped"] == 0

    every_list = {"ops": {"image_text_pairs": {"config": {"nprobe": 1000}}}}
    retrained = _metadata(materialize([text_centroids], instance=instance, resources=resources, run_config={
        "ops": {"text_centroids": {"config": {"retrain": True, "seed": 1}}}}))["text_centroids"]
    assert retrained["retrained"] is True and retrained["previous_version"] == version
    assert retrained["version"] == "v000002" and retrained["sentences_encoded_now"] == 0
    assert store.exists(rl.centroid_template(version)), "older versions are kept"
    materialize([text_index], partition_key="fresh", instance=instance, resources=resources)
    pairs = _metadata(materialize([image_text_pairs], partition_key="sample", instance=instance,
                                  resources=resources, run_config=every_list))["image_text_pairs"]
    assert pairs["centroid_version"] == "v000002"
    assert pairs["shards_searched"] == 1 and pairs["stale_shards_skipped"] == 1
    rows = pq.read_table(store.open_input(rl.pairs("sample"))).to_pylist()
    assert {r["centroid_version"] for r in rows} == {"v000002"}
    assert all(r["sentence_id1"].startswith("s-fresh-") for r in rows), "only the current version's shard searched"
    materialize([text_index], partition_key="sample", instance=instance, resources=resources)
    pairs = _metadata(materialize([image_text_pairs], partition_key="sample", instance=instance,
                                  resources=resources))["image_text_pairs"]
    assert pairs["shards_searched"] == 2 and pairs["stale_shards_skipped"] == 0


def test_balanced_samples_with_a_chat_endpoint_and_a_second_batch(sample_store) -> None:
    """A batch holding the same documents adds nothing (corpus-wide dedup); syn_text comes from the endpoint."""
    instance, store = sample_store
    server = _ChatServer()
    try:
        resources = {"storage": store, "embeddings": _embeddings(),
                     "llm": LLMResource(enabled=True, base_url=server.url, model="tiny", timeout_s=5)}
        if not store.exists(rl.pairs("sample")):
            materialize([realsyn_corpus], partition_key="sample", instance=instance, resources=resources)
            materialize([text_centroids], instance=instance, resources=resources)
            materialize([text_index, image_text_pairs], partition_key="sample", instance=instance,
                        resources=resources)
        store.copy(layout.markdown("sample"), layout.markdown("again"))
        instance.add_dynamic_partitions("batches", ["again"])
        again = _metadata(materialize([realsyn_corpus], partition_key="again", instance=instance,
                                      resources=resources))["realsyn_corpus"]
        assert again["sentences_kept"] == 0 and again["images_kept"] == 0
        assert again["sentence_duplicate_other_batch"] > 100 and again["image_duplicate_other_batch"] >= 3

        meta = _metadata(materialize([balanced_samples], instance=instance, resources=resources, run_config={
            "ops": {"balanced_samples": {"config": {"target_size": 2, "seed": 1}}}}))["balanced_samples"]
        assert meta["images_after"] <= 2 and meta["syn_text"].startswith("written by tiny")
        rows = pq.read_table(store.open_input(rl.BALANCED)).to_pylist()
        assert rows and all(r["syn_text"].startswith("synthetic for ") and r["centroid_version"] for r in rows)
        assert len(server.requests) == len(rows)
    finally:
        server.close()


def test_realsyn_assets_load_with_the_pin_graph(tmp_path: Path) -> None:
    defs = Definitions(
        assets=[*PIN_ASSETS, *REALSYN_ASSETS],
        resources={"storage": StorageResource(base_uri=str(tmp_path)), "processing": ProcessingResource(),
                   "tokenizer": TokenizerResource(), "embeddings": _embeddings(), "llm": LLMResource()},
    )
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {groups[a.key.to_user_string()] for a in REALSYN_ASSETS} == {"realsyn"}
    corpus = next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "realsyn_corpus")
    assert {p.to_user_string() for p in graph.get(corpus).parent_keys} == {"parsed_markdown"}
