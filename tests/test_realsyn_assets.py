"""The RealSyn branch materialized on the bundled sample batch, storage in a temp folder."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from dagster import DagsterInstance, Definitions, materialize
from PIL import Image

from pin_assets import layout
from pin_assets import realsyn_layout as rl
from pin_assets.assets import PIN_ASSETS, parsed_markdown, raw_documents
from pin_assets.assets.realsyn import REALSYN_ASSETS, balanced_samples, realsyn_corpus
from pin_assets.batches import SAMPLE_SPEC, BatchSpec, register_batch
from pin_assets.core.sources import SAMPLE_DIR
from pin_assets.core.tables import iter_rows
from resources import ProcessingResource, StorageResource, TokenizerResource
from resources.embeddings import EmbeddingResource
from resources.llm import LLMResource
from tests.test_embeddings import _ChatServer


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
    resources = {"storage": store, "embeddings": EmbeddingResource(), "llm": LLMResource()}
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

    config = {"ops": {"image_text_pairs": {"config": {"nprobe": 1000}},
                      "balanced_samples": {"config": {"target_size": 3, "shard_max_samples": 2}}}}
    meta = _metadata(materialize(REALSYN_ASSETS[1:], instance=instance, resources=resources, run_config=config))
    assert meta["text_index"]["sentences"] == len(sentences)
    assert meta["text_index"]["clusters"] == round(len(sentences) ** 0.5)
    assert meta["image_text_pairs"]["recall_at_3"] == 1.0, "all clusters probed = exact search"
    pairs = pq.read_table(store.open_input(rl.PAIRS)).to_pylist()
    assert len(pairs) == len(images)
    texts = {row["text"] for row in sentences}
    for pair in pairs:
        assert {pair["text1"], pair["text2"], pair["text3"]} <= texts
        assert pair["score1"] >= pair["score2"] >= pair["score3"]

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


def test_balanced_samples_with_a_chat_endpoint_and_a_second_batch(sample_store) -> None:
    """A batch holding the same documents adds nothing (corpus-wide dedup); syn_text comes from the endpoint."""
    instance, store = sample_store
    server = _ChatServer()
    try:
        resources = {"storage": store, "embeddings": EmbeddingResource(),
                     "llm": LLMResource(enabled=True, base_url=server.url, model="tiny", timeout_s=5)}
        if not store.exists(rl.PAIRS):
            materialize([realsyn_corpus], partition_key="sample", instance=instance, resources=resources)
            materialize(REALSYN_ASSETS[1:3], instance=instance, resources=resources)
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
        assert rows and all(r["syn_text"].startswith("synthetic for ") for r in rows)
        assert len(server.requests) == len(rows)
    finally:
        server.close()


def test_realsyn_assets_load_with_the_pin_graph(tmp_path: Path) -> None:
    defs = Definitions(
        assets=[*PIN_ASSETS, *REALSYN_ASSETS],
        resources={"storage": StorageResource(base_uri=str(tmp_path)), "processing": ProcessingResource(),
                   "tokenizer": TokenizerResource(), "embeddings": EmbeddingResource(), "llm": LLMResource()},
    )
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {groups[a.key.to_user_string()] for a in REALSYN_ASSETS} == {"realsyn"}
    corpus = next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "realsyn_corpus")
    assert {p.to_user_string() for p in graph.get(corpus).parent_keys} == {"parsed_markdown"}
