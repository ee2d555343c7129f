"""OBELICS and MMC4 as sources: generated files in their published schemas, images from a folder and a tar."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize
from PIL import Image

from pin_assets.accounting import account_batch
from pin_assets.assets import PIN_ASSETS
from pin_assets.batches import BatchSpec, register_batch
from pin_assets.checks import ALL_CHECKS
from pin_assets.core.datasets.images import ImageIndex
from pin_assets.core.datasets.rows import canonical_document
from pin_assets.core.datasets.shards import expand_dataset_file, sniff_dataset, unwrap_shard
from pin_assets.core.image_refs import image_paths
from pin_assets.core.record import validate_record
from pin_assets.quarantine import read_quarantine
from resources import ProcessingResource, StorageResource, TokenizerResource
from tests.pipeline_support import read_records


def _jpeg(color: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


RED, GREEN, BLUE, GREY = _jpeg((200, 20, 20)), _jpeg((20, 200, 20)), _jpeg((20, 20, 200)), _jpeg((90, 90, 90))
URL = "https://example.org/img/{}.jpg"


def _obelics_row(texts_and_urls: list[tuple[str | None, str | None]], doc_url: str) -> dict:
    texts = [t for t, _ in texts_and_urls]
    images = [u for _, u in texts_and_urls]
    metadata = [{"alt_text": f"alt of {u.rsplit('/', 1)[-1]}", "src": u} if u else None for u in images]
    general = {"url": doc_url, "warc_filename": "crawl-data/CC-MAIN-2023/x.warc.gz", "warc_record_offset": 12}
    return {"texts": texts, "images": images, "metadata": json.dumps(metadata), "general_metadata": json.dumps(general)}


OBELICS_ROWS = [
    _obelics_row([("The red one comes first in this little story about colours.", None), (None, URL.format("red")),
                  ("Then the text goes on about green things growing.", None), (None, URL.format("green")),
                  (None, URL.format("gone")), ("And it ends here with a final sentence.", None)],
                 "https://example.org/a"),
    _obelics_row([("# Not a heading, just a hash sign in running text about blue.", None),
                  (None, URL.format("blue"))], "https://example.org/b"),
    {"texts": ["only text", None], "images": [None, None], "metadata": "[]", "general_metadata": "{}"},  # malformed
]

MMC4_DOCS = [
    {"url": "https://example.com/m1", "text_list": ["Sentence zero is about a grey cat.",
                                                    "Sentence one talks about the weather today.",
                                                    "Sentence two closes the document politely."],
     "image_info": [{"image_name": "b2.jpg", "raw_url": "https://example.com/b2.jpg", "matched_text_index": 2,
                     "matched_sim": 0.31},
                    {"image_name": "a1.jpg", "raw_url": "https://example.com/a1.jpg", "matched_text_index": 0,
                     "matched_sim": 0.28}],
     "similarity_matrix": [[0.1, 0.2, 0.31], [0.28, 0.1, 0.1]]},
    {"url": "https://example.com/m2", "text_list": ["A document whose image was never downloaded at all."],
     "image_info": [{"image_name": "zz.jpg", "raw_url": "https://example.com/zz.jpg", "matched_text_index": 0,
                     "matched_sim": 0.2}]},
]


def _write_sources(root: Path) -> tuple[Path, Path]:
    """A source folder (OBELICS Parquet + JSONL, MMC4 JSONL) and an image folder in img2dataset's shape."""
    src, images = root / "src", root / "images"
    (images / "00000").mkdir(parents=True)
    src.mkdir()
    pq.write_table(pa.Table.from_pylist(OBELICS_ROWS), src / "obelics-00000.parquet")
    (src / "obelics-extra.jsonl").write_text(
        json.dumps(_obelics_row([("A JSON Lines row\u2028with a line separator inside.", None),
                                 (None, URL.format("red"))], "https://example.org/c"), ensure_ascii=False) + "\n",
        encoding="utf-8")
    with zipfile.ZipFile(src / "docs_shard_0_v2.jsonl.zip", "w", zipfile.ZIP_DEFLATED) as archive:  # as MMC4 ships
        archive.writestr("docs_shard_0_v2.jsonl", "".join(json.dumps(d) + "\n" for d in MMC4_DOCS) + "{broken json\n")
    for key, (color, data) in enumerate([("red", RED), ("green", GREEN), ("blue", BLUE)]):
        (images / "00000" / f"{key:09d}.jpg").write_bytes(data)
        (images / "00000" / f"{key:09d}.json").write_text(json.dumps({"url": URL.format(color), "key": key}))
    with tarfile.open(images / "mmc4-00000.tar", "w") as tar:
        for name, data in (("a1.jpg", GREY), ("b2.jpg", BLUE)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return src, images


def test_rows_expand_in_order_with_images_by_url_and_by_name(tmp_path: Path) -> None:
    src, images = _write_sources(tmp_path)
    index = ImageIndex.from_path(images)
    assert index.get(url=URL.format("green")) == GREEN and index.get(name="a1.jpg") == GREY
    data = unwrap_shard((src / "docs_shard_0_v2.jsonl.zip").read_bytes())
    assert sniff_dataset(data) == "mmc4" and sniff_dataset((src / "obelics-00000.parquet").read_bytes()) == "obelics"
    assert sniff_dataset(b'{"title": "x"}\n') is None and sniff_dataset(b"%PDF-1.7") is None
    members = list(expand_dataset_file(data, "m.jsonl", "file:///m.jsonl", "mmc4", index))
    assert [m.kind for m in members] == ["mmc4", "mmc4", "unknown"] and members[2].error.startswith("corrupt")
    items = json.loads(members[0].data)["items"]
    assert [i.get("text", i.get("name"))[:13] for i in items] == [
        "Sentence zero", "a1.jpg", "Sentence one ", "Sentence two ", "b2.jpg"]
    assert {hashlib.sha256(d).hexdigest() for _, d in members[0].attachments} == {
        hashlib.sha256(GREY).hexdigest(), hashlib.sha256(BLUE).hexdigest()}
    with pytest.raises(ValueError, match="exactly one"):
        canonical_document(OBELICS_ROWS[2], "obelics", index, {})


def test_obelics_and_mmc4_batch_to_pin_records(tmp_path: Path) -> None:
    src, images = _write_sources(tmp_path)
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        register_batch(instance, storage, BatchSpec("web1", str(src), "OBELICS", "CC-BY-4.0", images_uri=str(images)))
        result = materialize(
            [*PIN_ASSETS, *ALL_CHECKS], partition_key="web1", instance=instance,
            resources={"storage": storage, "processing": ProcessingResource(workers=2, render_dpi=40),
                       "tokenizer": TokenizerResource()},
        )
    assert result.success
    account = account_batch(storage, "web1")
    # 3 + 1 OBELICS rows and 2 MMC4 documents + 1 broken line: 7 documents out of 3 files.
    assert (account.documents, account.records, account.quarantined) == (7, 5, 2) and account.balanced
    reasons = set(read_quarantine(storage, "web1").column("reason").to_pylist())
    assert reasons == {"corrupt"}
    records = read_records(storage)
    by_url = {r["meta"]["ori_meta"].get("url"): r for r in records}
    for record in records:
        validate_record(record)
        assert record["meta"]["source_dataset"] == "OBELICS" and record["meta"]["oi_source"] == "compiling"
        assert record["overall_image"] and record["meta"]["oi_exist"]
    first = by_url["https://example.org/a"]
    md = first["md"]
    assert md.index("red one") < md.index("<img src=") < md.index("green things") < md.rindex("<img src=") < md.index(
        "ends here")
    part = "export/pin/OBELICS/web1/part00"
    stored = [storage.get_bytes(f"{part}/{path}") for path in first["content_image"]]
    assert stored == [RED, GREEN], "images inline, in order, byte for byte"
    assert json.loads(first["meta"]["ori_meta"]["missing_images"]) == [URL.format("gone")]
    assert json.loads(first["meta"]["ori_meta"]["general_metadata"])["warc_record_offset"] == 12
    assert "\\# Not a heading" in by_url["https://example.org/b"]["md"]
    assert "\u2028" in by_url["https://example.org/c"]["md"], "JSON Lines split on \\n only"
    mmc4 = by_url["https://example.com/m1"]
    assert mmc4["meta"]["ori_meta"]["image_info"][0]["matched_sim"] == 0.31
    text = mmc4["md"]
    assert text.index("grey cat") < text.index("<img") < text.index("weather") < text.rindex("<img")
    assert text.rindex("<img") > text.index("politely")
    assert [storage.get_bytes(f"{part}/{p}") for p in image_paths(text)] == [GREY, BLUE]
    assert json.loads(by_url["https://example.com/m2"]["meta"]["ori_meta"]["missing_images"]) == [
        "https://example.com/zz.jpg"]
    files = [storage.uri(k) for k in storage.list_keys("export/pin") if k.endswith(".jsonl")]
    loaded = datasets.load_dataset("json", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == 5
