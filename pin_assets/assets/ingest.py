"""Stage `ingest`: copy a batch's raw files into the store, content-addressed, with a manifest."""

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from pin_assets import layout
from pin_assets.batches import BatchSpec, load_spec
from pin_assets.core.datasets.images import LazyImageIndex, is_image_archive
from pin_assets.core.datasets.shards import expand_dataset_file, sniff_dataset, unwrap_shard
from pin_assets.core.document import ConversionError
from pin_assets.core.html.warc import is_warc, read_warc_bytes, warc_failure
from pin_assets.core.progress import track
from pin_assets.core.sources.assets import is_image_file
from pin_assets.core.sources.detect import MIME_TYPES, detect_kind
from pin_assets.core.sources.expanded import ExpandedDocument
from pin_assets.core.sources.listing import SourceFile, iter_source
from pin_assets.core.tables import ASSETS, MANIFEST, RowGroupWriter, write_table
from pin_assets.partitions import batches
from resources.storage import StorageResource

EXTENSIONS = {"pdf": "pdf", "jats": "xml", "html": "html", "markdown": "md", "text": "txt"}


class IngestConfig(Config):
    """Overrides for a batch that was added in the UI without `pin batch add`."""

    source_uri: str = Field(default="", description="Folder or file to ingest; default: the batch's spec.")
    source_dataset: str = Field(default="", description="Source name in the records (arxiv, pmc, ...).")
    license: str = Field(default="", description="License string for the records.")
    images_uri: str = Field(
        default="",
        description="OBELICS/MMC4 sources: local folder or tar file(s) of the rows' images (img2dataset output); "
        "default: the batch's images_uri, else the source folder. Images are never fetched.",
    )


def resolve_spec(storage: StorageResource, batch: str, config: IngestConfig) -> BatchSpec:
    spec = load_spec(storage, batch)
    if config.source_uri:
        return BatchSpec(
            name=batch,
            source_uri=config.source_uri,
            source_dataset=config.source_dataset or (spec.source_dataset if spec else batch),
            license=config.license or (spec.license if spec else "unknown"),
            images_uri=config.images_uri or (spec.images_uri if spec else ""),
        )
    if spec is not None and config.images_uri:
        return replace(spec, images_uri=config.images_uri)
    if spec is None:
        raise ValueError(
            f"batch {batch!r} has no source: register it with `pin batch add {batch} SOURCE` "
            "or set source_uri in the raw_documents run config"
        )
    return spec


def _previous_dates(storage: StorageResource, batch: str) -> dict[str, str]:
    """Download dates of documents already ingested, so re-ingesting a batch changes nothing."""
    key = layout.manifest(batch)
    if not storage.exists(key):
        return {}
    table = pq.read_table(storage.open_input(key), columns=["doc_id", "date_download"])
    return dict(zip(table["doc_id"].to_pylist(), table["date_download"].to_pylist(), strict=True))


def relative_path(source_uri: str, file: SourceFile) -> str:
    """Where a file sits inside its source, so documents can find the figures next to them."""
    if file.path is not None:
        root = Path(source_uri.removeprefix("file://")).expanduser().resolve()
        return file.path.resolve().relative_to(root).as_posix() if root.is_dir() else file.name
    root_uri = source_uri.rstrip("/")
    return file.uri[len(root_uri) + 1 :] if file.uri.startswith(root_uri + "/") else file.name


def pair_articles_with_pdfs(docs: dict[str, dict], assets: list[dict]) -> None:
    """A PDF with the same folder and stem as a JATS article is that article's original pages.

    It becomes an asset of the article (rendered as its overall images, ``oi_source = "ori"``) instead
    of a document of its own, as PMC ships an article's XML and PDF side by side.
    """
    articles = {str(PurePosixPath(d["relpath"]).with_suffix("")): d for d in docs.values() if d["kind"] == "jats"}
    for sha, doc in list(docs.items()):
        article = articles.get(str(PurePosixPath(doc["relpath"]).with_suffix(""))) if doc["kind"] == "pdf" else None
        if article is not None:
            article["paired_pdf_key"] = doc["raw_key"]
            assets.append(asset_row(doc["relpath"], sha, doc["raw_key"], doc["bytes"], doc["source_uri"], "paired_pdf"))
            del docs[sha]


def asset_row(relpath: str, sha: str, key: str, size: int, uri: str, role: str) -> dict:
    return {"relpath": relpath, "sha256": sha, "raw_key": key, "bytes": size, "source_uri": uri, "role": role}


