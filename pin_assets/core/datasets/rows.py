"""OBELICS rows and MMC4 documents as one canonical stored document: texts and images in their order.

The canonical form, ``{"format", "url", "items": [text | image items], "ori_meta"}``, is what ingest
stores for each row and what :mod:`pin_assets.core.datasets.markdown` converts; an image item carries a
content-hash ``ref`` when its bytes were found (they are stored beside the document).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pin_assets.core.datasets.images import ImageIndex
from pin_assets.core.sources.assets import IMAGE_SUFFIXES

_OBELICS_KEYS = frozenset({"texts", "images"})
_MMC4_KEYS = frozenset({"text_list", "image_info"})


def row_kind(row: Mapping[str, Any]) -> str | None:
    keys = set(row)
    if keys >= _OBELICS_KEYS:
        return "obelics"
    if keys >= _MMC4_KEYS:
        return "mmc4"
    return None


def _json_field(value: Any, what: str) -> Any:
    """OBELICS stores ``metadata``/``general_metadata`` as JSON strings; accept decoded values too."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from exc
    return value


def _image_item(
    images: ImageIndex | None, found: dict[str, bytes], url: str | None, name: str | None, alt: str | None
) -> dict[str, Any]:
    data = images.get(name=name, url=url) if images else None
    ref = None
    if data:
        ext = PurePosixPath(name or (url or "").split("?", 1)[0]).suffix.lower()
        ref = f"{hashlib.sha256(data).hexdigest()}{ext if ext in IMAGE_SUFFIXES else '.img'}"
        found[ref] = data
    return {"type": "image", "url": url, "name": name, "alt": alt, "ref": ref}


def canonical_document(
    row: Mapping[str, Any], kind: str, images: ImageIndex | None, found: dict[str, bytes]
) -> dict[str, Any]:
    """The row as ``{"format", "url", "items": [text | image items], "ori_meta"}``; ValueError if malformed.

    Images found in ``images`` are added to ``found`` under the reference their item carries.
    """
    if kind == "obelics":
        return _obelics(row, images, found)
    if kind == "mmc4":
        return _mmc4(row, images, found)
    raise ValueError(f"unknown dataset kind {kind!r}")


def _obelics(row: Mapping[str, Any], images: ImageIndex | None, found: dict[str, bytes]) -> dict[str, Any]:
    texts, urls = row.get("texts"), row.get("images")
    if not isinstance(texts, list) or not isinstance(urls, list) or len(texts) != len(urls):
        raise ValueError("OBELICS row needs 'texts' and 'images' lists of the same length")
    per_image = _json_field(row.get("metadata"), "metadata") or []
    if not isinstance(per_image, list):
        raise ValueError("OBELICS 'metadata' must be a JSON list")
    items = []
    for index, (text, url) in enumerate(zip(texts, urls, strict=True)):
        if (text is None) == (url is None):
            raise ValueError(f"index {index}: exactly one of texts/images must be non-null")
        if text is not None:
            items.append({"type": "text", "text": str(text)})
            continue
        meta = per_image[index] if index < len(per_image) and isinstance(per_image[index], dict) else {}
        items.append(_image_item(images, found, str(url), None, meta.get("alt_text")))
    ori_meta = {k: v for k, v in row.items() if k not in ("texts", "images")}
    general = _json_field(row.get("general_metadata"), "general_metadata")
    url = general.get("url") if isinstance(general, dict) else None
    return {"format": "obelics", "url": url, "items": items, "ori_meta": ori_meta}


def _mmc4(row: Mapping[str, Any], images: ImageIndex | None, found: dict[str, bytes]) -> dict[str, Any]:
    sentences, infos = row.get("text_list"), row.get("image_info") or []
    if not isinstance(sentences, list) or not isinstance(infos, list):
        raise ValueError("MMC4 document needs a 'text_list' list and an 'image_info' list")
    after: dict[int, list[dict[str, Any]]] = {}
    for order, info in enumerate(infos):
        if not isinstance(info, dict) or not isinstance(info.get("matched_text_index"), int):
            raise ValueError(f"image_info[{order}] needs an integer matched_text_index")
        index = min(max(info["matched_text_index"], 0), max(len(sentences) - 1, 0))
        after.setdefault(index, []).append(info)
    items: list[dict[str, Any]] = []
    for index, sentence in enumerate(sentences or [None]):
        if sentence is not None:
            items.append({"type": "text", "text": str(sentence)})
        for info in after.get(index, []):
            items.append(_image_item(images, found, info.get("raw_url"), info.get("image_name"), None))
    ori_meta = {k: v for k, v in row.items() if k != "text_list"}
    return {"format": "mmc4", "url": row.get("url"), "items": items, "ori_meta": ori_meta}


def dataset_image_refs(document: bytes) -> dict[str, str]:
    """``ref -> url`` of the resolved images of a stored canonical document (what parse must load)."""
    items = json.loads(document).get("items", [])
    return {item["ref"]: item.get("url") or "" for item in items if item.get("type") == "image" and item.get("ref")}
