"""The PIN record: building one from a converted document, and validating it against the schema.

The schema (``record_schema.json`` beside this file) follows m-a-p/PIN-14M so exported JSONL loads
with the same readers as the published dataset.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pin_assets.core.image_refs import ImageSyntax, image_paths, write_image_refs_keeping_offsets


@cache
def record_schema() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("record_schema.json")).read_text())


def validate_record(record: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if the record breaks the schema or its own image list."""
    import jsonschema  # 0.1 s, paid by the export step only, not by every import of the definitions

    jsonschema.validate(record, record_schema())
    linked = image_paths(record["md"])
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
    image_syntax: ImageSyntax = "html",
) -> dict[str, Any]:
    """A PIN record for a whole document (``page_id`` null); content images are read off the Markdown.

    Taking ``content_image`` from the Markdown's own links guarantees the two agree in order and count.
    Images are written as PIN-14M writes them (``<img src='content_image/NAME'>``) unless
    ``image_syntax`` is ``"markdown"``. Every field has one JSON type whatever the source (see
    :func:`json_stable`), so a whole export loads as one table.
    """
    markdown, offsets = write_image_refs_keeping_offsets(markdown, image_syntax, ori_meta.get("page_offsets") or [])
    if "page_offsets" in ori_meta:
        ori_meta = {**ori_meta, "page_offsets": offsets}
    signals = {name: json_stable(value) for name, value in quality_signals.items()}
    if "doc_length" in signals:
        signals["doc_length"] = len(markdown)
    return {
        "id": doc_id,
        "meta": {
            "language": language,
            "oi_exist": bool(overall_images),
            "oi_source": oi_source,
            "source_dataset": source_dataset,
            "ori_meta": {key: json_stable(value) for key, value in ori_meta.items()},
            "doc_id": doc_id,
            "page_id": None,
            "date_download": date_download,
        },
        "license": license,
        "quality_signals": signals,
        "md": markdown,
        "content_image": image_paths(markdown),
        "overall_image": [f"overall_image/{name}" for name in overall_images],
    }


def json_stable(value: Any) -> Any:
    """A value JSON-encoded the same way in every record: no NaN/inf (null instead), tuples as lists.

    ``datasets.load_dataset("json")`` infers one Arrow type per field over a whole export; a NaN (not
    JSON at all) or a tuple in one record and a list in another would split the schema.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_stable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_stable(v) for v in value]
    return value