@asset(
    group_name="ingest",
    partitions_def=batches,
    description="Raw documents of a batch, stored by sha256, a manifest Parquet (one row per document) and the "
    "files that travel with them (figures, an article's PDF).",
    kinds={"parquet"},
)
def raw_documents(
    context: AssetExecutionContext, config: IngestConfig, storage: StorageResource
) -> MaterializeResult:
    batch = context.partition_key
    spec = resolve_spec(storage, batch, config)
    dates = _previous_dates(storage, batch)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    docs: dict[str, dict] = {}
    assets: list[dict] = []
    warc: dict[str, Any] = {"files": 0, "records": 0, "pages": 0, "images": 0, "skipped": {}, "balanced": True}
    files = total_bytes = expanded_files = duplicates = 0
    images = LazyImageIndex(spec.images_uri or spec.source_uri, explicit=bool(spec.images_uri))
    stored_images: set[str] = set()
    progress = track("ingest", None, context.log, unit="files")
    for source in iter_source(spec.source_uri, s3_client_factory=storage.s3_client_factory()):
        data = source.read()
        files += 1
        progress.advance()
        total_bytes += len(data)
        sha = hashlib.sha256(data).hexdigest()
        relpath = relative_path(spec.source_uri, source)
        if is_warc(source.name, data[:4096]):
            _expand_warc(storage, batch, spec, source, data, docs, assets, warc)
            continue
        if is_image_file(source.name, data[:16]):
            key = layout.raw_object(batch, sha, PurePosixPath(source.name).suffix.lower().lstrip(".") or "bin")
            _store(storage, key, data)
            assets.append(asset_row(relpath, sha, key, len(data), source.uri, "image"))
            continue
        if is_image_archive(source.name, data):  # images of OBELICS/MMC4 rows, read through `images`
            continue
        shard = unwrap_shard(data)
        dataset_kind = sniff_dataset(shard)
        if dataset_kind:  # one file, many documents: each row is stored and accounted for on its own
            expanded_files += 1
            for member in expand_dataset_file(shard, source.name, source.uri, dataset_kind, images.get()):
                _add_member(storage, batch, spec, member, relpath, dates, today, docs, assets, stored_images)
            continue
        if sha in docs:  # the same content twice: one document, every source URI kept
            docs[sha]["alt_source_uris"].append(source.uri)
            duplicates += 1
            continue
        try:
            kind, error = detect_kind(data, source.name), None
        except ConversionError as exc:
            kind, error = "unknown", f"{exc.reason}: {exc}"
        key = layout.raw_object(batch, sha, EXTENSIONS.get(kind, "bin"))
        _store(storage, key, data)
        docs[sha] = {
            "doc_id": sha, "sha256": sha, "source_uri": source.uri, "alt_source_uris": [],
            "source_dataset": spec.source_dataset, "filename": source.name, "kind": kind,
            "mime": MIME_TYPES.get(kind, "application/octet-stream"), "detect_error": error,
            "bytes": len(data), "license": spec.license, "date_download": dates.get(sha, today),
            "raw_key": key, "relpath": relpath, "paired_pdf_key": None,
        }
    progress.finish()
    pair_articles_with_pdfs(docs, assets)
    with storage.staged_file(layout.manifest(batch), ".parquet") as path, RowGroupWriter(path, MANIFEST) as out:
        for row in docs.values():
            out.add(row)
    with storage.staged_file(layout.assets_manifest(batch), ".parquet") as path:
        write_table(path, assets, ASSETS)
    kinds: dict[str, int] = {}
    for row in docs.values():
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    context.log.info(
        f"batch {batch}: {files} files -> {len(docs)} documents and {len(assets)} assets from {spec.source_uri}"
    )
    return MaterializeResult(
        metadata={
            "documents": len(docs),
            "assets": len(assets),
            "files_seen": files,
            "files_expanded": expanded_files,
            "duplicate_files": duplicates,
            "bytes": MetadataValue.int(total_bytes),
            "kinds": MetadataValue.json(kinds),
            "source_uri": MetadataValue.text(spec.source_uri),
            "source_dataset": MetadataValue.text(spec.source_dataset),
            "manifest": MetadataValue.path(storage.uri(layout.manifest(batch))),
            **({"warc": MetadataValue.json(warc)} if warc["files"] else {}),
        }
    )


