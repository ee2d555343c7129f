"""Existing interleaved datasets as sources: OBELICS rows (Parquet or JSON Lines) and MMC4 documents (JSON Lines).

One dataset file holds many documents, so ingest *expands* it: :func:`expand_dataset_file` yields one
:class:`~pin_assets.core.expanded.ExpandedDocument` per row, each a small canonical JSON document
(``kind`` ``obelics`` or ``mmc4``) that is stored, hashed and converted like any other raw document.
A row that cannot be read becomes an ``ExpandedDocument`` with an ``error``, which ingest records and
parse quarantines, so "raw documents = records + quarantined" still holds when one file turns into
thousands of documents.

Images are never fetched: they come from an :class:`ImageIndex` over a local folder or tar files, as
img2dataset writes them (``KEY.jpg`` beside ``KEY.json`` holding the ``url``), looked up by file name
(MMC4's ``image_name``) or by URL. An image that is not there is listed in ``missing_images``.

Source schemas:

* OBELICS: ``texts`` and ``images`` are lists of one length with exactly one of the two non-null at each
  index; ``metadata`` a JSON string list (one dict per image: alt text, source URL...);
  ``general_metadata`` a JSON string (document URL, Common Crawl location).
* MMC4: ``url``, ``text_list`` (sentences), ``image_info`` (``{image_name, raw_url, matched_text_index,
  matched_sim}``): each image goes right after the sentence it is matched to.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets.core.doc_assets import IMAGE_SUFFIXES, load_web_image
from pin_assets.core.document import ConversionError, ExtractedImage, ParsedDocument
from pin_assets.core.expanded import ExpandedDocument
from pin_assets.core.jsonl import iter_lines
from pin_assets.core.markdown_text import escape_leading, md_text

DATASET_KINDS = frozenset({"obelics", "mmc4"})
MIME_TYPE = "application/json"
PARQUET_MAGIC = b"PAR1"
MAX_SHARD_BYTES = 8 * 2**30
_OBELICS_KEYS = frozenset({"texts", "images"})
_MMC4_KEYS = frozenset({"text_list", "image_info"})


# ---------------------------------------------------------------------------------------------------
# Recognizing and expanding dataset files


def _row_kind(row: Mapping[str, Any]) -> str | None:
    keys = set(row)
    if keys >= _OBELICS_KEYS:
        return "obelics"
    if keys >= _MMC4_KEYS:
        return "mmc4"
    return None


def unwrap_shard(data: bytes) -> bytes:
    """The JSON Lines inside a ``.jsonl.gz`` or a one-member ``.jsonl.zip`` (how MMC4 ships), else ``data``.

    Decompressed size is capped at :data:`MAX_SHARD_BYTES`, so a compression bomb is refused, not inflated.
    """
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                return _read_capped(handle)
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) == 1 and members[0].filename.lower().endswith((".jsonl", ".json")):
                    with archive.open(members[0]) as handle:
                        return _read_capped(handle)
    except (OSError, EOFError, zipfile.BadZipFile, ValueError):
        return data
    return data


def _read_capped(handle: IO[bytes]) -> bytes:
    data = handle.read(MAX_SHARD_BYTES + 1)
    if len(data) > MAX_SHARD_BYTES:
        raise ValueError("decompressed shard over the size cap")
    return data


def sniff_dataset(data: bytes) -> str | None:
    """``"obelics"`` or ``"mmc4"`` for a Parquet or JSON Lines file of such rows, else ``None``.

    Decided from the content (the Parquet schema, the first JSON line's keys), never the file name.
    Compressed JSON Lines are unwrapped first by the caller (:func:`unwrap_shard`).
    """
    if data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC:
        try:
            names = set(pq.ParquetFile(io.BytesIO(data)).schema_arrow.names)
        except (pa.ArrowException, OSError):
            return None
        return _row_kind(dict.fromkeys(names))
    if data[:256].lstrip()[:1] != b"{":
        return None
    first = next(iter_lines([data[: 4 << 20]]), b"")
    try:
        row = json.loads(first)
    except ValueError:
        return None
    return _row_kind(row) if isinstance(row, dict) else None


def _iter_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(row number, row, error)`` for each row of a Parquet or JSON Lines file."""
    if data[:4] == PARQUET_MAGIC:
        try:
            parquet = pq.ParquetFile(io.BytesIO(data))
            number = 0
            for group in range(parquet.num_row_groups):
                for row in parquet.read_row_group(group).to_pylist():
                    yield number, row, None
                    number += 1
        except (pa.ArrowException, OSError) as exc:
            yield -1, None, f"corrupt: unreadable Parquet: {exc}"
        return
    for number, line in enumerate(iter_lines([data])):
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, None, f"corrupt: line {number + 1} is not JSON: {exc}"
            continue
        if not isinstance(row, dict):
            yield number, None, f"corrupt: line {number + 1} is not a JSON object"
            continue
        yield number, row, None


def expand_dataset_file(
    data: bytes, name: str, uri: str, kind: str, images: ImageIndex | None
) -> Iterator[ExpandedDocument]:
    """Every row of an OBELICS/MMC4 file as a canonical document with its images resolved (or missing).

    The stored document keeps the row's order of texts and images, a content-hash reference for each
    image found (its bytes travel as ``attachments``, stored beside the document) and the row's own
    fields as ``ori_meta``.
    """
    for number, row, error in _iter_rows(data):
        label = f"row{number}" if number >= 0 else "file"
        row_name, row_uri = f"{name}#{label}", f"{uri}#{label}"
        if error is None and row is not None:
            found: dict[str, bytes] = {}
            try:
                document = canonical_document(row, kind, images, found)
            except ValueError as exc:
                error = f"corrupt: {label}: {exc}"
            else:
                payload = json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode()
                yield ExpandedDocument(row_name, row_uri, payload, kind, MIME_TYPE, attachments=tuple(found.items()))
                continue
        raw = json.dumps({"source": row_uri, "row": row}, default=str, sort_keys=True).encode()
        yield ExpandedDocument(row_name, row_uri, raw, "unknown", MIME_TYPE, error)


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


# ---------------------------------------------------------------------------------------------------
# Converting a stored document


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


# ---------------------------------------------------------------------------------------------------
# Where the images are


class ImageIndex:
    """Images in a local folder and/or tar files, by file name and by source URL, read on demand.

    img2dataset writes ``KEY.jpg`` (or ``.png``/``.webp``) with ``KEY.json`` holding the ``url``; that
    sidecar is how an OBELICS image URL finds its file. Tar members are indexed by offset, so a tar of
    thousands of images is never held in memory.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[Path, str | None]] = {}
        self._by_url: dict[str, tuple[Path, str | None]] = {}
        self._tar_members: dict[tuple[Path, str], tarfile.TarInfo] = {}

    @classmethod
    def from_path(cls, root: Path) -> ImageIndex:
        index = cls()
        root = root.expanduser()
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        stems: dict[tuple[Path, str], str] = {}
        urls: dict[tuple[Path, str], str] = {}
        for path in files:
            if path.suffix.lower() == ".tar":
                index._add_tar(path)
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                index._by_name.setdefault(path.name, (path, None))
                stems[(path.parent, path.stem)] = path.name
            elif path.suffix.lower() == ".json":
                url = _sidecar_url(path.read_bytes())
                if url:
                    urls[(path.parent, path.stem)] = url
        for key, url in urls.items():
            if key in stems:
                index._by_url.setdefault(url, index._by_name[stems[key]])
        return index

    def _add_tar(self, path: Path) -> None:
        stems: dict[str, str] = {}
        sidecars: dict[str, str] = {}
        with tarfile.open(path) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                member_path = PurePosixPath(member.name)
                stem = str(member_path.with_suffix(""))
                if member_path.suffix.lower() in IMAGE_SUFFIXES:
                    self._tar_members[(path, member.name)] = member
                    self._by_name.setdefault(member_path.name, (path, member.name))
                    stems[stem] = member.name
                elif member_path.suffix.lower() == ".json" and member.size < 1 << 20:
                    handle = tar.extractfile(member)
                    url = _sidecar_url(handle.read()) if handle else None
                    if url:
                        sidecars[stem] = url
        for stem, url in sidecars.items():
            if stem in stems:
                self._by_url.setdefault(url, (path, stems[stem]))

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, *, name: str | None = None, url: str | None = None) -> bytes | None:
        """The image's bytes by file name first, then by URL; ``None`` when it is not there."""
        where = (self._by_name.get(name) if name else None) or (self._by_url.get(url) if url else None)
        if where is None:
            return None
        path, member = where
        if member is None:
            return path.read_bytes()
        info = self._tar_members[(path, member)]
        with open(path, "rb") as handle:
            handle.seek(info.offset_data)
            return handle.read(info.size)


def _sidecar_url(data: bytes) -> str | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    url = value.get("url") if isinstance(value, dict) else None
    return url if isinstance(url, str) and url else None


def is_image_archive(name: str, data: bytes) -> bool:
    """A tar file holding images (img2dataset's output): image storage for dataset rows, not a document."""
    if not name.lower().endswith(".tar"):
        return False
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return any(PurePosixPath(m.name).suffix.lower() in IMAGE_SUFFIXES for m in tar if m.isfile())
    except (tarfile.TarError, OSError):
        return False


class LazyImageIndex:
    """An :class:`ImageIndex` built on first use, so batches without dataset files never walk the folder.

    Only local folders and tar files are indexed: images are never fetched. An ``images_uri`` set
    explicitly to something else is an error; a non-local *default* (the source itself on S3) just
    means no images, each recorded as missing.
    """

    def __init__(self, uri: str, *, explicit: bool):
        self.uri = uri
        self.explicit = explicit
        self._index: ImageIndex | None = None
        self._built = False

    def get(self) -> ImageIndex | None:
        if not self._built:
            self._built = True
            local = "://" not in self.uri or self.uri.startswith("file://")
            path = Path(self.uri.removeprefix("file://")).expanduser()
            if local and path.exists():
                self._index = ImageIndex.from_path(path)
            elif self.explicit:
                raise ValueError(f"images_uri {self.uri!r} must be an existing local folder or tar file")
        return self._index
