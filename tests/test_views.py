"""Training views: built from a real batch, read back with the `webdataset` package, checked against sources."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pymupdf
import pytest
import webdataset as wds
from click.testing import CliRunner
from dagster import DagsterInstance, materialize

from pin_assets import layout
from pin_assets.assets import PIN_ASSETS, VIEW_ASSETS
from pin_assets.assets.stats import signal_source
from pin_assets.cli import main
from pin_assets.core.sources.listing import SAMPLE_PDF_DIR
from pin_assets.core.stats import UnsafeFilterError, count_where, ids_where
from pin_assets.core.tokenizer import default_tokenizer
from pin_assets.core.views import page_slices, token_chunks
from pin_assets.records import iter_records
from pin_assets.views_io import build_view, folder_sinks
from resources import ProcessingResource, StorageResource, TokenizerResource
from tests.pipeline_support import run_batch

SAMPLE_HTML = SAMPLE_PDF_DIR.parent / "html"
PDFS = ("multi_page.pdf", "2305.03393v1-pg9.pdf", "picture_classification.pdf", "code_and_formula.pdf")
WORD = re.compile(r"[^\W\d_]{4,}")


# ---------------------------------------------------------------------------------------------------
# Pure helpers


def test_page_slices_cut_at_offsets_and_refuse_bad_offsets():
    md = "page one\n\npage two\n\n"
    assert page_slices(md, [0, 10]) == ["page one\n\n", "page two\n\n"]
    assert page_slices(md, [0, 10, 20]) == ["page one\n\n", "page two\n\n", ""]
    for bad in ([3], [0, 12, 5], [0, 99]):
        with pytest.raises(ValueError):
            page_slices(md, bad)


def test_token_chunks_keep_whole_pages_in_order():
    assert token_chunks([5, 5, 5], 100) == [[0, 1, 2]]
    assert token_chunks([60, 50, 10, 200, 1], 100) == [[0], [1, 2], [3], [4]]
    chunks = token_chunks([30] * 10, 95)
    assert [p for chunk in chunks for p in chunk] == list(range(10))
    assert all(sum(30 for _ in chunk) <= 95 for chunk in chunks)


# ---------------------------------------------------------------------------------------------------
# A real batch, materialized once for the module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    source = root / "src"
    source.mkdir()
    for name in PDFS:
        shutil.copy(SAMPLE_PDF_DIR / name, source / name)
    for name in ("example_01.html", "example_image_01.png"):
        shutil.copy(SAMPLE_HTML / name, source / name)
    storage = StorageResource(base_uri=str(root / "store"))
    instance = DagsterInstance.ephemeral()
    assert run_batch(instance, storage, "vw", source).success
    return storage, instance, source


def _read(folder: Path) -> list[dict]:
    shards = sorted(str(p) for p in folder.glob("shard-*.tar"))
    assert shards, f"no shards in {folder}"
    return list(wds.WebDataset(shards, shardshuffle=False, empty_check=False))


def _write(storage, view, folder, **kwargs):
    put_file, put_bytes = folder_sinks(folder)
    return build_view(storage, "vw", view, default_tokenizer(), put_file, put_bytes, **kwargs)


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def test_page_pairs_slices_match_their_pages_text_layer(built, tmp_path):
    storage, _, source = built
    manifest = _write(storage, "page_pairs", tmp_path, max_samples=4)
    samples = _read(tmp_path)
    records = {r["id"]: r for r in iter_records(storage, "vw")}
    assert len(manifest.shards) == -(-len(samples) // 4)  # 4 samples a shard
    assert manifest.samples == len(samples) == sum(len(r["overall_image"]) for r in records.values())
    checked = 0
    for sample in samples:
        meta = json.loads(sample["json"])
        record = records[meta["record_id"]]
        (page,) = meta["pages"]
        image_ext = next(k for k in sample if k.endswith(("webp", "jpg", "jpeg", "png")))
        assert sample[image_ext] == storage.get_bytes(
            layout.render_page("vw", record["id"], record["overall_image"][page].rsplit("/", 1)[1]))
        text = sample["md"].decode()
        start, end = meta["char_span"]
        assert record["md"][start:end] == text
        assert start == record["meta"]["ori_meta"]["page_offsets"][page]
        filename = record["meta"]["ori_meta"]["filename"]
        if not filename.endswith(".pdf") or not _words(text):
            continue
        with pymupdf.open(source / filename) as doc:
            layer = [_words(p.get_text()) for p in doc]
        words = _words(text)
        share = len(words & layer[page]) / len(words)
        assert share >= 0.8, f"{filename} page {page}: only {share:.0%} of the slice's words are on that page"
        others = [len(words & w) / len(words) for i, w in enumerate(layer) if i != page]
        assert all(share >= other for other in others), f"{filename} page {page} matches another page better"
        checked += 1
    assert checked >= 7  # multi_page's pages and the single-page PDFs


def test_pagination_labels_are_the_stored_offsets(built, tmp_path):
    storage, _, _ = built
    _write(storage, "pagination", tmp_path)
    records = {r["id"]: r for r in iter_records(storage, "vw")}
    samples = _read(tmp_path)
    assert len(samples) == len(records)
    multi = 0
    for sample in samples:
        meta = json.loads(sample["json"])
        record = records[meta["record_id"]]
        offsets = record["meta"]["ori_meta"]["page_offsets"]
        assert sample["md"].decode() == record["md"]
        assert meta["page_breaks"] == offsets[1:]
        assert all(0 < b <= len(record["md"]) for b in meta["page_breaks"])
        multi += len(offsets) > 1
    assert multi >= 1


def test_doc_pairs_split_long_documents_by_token_budget(built, tmp_path):
    storage, _, _ = built
    manifest = _write(storage, "doc_pairs", tmp_path, options=None)
    whole = _read(tmp_path)
    records = {r["id"]: r for r in iter_records(storage, "vw")}
    assert len(whole) == len(records) == manifest.documents  # default budget: one sample per document

    from pin_assets.core.views import ViewOptions

    small = tmp_path / "small"
    manifest = _write(storage, "doc_pairs", small, options=ViewOptions(token_budget=150))
    split = _read(small)
    assert len(split) > len(whole)
    by_record: dict[str, list[dict]] = {}
    for sample in split:
        meta = json.loads(sample["json"])
        by_record.setdefault(meta["record_id"], []).append((sample, meta))
    for record_id, parts in by_record.items():
        record = records[record_id]
        parts.sort(key=lambda p: p[1]["chunk"])
        pages = [page for _, meta in parts for page in meta["pages"]]
        assert pages == list(range(len(record["meta"]["ori_meta"]["page_offsets"])))  # every page once, in order
        assert "".join(s["md"].decode() for s, _ in parts) == record["md"]
        for sample, meta in parts:
            assert len(meta["pages"]) == 1 or meta["tokens"] <= 150
            assert sorted(k for k in sample if k.startswith("p0")) == [
                f"p{p:04d}.{record['overall_image'][p].rsplit('.', 1)[1]}" for p in meta["pages"]]
    assert manifest.flags.get("split", 0) >= 2


def test_interleaved_carries_content_images_in_order(built, tmp_path):
    storage, _, _ = built
    manifest = _write(storage, "interleaved", tmp_path)
    records = {r["id"]: r for r in iter_records(storage, "vw")}
    samples = _read(tmp_path)
    with_images = 0
    for sample in samples:
        meta = json.loads(sample["json"])
        record = records[meta["record_id"]]
        assert [entry["ref"] for entry in meta["images"]] == record["content_image"]
        for entry in meta["images"]:
            data = sample[entry["member"]]
            assert entry["ref"].rsplit("/", 1)[1].startswith(hashlib.sha256(data).hexdigest())
        with_images += bool(meta["images"])
    assert with_images >= 2  # the picture PDF and the HTML page
    assert manifest.tokens > 0 and manifest.bytes > 0


def test_where_filter_selects_what_pin_stats_counts(built, tmp_path):
    storage, _, _ = built
    where = "total_token_count >= 400"
    kept, total = count_where(signal_source(storage), where)
    assert 0 < kept < total
    manifest = _write(storage, "pagination", tmp_path, where=where)
    ids = {json.loads(s["json"])["record_id"] for s in _read(tmp_path)}
    assert manifest.documents == kept == len(ids)
    assert ids == ids_where(signal_source(storage), where, batch="vw")
    index = pq.read_table(tmp_path / "index.parquet")
    assert set(index.column("record_id").to_pylist()) == ids
    with pytest.raises(UnsafeFilterError):
        _write(storage, "pagination", tmp_path / "bad", where="1=1) OR (SELECT 1")


def test_assets_and_cli_write_the_same_view(built, tmp_path):
    storage, instance, _ = built
    result = materialize(
        [*PIN_ASSETS, *VIEW_ASSETS], selection=VIEW_ASSETS, partition_key="vw", instance=instance,
        resources={"storage": storage, "processing": ProcessingResource(workers=1), "tokenizer": TokenizerResource()},
        run_config={"ops": {"page_pairs": {"config": {"where": "doc_length > 0"}}}},
    )
    assert result.success
    (event,) = result.asset_materializations_for_node("page_pairs")
    prefix = layout.view_prefix("page_pairs", "vw")
    stored = json.loads(storage.get_bytes(f"{prefix}/manifest.json"))
    assert event.metadata["samples"].value == stored["samples"] > 0
    runner = CliRunner()
    out = tmp_path / "cli"
    cli = runner.invoke(main, ["views", "vw", "--view", "page_pairs", "--where", "doc_length > 0", "-o", str(out)],
                        env={"PIN_STORAGE_URI": storage.base_uri})
    assert cli.exit_code == 0, cli.output
    assert json.loads((out / "manifest.json").read_text())["samples"] == stored["samples"]
    for name in stored["shards"]:
        assert (out / name).read_bytes() == storage.get_bytes(f"{prefix}/{name}")  # byte-identical shards
    assert pq.read_table(io.BytesIO(storage.get_bytes(f"{prefix}/index.parquet"))).equals(
        pq.read_table(out / "index.parquet"))
    bad = runner.invoke(main, ["views", "vw", "--view", "page_pairs", "--where", "no_such_signal > 1", "-o",
                               str(out)], env={"PIN_STORAGE_URI": storage.base_uri})
    assert bad.exit_code == 2 and "unknown column" in bad.output
    missing = runner.invoke(main, ["views", "nope", "--view", "pagination", "-o", str(out)],
                            env={"PIN_STORAGE_URI": storage.base_uri})
    assert missing.exit_code == 2