def _expand_warc(
    storage: StorageResource, batch: str, spec: BatchSpec, source: SourceFile, data: bytes,
    docs: dict[str, dict], assets: list[dict], counts: dict[str, Any],
) -> None:
    """One WARC file: each HTML response a document (URL and crawl date as its origin), each image response
    an asset keyed by its URL; a WARC that broke off or holds no page is itself a document that fails."""
    contents = read_warc_bytes(data)
    counts["files"] += 1
    counts["records"] += contents.records
    counts["pages"] += len(contents.pages)
    counts["images"] += contents.image_records
    for reason, n in contents.skipped.items():
        counts["skipped"][reason] = counts["skipped"].get(reason, 0) + n
    counts["balanced"] = counts["balanced"] and contents.balanced
    for url, image in contents.images.items():
        sha = hashlib.sha256(image).hexdigest()
        key = layout.raw_object(batch, sha, PurePosixPath(url.split("?")[0]).suffix.lower().lstrip(".")[:5] or "bin")
        _store(storage, key, image)
        assets.append(asset_row(url, sha, key, len(image), url, "image"))
    for page in contents.pages:
        origin = {"url": page.url, "crawl_date": page.crawl_date, "warc_record_id": page.record_id}
        uri = f"{source.uri}#{page.record_id}"
        _add_document(storage, batch, spec, docs, page.body, uri, page.url, page.url, page.crawl_date[:10], origin)
    failure = warc_failure(contents)
    if failure is not None:
        row = _add_document(storage, batch, spec, docs, data, source.uri, source.name, source.name, None, None)
        row.update(kind="unknown", mime="application/warc", detect_error=f"{failure.reason}: {failure}")


def _add_document(
    storage: StorageResource, batch: str, spec: BatchSpec, docs: dict[str, dict], data: bytes, uri: str,
    name: str, relpath: str, date: str | None, origin: dict | None,
) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    if sha in docs:  # the same content twice: one document, every source URI kept
        docs[sha]["alt_source_uris"].append(uri)
        return docs[sha]
    try:
        kind, error = detect_kind(data, name), None
    except ConversionError as exc:
        kind, error = "unknown", f"{exc.reason}: {exc}"
    key = layout.raw_object(batch, sha, EXTENSIONS.get(kind, "bin"))
    _store(storage, key, data)
    docs[sha] = {
        "doc_id": sha, "sha256": sha, "source_uri": uri, "alt_source_uris": [],
        "source_dataset": spec.source_dataset, "filename": name, "kind": kind,
        "mime": MIME_TYPES.get(kind, "application/octet-stream"), "detect_error": error,
        "bytes": len(data), "license": spec.license, "date_download": date or datetime.now(UTC).strftime("%Y-%m-%d"),
        "raw_key": key, "relpath": relpath, "paired_pdf_key": None,
        "origin_json": json.dumps(origin, ensure_ascii=False) if origin else None,
    }
    return docs[sha]


def _store(storage: StorageResource, key: str, data: bytes) -> None:
    """Content-addressed: an object already stored under its hash is never written again."""
    if not storage.exists(key):
        storage.put_bytes(key, data)


def _add_member(
    storage: StorageResource, batch: str, spec: BatchSpec, member: ExpandedDocument, relpath: str,
    dates: dict[str, str], today: str, docs: dict[str, dict], assets: list[dict], stored_images: set[str],
) -> None:
    """One document carved out of a multi-document file: stored and listed like a file of its own."""
    sha = hashlib.sha256(member.data).hexdigest()
    if sha in docs:
        docs[sha]["alt_source_uris"].append(member.uri)
        return
    key = layout.raw_object(batch, sha, "json")
    _store(storage, key, member.data)
    for ref, data in member.attachments:
        if ref in stored_images:
            continue
        stored_images.add(ref)
        image_key = layout.raw_object(batch, ref.rsplit(".", 1)[0], ref.rsplit(".", 1)[1])
        _store(storage, image_key, data)
        assets.append(asset_row(ref, ref.rsplit(".", 1)[0], image_key, len(data), member.uri, "image"))
    docs[sha] = {
        "doc_id": sha, "sha256": sha, "source_uri": member.uri, "alt_source_uris": [],
        "source_dataset": spec.source_dataset, "filename": member.name, "kind": member.kind,
        "mime": member.mime, "detect_error": member.error, "bytes": len(member.data), "license": spec.license,
        "date_download": dates.get(sha, today), "raw_key": key, "relpath": relpath + member.uri[member.uri.rfind("#"):],
        "paired_pdf_key": None,
    }
