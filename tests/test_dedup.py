"""Duplicate documents across the corpus: MinHash signatures per batch, LSH, verified clusters, flags.

Real documents: the bundled sample's web pages (``pin_assets/data/sample/html``: a Wikipedia article and
docling's HTML test pages), converted by the project's own converters; the PDF copy of the article is laid
out from its Markdown with PyMuPDF's Story and read back by the PDF converter.
"""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from bench.dedup_corpus import cluster_texts, markdown_as_pdf_markdown
from pin_assets import layout
from pin_assets.assets import parsed_markdown, quality_signals, raw_documents
from pin_assets.assets.dedup import duplicate_clusters
from pin_assets.assets.stats import signal_source
from pin_assets.batches import BatchSpec, register_batch
from pin_assets.core.convert import parse_document
from pin_assets.core.dedup.clusters import ClusterSettings, find_clusters
from pin_assets.core.dedup.lsh import lsh_params
from pin_assets.core.dedup.signatures import visible_text
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.core.stats import compute_stats, count_where, ids_where
from pin_assets.dedup_io import index_key, prepare_batches, read_members, signature_writer, write_outputs
from resources import ProcessingResource, StorageResource, TokenizerResource
from tests import s3_server

moto_s3 = s3_server.moto_s3

HTML = SAMPLE_DIR / "html"


def test_bands_and_rows_are_redpajama_v2s() -> None:
    assert [lsh_params(t) for t in (0.7, 0.8, 0.9)] == [(14, 9), (9, 13), (5, 25)]


def _cluster(tmp_path: Path, batches: dict[str, list[tuple[str, str]]]) -> list[dict]:
    texts = {name: [(doc_id, visible_text(md)) for doc_id, md in docs] for name, docs in batches.items()}
    return cluster_texts(tmp_path, texts, 0.8).members.to_pylist()


def _html(name: str) -> str:
    return parse_document((HTML / name).read_bytes(), "html", DocumentLimits()).markdown


@pytest.fixture(scope="module")
def article() -> str:
    """The Wikipedia article's Markdown as the project's web converter writes it."""
    return _html("wiki_duck.html")


def test_the_same_article_as_pdf_and_as_web_page_is_a_near_duplicate(tmp_path: Path, article: str) -> None:
    page = (HTML / "wiki_duck.html").read_bytes()
    # Printed, a Wikipedia article ends with its print footer ("Retrieved from ...", license, last edit),
    # which the web page's main content leaves out: the PDF edition is a near copy, not an exact one.
    footer = "".join(lxml.html.tostring(e, encoding="unicode")
                     for e in lxml.html.fromstring(page).xpath("//*[@class='printfooter' or @id='footer-info']"))
    assert "Retrieved from" in footer
    as_pdf = markdown_as_pdf_markdown(article, after=footer)
    others = [(name, _html(name)) for name in ("example_08.html", "html_code_snippets.html", "formatting.html")]
    members = _cluster(tmp_path, {"web": [("duck.html", article), *others], "pdf": [("duck.pdf", as_pdf)]})
    assert {(m["batch"], m["doc_id"]) for m in members} == {("web", "duck.html"), ("pdf", "duck.pdf")}
    copy = next(m for m in members if m["is_duplicate"])
    assert 0.8 <= copy["similarity"] < 1.0 and copy["exact_duplicates"] == 0 and copy["near_duplicates"] == 1
    assert all(m["duplicate_cluster"] == members[0]["duplicate_cluster"] for m in members)


# ------------------------------------------------------------------------------------------------------
# The asset over batches: exact copies across and inside batches, a near copy, an added batch


