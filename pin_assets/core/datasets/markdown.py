"""A stored OBELICS/MMC4 document (see :mod:`pin_assets.core.datasets.rows`) to Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pin_assets.core.content_images import load_web_image
from pin_assets.core.document import ConversionError, ExtractedImage, ParsedDocument
from pin_assets.core.markup.markdown import escape_leading, md_text

if TYPE_CHECKING:
    from pin_assets.core.kinds import ConvertJob


def convert_dataset(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``obelics`` and ``mmc4`` kinds' converter: the row's images were stored beside it at ingest."""
    return dataset_to_markdown(data, job.assets, max_image_pixels=job.limits.max_image_pixels)


def dataset_to_markdown(
    data: bytes, assets: Mapping[str, bytes] | None, *, max_image_pixels: int | None
) -> ParsedDocument:
    """Markdown with the images inline in the row's own order; unavailable images listed, not fatal."""
    try:
        document = json.loads(data)
        items = document["items"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConversionError("corrupt", f"not a stored OBELICS/MMC4 document: {exc}") from exc
    blocks: list[str] = []
    extracted: list[ExtractedImage] = []
    missing: list[str] = []
    for item in items:
        if item["type"] == "text":
            blocks += [escape_leading(md_text(p.strip())) for p in item["text"].split("\n\n") if p.strip()]
            continue
        raw = (assets or {}).get(item.get("ref") or "")
        where = f"image {item.get('url') or item.get('name')}"
        image = load_web_image(raw, item.get("alt"), max_pixels=max_image_pixels, where=where) if raw else None
        if image is None:
            missing.append(item.get("url") or item.get("name") or "")
            continue
        extracted.append(image)
        alt = (item.get("alt") or "").replace("[", "(").replace("]", ")").replace("\n", " ")
        blocks.append(f"![{alt}](content_image/{image.name})")
    metadata: dict[str, Any] = dict(document.get("ori_meta") or {})
    metadata["source_format"] = document.get("format")
    if document.get("url"):
        metadata.setdefault("url", document["url"])
    metadata["missing_images"] = json.dumps(missing)
    return ParsedDocument(markdown="\n\n".join(blocks) + "\n", images=extracted, metadata=metadata)
