"""PIN documents as NeMo Curator interleaved rows (its ``INTERLEAVED_SCHEMA``, version 1.4).

One row per item of a document, in reading order: the Markdown between two images is a ``text`` row
(``text/markdown``), each content image an ``image`` row whose ``source_ref`` locates the stored image
(``{"path": ...}``: a direct read, local path or ``s3://`` URI), with its bytes inline when asked.
A ``metadata`` row at position -1 carries the record's ``meta`` as JSON in ``text_content`` and, as
passthrough columns (null on the other rows), the source, license, language and every quality signal,
so NeMo Curator's filters can select on them without parsing anything.

The reserved columns and their types are NeMo Curator's; the module does not import it (it is a large
install, kept out of this project's dependencies), so the schema is spelled here and tests pin it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from pin_assets.core.image_refs import split_at_images

INTERLEAVED_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),
        pa.field("content_type", pa.string()),
        pa.field("text_content", pa.string()),
        pa.field("binary_content", pa.large_binary()),
        pa.field("source_ref", pa.string()),
        pa.field("materialize_error", pa.string()),
    ]
)

# Passthrough columns of the metadata row (besides one column per quality signal).
META_COLUMNS = pa.schema(
    [
        pa.field("source_dataset", pa.string()),
        pa.field("license", pa.string()),
        pa.field("language", pa.string()),
        pa.field("oi_source", pa.string()),
        pa.field("overall_image", pa.list_(pa.string())),
    ]
)

IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp",
              "gif": "image/gif", "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp"}


def interleaved_schema(signal_types: Mapping[str, pa.DataType]) -> pa.Schema:
    """The reserved columns, then the metadata passthrough columns, then one column per signal."""
    fields = [*INTERLEAVED_SCHEMA, *META_COLUMNS]
    fields += [pa.field(name, dtype) for name, dtype in signal_types.items()]
    return pa.schema(fields)


def source_ref(path: str, member: str | None = None) -> str:
    """NeMo Curator's JSON locator: ``path`` alone is a direct read, with ``member`` a tar member."""
    return json.dumps(
        {"path": path, "member": member, "byte_offset": None, "byte_size": None, "frame_index": None}
    )


def image_content_type(name: str) -> str:
    return IMAGE_MIME.get(PurePosixPath(name).suffix.lower().lstrip("."), "application/octet-stream")


def document_rows(
    record: Mapping[str, Any],
    image_uri: Callable[[str], str],
    image_bytes: Callable[[str], bytes] | None = None,
) -> list[dict[str, Any]]:
    """The interleaved rows of one PIN record (as :func:`~pin_assets.core.record.build_record` makes it).

    ``image_uri(name)`` says where the content image ``name`` is stored (what ``source_ref`` points
    at); ``image_bytes(name)``, when given, fills ``binary_content`` inline.
    """
    sample_id = str(record["id"])
    meta = record["meta"]
    rows: list[dict[str, Any]] = [
        {
            "sample_id": sample_id, "position": -1, "modality": "metadata", "content_type": "application/json",
            "text_content": json.dumps({**meta, "license": record["license"]}, ensure_ascii=False, sort_keys=True),
            "source_dataset": meta["source_dataset"], "license": record["license"], "language": meta["language"],
            "oi_source": meta["oi_source"], "overall_image": list(record["overall_image"]),
            **record["quality_signals"],
        }
    ]
    # a missing image (no file: a remote picture not fetched) has no row; the rest keep consecutive positions
    items = [(kind, value) for kind, value in split_at_images(record["md"]) if kind != "missing"]
    for position, (kind, value) in enumerate(items):
        if kind == "text":
            rows.append({"sample_id": sample_id, "position": position, "modality": "text",
                         "content_type": "text/markdown", "text_content": value})
            continue
        name = PurePosixPath(value).name
        rows.append({
            "sample_id": sample_id, "position": position, "modality": "image",
            "content_type": image_content_type(name), "source_ref": source_ref(image_uri(name)),
            "binary_content": image_bytes(name) if image_bytes else None,
        })
    return rows
