"""The PIN record: building one from a converted document, and validating it against the schema.

The schema (``record_schema.json`` beside this file) follows m-a-p/PIN-14M so exported JSONL loads
with the same readers as the published dataset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

IMAGE_LINK = re.compile(r"!\[[^\]]*\]\((content_image/[^)\s]+)\)")


@cache
def record_schema() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("record_schema.json")).read_text())


def validate_record(record: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if the record breaks the schema or its own image list."""
    jsonschema.validate(record, record_schema())
    linked = IMAGE_LINK.findall(record["md"])
    if linked != list(record["content_image"]):
        raise jsonschema.ValidationError(
            f"content_image {record['content_image'][:3]}... does not list the md's images {linked[:3]}... in order"
        )


def document_ori_meta(
    *,
    source_uri: str,
    filename: str,
    title: str | None,
    page_count: int,
    page_offsets: Sequence[int],
    scanned_pages: Sequence[int],
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """``meta.ori_meta``: provenance, pagination and the source's own metadata (DOI, PMCID, author...)."""
    return {
        "source_uri": source_uri,
        "filename": filename,
        "title": title,
        "page_count": page_count,
        "page_offsets": list(page_offsets),
        "scanned_pages": list(scanned_pages),
        **metadata,
    }


def build_record(
    *,
    doc_id: str,
    markdown: str,
    overall_images: Sequence[str],
    source_dataset: str,
    date_download: str,
    license: str,
    language: str | None,
    oi_source: str,
    ori_meta: Mapping[str, Any],
    quality_signals: Mapping[str, Any],
) -> dict[str, Any]:
    """A PIN record for a whole document (``page_id`` null); content images are read off the Markdown.

    Taking ``content_image`` from the Markdown's own links guarantees the two agree in order and count.
    """
    return {
        "id": doc_id,
        "meta": {
            "language": language,
            "oi_exist": bool(overall_images),
            "oi_source": oi_source,
            "source_dataset": source_dataset,
            "ori_meta": dict(ori_meta),
            "doc_id": doc_id,
            "page_id": None,
            "date_download": date_download,
        },
        "license": license,
        "quality_signals": dict(quality_signals),
        "md": markdown,
        "content_image": IMAGE_LINK.findall(markdown),
        "overall_image": [f"overall_image/{name}" for name in overall_images],
    }
