"""The sample batch exported every way a reader may want it: PIN-14M folders, the hub tar layout, NeMo Curator
interleaved Parquet; loaded back with the readers users have (`datasets`, `tarfile`, pyarrow)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from pin_assets import layout
from pin_assets.accounting import account_batch
from pin_assets.assets import interleaved_documents, pin_records
from pin_assets.core.image_refs import image_paths
from pin_assets.core.jsonl import iter_jsonl
from pin_assets.core.pin_export import read_split_tar, tar_parts
from pin_assets.core.record import validate_record
from pin_assets.core.sources.listing import SAMPLE_DIR
from resources import StorageResource
from tests.pipeline_support import run_batch

BATCH = "sample"

# NeMo Curator 1.4's reserved columns, as `nemo_curator.tasks.interleaved.INTERLEAVED_SCHEMA` defines them.
NEMO_INTERLEAVED_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),
        pa.field("content_type", pa.string(), nullable=True),
        pa.field("text_content", pa.string(), nullable=True),
        pa.field("binary_content", pa.large_binary(), nullable=True),
        pa.field("source_ref", pa.string(), nullable=True),
        pa.field("materialize_error", pa.string(), nullable=True),
    ]
)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample batch (PDF, JATS, HTML) through the whole graph once, for every test here."""
    root = tmp_path_factory.mktemp("interop")
    storage = StorageResource(base_uri=str(root / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, BATCH, SAMPLE_DIR, workers=2)
        assert result.success
        yield instance, storage, root


def _export(instance: DagsterInstance, storage: StorageResource, **config) -> None:
    result = materialize(
        [pin_records], partition_key=BATCH, instance=instance, resources={"storage": storage},
        run_config={"ops": {"pin_records": {"config": config}}},
    )
    assert result.success


def _jsonl_files(storage: StorageResource, prefix: str) -> list[Path]:
    return [Path(storage.uri(k)) for k in sorted(storage.list_keys(prefix)) if k.endswith(".jsonl")]


def _load(files: list[Path], cache: Path) -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=[str(f) for f in files], split="train", cache_dir=str(cache))


def test_folders_export_loads_with_datasets_and_spells_images_as_pin14m(sample_store) -> None:
    instance, storage, root = sample_store
    files = _jsonl_files(storage, layout.export_prefix("testset", BATCH))
    records = [r for f in files for r in iter_jsonl(f.read_bytes())]
    kinds = {PurePosixPath(r["meta"]["ori_meta"]["filename"]).suffix for r in records}
    assert len(records) == 16 and {".pdf", ".nxml", ".html"} <= kinds
    with_images = [r for r in records if r["content_image"]]
    assert len(with_images) >= 4
    for record in records:
        validate_record(record)
        assert "![](content_image/" not in record["md"]
        assert record["md"].count("<img src='content_image/") == len(record["content_image"])
        assert record["quality_signals"]["doc_length"] == len(record["md"])
    loaded = _load(files, root / "hf-folders")
    assert loaded.num_rows == 16
    assert str(loaded.features["overall_image"]) == "List(Value('string'))"
    assert loaded.features["meta"]["page_id"].dtype in ("null", "int64")
    assert sorted(loaded["id"]) == sorted(r["id"] for r in records)


def test_markdown_syntax_is_an_option(sample_store) -> None:
    instance, storage, _ = sample_store
    _export(instance, storage, image_syntax="markdown")
    files = _jsonl_files(storage, layout.export_prefix("testset", BATCH))
    records = [r for f in files for r in iter_jsonl(f.read_bytes())]
    with_images = [r for r in records if r["content_image"]]
    assert with_images and all("<img src=" not in r["md"] for r in records)
    assert all(r["md"].count("](content_image/") == len(r["content_image"]) for r in with_images)
    assert all(r["quality_signals"]["doc_length"] == len(r["md"]) for r in records)


def test_hub_layout_round_trips_through_its_tars(sample_store) -> None:
    instance, storage, root = sample_store
    _export(instance, storage, layout="hub", max_docs_per_part=6, tar_part_bytes=64 * 1024)
    assert not list(storage.list_keys(layout.export_prefix("testset", BATCH))), "the folders layout was replaced"
    prefix = layout.hub_export_prefix("testset", BATCH)
    assert prefix.endswith("/data/testset")
    folders = sorted({PurePosixPath(k).parent for k in storage.list_keys(prefix)})
    assert [f.name for f in folders] == ["part00000", "part00001", "part00002"]
    split_seen = False
    for folder in folders:
        names = sorted(PurePosixPath(k).name for k in storage.list_keys(str(folder)))
        assert f"{folder.name}.jsonl" in names
        members: dict[str, bytes] = {}
        for kind in ("content_image", "overall_image"):
            parts = [n for n in tar_parts(names) if n.startswith(kind)]
            split_seen |= len(parts) > 1
            members.update(read_split_tar([storage.get_bytes(f"{folder}/{n}") for n in parts]))
        records = list(iter_jsonl(storage.get_bytes(f"{folder}/{folder.name}.jsonl")))
        for record in records:
            for path in image_paths(record["md"]) + record["overall_image"]:
                assert members.get(path), f"{path} of {record['id']} missing from {folder.name}'s tars"
            name = record["content_image"][0] if record["content_image"] else None
            if name:  # the tar holds the stored image itself
                stored = storage.get_bytes(layout.image(PurePosixPath(name).name))
                assert members[name] == stored
    assert split_seen, "a tar over tar_part_bytes is split into .partNN files"
    loaded = _load(_jsonl_files(storage, prefix), root / "hf-hub")
    assert loaded.num_rows == 16
    assert account_batch(storage, BATCH).balanced


def test_interleaved_parquet_follows_nemo_curator_schema(sample_store) -> None:
    instance, storage, _ = sample_store
    result = materialize(
        [interleaved_documents], partition_key=BATCH, instance=instance, resources={"storage": storage},
        run_config={"ops": {"interleaved_documents": {"config": {"inline_images": True}}}},
    )
    assert result.success
    table = pq.read_table(storage.uri(layout.interleaved(BATCH)))
    reserved = pa.schema([table.schema.field(name) for name in NEMO_INTERLEAVED_SCHEMA.names])
    assert reserved.equals(NEMO_INTERLEAVED_SCHEMA)
    assert pa.types.is_int64(table.schema.field("total_token_count").type)
    rows = table.to_pylist()
    samples: dict[str, list[dict]] = {}
    for row in rows:
        samples.setdefault(row["sample_id"], []).append(row)
    assert len(samples) == 16
    images = 0
    for sample in samples.values():
        positions = [r["position"] for r in sample]
        assert positions == list(range(-1, len(sample) - 1)), "metadata first, then items in reading order"
        meta = sample[0]
        assert meta["modality"] == "metadata" and meta["source_dataset"] == "testset"
        assert json.loads(meta["text_content"])["doc_id"] == meta["sample_id"]
        assert meta["total_token_count"] > 0 and meta["overall_image"]
        for row in sample[1:]:
            assert row["modality"] in ("text", "image")
            if row["modality"] == "text":
                assert row["text_content"].strip() and row["binary_content"] is None
                continue
            images += 1
            ref = json.loads(row["source_ref"])
            assert set(ref) == {"path", "member", "byte_offset", "byte_size", "frame_index"}
            path = Path(ref["path"])
            assert path.is_absolute() and path.read_bytes() == row["binary_content"]
            assert row["content_type"].startswith("image/")
    assert images >= 4
