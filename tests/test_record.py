"""The PIN record schema rejects what PIN-14M readers would choke on."""

from __future__ import annotations

import jsonschema
import pytest

from pin_assets.core.record import build_record, document_ori_meta, validate_record


def _record(md: str = "# T\n\n![](content_image/a.png)\n\ntext ![](content_image/b.jpeg)") -> dict:
    return build_record(
        doc_id="abc", markdown=md, overall_images=["abc-p0001.webp"], source_dataset="arxiv",
        date_download="2026-11-23", license="CC-BY-4.0", language="en", oi_source="ori",
        ori_meta=document_ori_meta(source_uri="file:///x.pdf", filename="x.pdf", title="T", page_count=1,
                                   page_offsets=[0], scanned_pages=[], metadata={"doi": "10.1/x"}),
        quality_signals={"doc_length": len(md)},
    )


def test_built_record_is_valid_and_lists_images_in_order() -> None:
    record = _record()
    validate_record(record)
    assert record["content_image"] == ["content_image/a.png", "content_image/b.jpeg"]
    assert record["overall_image"] == ["overall_image/abc-p0001.webp"]
    assert record["meta"]["page_id"] is None and record["meta"]["ori_meta"]["doi"] == "10.1/x"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["meta"].update(oi_source="scanned"),
        lambda r: r["meta"].update(date_download="23/11/2026"),
        lambda r: r.update(content_image=["content_image/b.jpeg", "content_image/a.png"]),
        lambda r: r.update(overall_image=["/abs/path.webp"]),
        lambda r: r.pop("license"),
        lambda r: r.update(extra=1),
    ],
)
def test_schema_violations_are_caught(mutate) -> None:
    record = _record()
    mutate(record)
    with pytest.raises(jsonschema.ValidationError):
        validate_record(record)
