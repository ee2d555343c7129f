"""Image references in both spellings, JSON Lines, split tars: the small pieces of the interop exports."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from pin_assets.core.image_refs import image_paths, split_at_images, write_image_refs
from pin_assets.core.jsonl import dumps_line, iter_jsonl
from pin_assets.core.pin_export import SplitTarWriter, read_split_tar
from pin_assets.core.record import build_record, document_ori_meta, validate_record
from pin_assets.core.signals import compute_signals, read_blocks
from pin_assets.core.tokenizer import WordPunctTokenizer

MD = (
    "# Title\n\nIntro ![a](content_image/a.png) middle.\n\n![](content_image/b.jpeg)\n"
    "![x](content_image/c.webp)\n\nEnd text."
)


def test_both_spellings_parse_to_the_same_images_and_round_trip() -> None:
    html = write_image_refs(MD, "html")
    assert "<img src='content_image/a.png'>" in html and "![" not in html
    paths = ["content_image/a.png", "content_image/b.jpeg", "content_image/c.webp"]
    assert image_paths(MD) == image_paths(html) == paths
    assert image_paths('<img src="content_image/d.png" />') == ["content_image/d.png"]
    back = write_image_refs(html, "markdown")
    assert image_paths(back) == paths and "![](content_image/a.png)" in back
    assert [kind for kind, _ in split_at_images(html)] == ["text", "image", "text", "image", "image", "text"]


def test_signals_count_images_the_same_in_both_spellings() -> None:
    tok = WordPunctTokenizer()
    md_form = compute_signals(MD, [], tok)
    html_form = compute_signals(write_image_refs(MD, "html"), [], tok)
    for name in ("image_text_interleaving_count", "text_block_count", "total_token_count", "doc_length"):
        assert md_form[name] == html_form[name], name
    assert read_blocks(write_image_refs(MD, "html")).items == ["T", "T", "I", "T", "I", "I", "T"]
    assert md_form["doc_length"] == len(write_image_refs(MD, "html"))


def _record(syntax: str) -> dict:
    return build_record(
        doc_id="d1", markdown=MD, overall_images=["d1-p0001.webp"], source_dataset="s", date_download="2026-01-02",
        license="CC0", language="en", oi_source="compiling",
        ori_meta=document_ori_meta(source_uri="file:///x", filename="x", title=None, page_count=1, page_offsets=[0],
                                   scanned_pages=[], metadata={"k": "v"}),
        quality_signals={"doc_length": 1, "avg_text_block_length": float("nan")}, image_syntax=syntax,
    )


@pytest.mark.parametrize("syntax", ["html", "markdown"])
def test_record_spells_images_as_asked_and_keeps_types(syntax: str) -> None:
    record = _record(syntax)
    validate_record(record)
    assert ("<img src='content_image/a.png'>" in record["md"]) == (syntax == "html")
    assert record["content_image"] == image_paths(MD)
    assert record["quality_signals"]["doc_length"] == len(record["md"])
    assert record["quality_signals"]["avg_text_block_length"] is None  # NaN is not JSON
    assert isinstance(record["overall_image"], list) and record["meta"]["page_id"] is None


def test_jsonl_splits_on_newline_only() -> None:
    records = [{"md": "a\u2028b\u2029c\x85d\re"}, {"md": "second"}]
    data = "".join(dumps_line(r) for r in records).encode()
    assert list(iter_jsonl(data)) == records
    assert list(iter_jsonl(io.BytesIO(data), chunk_size=3)) == records


def test_split_tar_parts_hold_whole_members_and_concatenate_to_one_tar(tmp_path: Path) -> None:
    members = {f"content_image/{i:02d}.bin": bytes([i]) * (3000 + 700 * i) for i in range(12)}
    writer = SplitTarWriter(tmp_path / "content_image.tar", part_bytes=12 * 1024)
    for name, data in members.items():
        writer.add(name, data)
    parts = writer.close()
    assert len(parts) > 3 and [p.name for p in parts][:2] == ["content_image.tar.part00", "content_image.tar.part01"]
    assert all(p.stat().st_size <= 12 * 1024 for p in parts[:-1])
    assert dict(read_split_tar([p.read_bytes() for p in parts])) == members
    seen = {}
    for part in parts:  # every part alone is a readable tar of whole members
        with tarfile.open(part) as tar:
            seen.update({m.name: tar.extractfile(m).read() for m in tar})
    assert seen == members
    whole = tmp_path / "whole.tar"
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    listed = subprocess.run(["tar", "-tf", str(whole)], capture_output=True, text=True, check=True).stdout.split()
    assert listed == list(members)


def test_small_tar_is_a_single_file(tmp_path: Path) -> None:
    writer = SplitTarWriter(tmp_path / "overall_image.tar", part_bytes=2**20)
    writer.add("overall_image/p1.webp", b"x" * 100)
    (single,) = writer.close()
    assert single.name == "overall_image.tar"
    with tarfile.open(single) as tar:
        assert tar.getnames() == ["overall_image/p1.webp"]