def _batch(root: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = root / name
    folder.mkdir()
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def _signals(instance: DagsterInstance, storage: StorageResource, batch: str, folder: Path) -> None:
    register_batch(instance, storage, BatchSpec(batch, str(folder), f"src-{batch}", "CC-BY-4.0"))
    result = materialize([raw_documents, parsed_markdown, quality_signals], partition_key=batch, instance=instance,
                         resources={"storage": storage, "processing": ProcessingResource(workers=1),
                                    "tokenizer": TokenizerResource()})
    assert result.success


def _clusters(instance: DagsterInstance, storage: StorageResource) -> dict:
    result = materialize([duplicate_clusters], instance=instance, resources={"storage": storage})
    assert result.success
    (event,) = result.asset_materializations_for_node("duplicate_clusters")
    return {k: v.value for k, v in event.metadata.items()}


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def test_batches_exact_and_near_copies_and_a_third_batch_without_recomputing(
    tmp_path: Path, instance: DagsterInstance, article: str
) -> None:
    # The article as Markdown files (fast to convert); the copy differs in bytes, not in text.
    duck = article.encode()
    edited = article.replace("waterfowl", "waterbird", 3).replace("Ducks are", "Ducks were", 2).encode()
    assert edited != duck and len(edited.split()) == len(duck.split())
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    one = _batch(tmp_path, "one", {"duck.md": duck, "duck_mirror.md": duck + b"\n\n",
                                   "code.html": (HTML / "html_code_snippets.html").read_bytes()})
    two = _batch(tmp_path, "two", {"duck.md": duck, "table.html": (HTML / "table_01.html").read_bytes()})
    three = _batch(tmp_path, "three", {"duck_edited.md": edited,
                                       "example.html": (HTML / "example_08.html").read_bytes()})
    _signals(instance, storage, "one", one)
    _signals(instance, storage, "two", two)
    meta = _clusters(instance, storage)
    assert (meta["documents"], meta["clusters"], meta["duplicates"], meta["indexes_built"]) == (5, 1, 2, 2)

    members = read_members(storage).to_pylist()
    assert sorted(m["batch"] for m in members) == ["one", "one", "two"]  # inside one batch and across two
    kept = [m for m in members if not m["is_duplicate"]]
    assert len(kept) == 1 and kept[0]["batch"] == "one"  # equal length and images: the earliest batch is kept
    assert all(m["exact_duplicates"] == 2 and m["near_duplicates"] == 2 for m in members)
    assert count_where(signal_source(storage), "is_duplicate") == (2, 5)

    stored = [layout.minhash("one"), layout.minhash("two"), index_key("one", 9, 13), index_key("two", 9, 13)]
    before = {key: Path(storage.uri(key)).stat().st_mtime_ns for key in stored}
    _signals(instance, storage, "three", three)
    assert count_where(signal_source(storage), "is_duplicate IS NULL") == (2, 7)  # not looked at yet
    meta = _clusters(instance, storage)
    assert {key: Path(storage.uri(key)).stat().st_mtime_ns for key in stored} == before  # not recomputed
    assert (meta["indexes_built"], meta["indexes_reused"]) == (1, 2)
    assert (meta["documents"], meta["clusters"], meta["duplicates"]) == (7, 1, 3)

    near = next(m for m in read_members(storage).to_pylist() if m["batch"] == "three")
    assert near["is_duplicate"] and near["exact_duplicates"] == 0 and near["near_duplicates"] == 3
    assert 0.8 <= near["similarity"] < 1.0
    source = signal_source(storage)
    example = ids_where(source, "doc_id LIKE '%'", batch="three") - {near["doc_id"]}
    assert ids_where(source, "NOT is_duplicate", batch="three") == example  # what the views keep
    assert count_where(source, "near_duplicates > 0 AND duplicate_cluster IS NOT NULL") == (4, 7)
    assert compute_stats(source).overall.filter_drop_share["duplicate"] == pytest.approx(3 / 7)


def test_signatures_clusters_and_flags_on_s3(moto_s3, article: str) -> None:
    """The same steps as the asset through an S3 store: indexes built once, flags joined through pyarrow."""
    storage = moto_s3.storage()
    other = _html("html_code_snippets.html")
    for batch, docs in {"a": [("duck", article), ("code", other)], "b": [("duck-copy", article)]}.items():
        with signature_writer(storage, batch) as writer:
            for doc_id, markdown in docs:
                writer.add_markdown(doc_id, "web", markdown)
        rows = pa.table({"doc_id": [d for d, _ in docs], "batch": [batch] * len(docs),
                         "source_dataset": ["web"] * len(docs), "total_token_count": [100] * len(docs)})
        with storage.staged_file(layout.signals(batch), ".parquet") as path:
            pq.write_table(rows, path)
    prepared = prepare_batches(storage, ["a", "b", "never-signed"], 9, 13)
    assert (prepared.built, prepared.without_signatures) == (["a", "b"], ["never-signed"])
    result = find_clusters(prepared.inputs, ClusterSettings(0.8, 9, 13))
    write_outputs(storage, result, prepared)
    assert count_where(signal_source(storage), "is_duplicate") == (1, 3)
    assert ids_where(signal_source(storage), "NOT is_duplicate", batch="a") == {"duck", "code"}
    assert prepare_batches(storage, ["a", "b"], 9, 13).reused == ["a", "b"]
