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
from pin_assets.core import kinds
from pin_assets.core.datasets.images import LazyImageIndex
from pin_assets.core.document import ConversionError
from pin_assets.core.progress import track
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.sources.expanded import ContainerFile, ExpandedAsset, ExpandedDocument
from pin_assets.core.sources.listing import SourceFile, iter_source
from pin_assets.core.sources.triage import FileBytes, triage
from pin_assets.core.tables import ASSETS, MANIFEST, RowGroupWriter, write_table
from pin_assets.partitions import batches
from resources.storage import StorageResource


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


def pair_documents_with_pages(docs: dict[str, dict], assets: list[dict]) -> None:
    """A document of kind P with the same folder and stem as a document whose kind takes its pages from P
    (``paired_pages``: a JATS article and its PDF, as PMC ships them side by side) is that document's original
    pages: it becomes an asset of it (rendered as its overall images, ``oi_source = "ori"``), not a document.
    """
    pairing = {k.name: k.paired_pages for k in kinds.kinds() if k.paired_pages}
    owners = {
        (str(PurePosixPath(d["relpath"]).with_suffix("")), pairing[d["kind"]]): d
        for d in docs.values() if d["kind"] in pairing
    }
    for sha, doc in list(docs.items()):
        owner = owners.get((str(PurePosixPath(doc["relpath"]).with_suffix("")), doc["kind"]))
        if owner is not None:
            owner["paired_pdf_key"] = doc["raw_key"]
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
    containers: dict[str, dict[str, Any]] = {}
    files = total_bytes = duplicates = 0
    images = LazyImageIndex(spec.images_uri or spec.source_uri, explicit=bool(spec.images_uri))
    stored_assets: set[str] = set()
    progress = track("ingest", None, context.log, unit="files")
    for source in iter_source(spec.source_uri, s3_client_factory=storage.s3_client_factory()):
        data = source.read()
        files += 1
        progress.advance()
        total_bytes += len(data)
        relpath = relative_path(spec.source_uri, source)
        verdict = triage(FileBytes.of(source.name, data))
        if verdict.role == "container":  # one file, many documents: each stored and accounted for on its own
            file = ContainerFile(source.name, source.uri, relpath, images)
            for item in kinds.container(verdict.kind).expand(data, file, verdict.tag):
                if isinstance(item, ExpandedAsset):
                    _add_asset(storage, batch, item, assets, stored_assets)
                else:
                    _add_member(storage, batch, spec, item, file, dates, today, docs, assets, stored_assets)
            _add_summary(containers.setdefault(verdict.kind, {"files": 0}), file.summary)
        elif verdict.role == "image":
            sha = hashlib.sha256(data).hexdigest()
            key = layout.raw_object(batch, sha, PurePosixPath(source.name).suffix.lower().lstrip(".") or "bin")
            _store(storage, key, data)
            assets.append(asset_row(relpath, sha, key, len(data), source.uri, "image"))
        elif verdict.role == "document":
            member = ExpandedDocument(source.name, source.uri, data, verdict.kind, None, verdict.error, relpath=relpath)
            if not _add_member(storage, batch, spec, member, None, dates, today, docs, assets, stored_assets):
                duplicates += 1
        # image archives hold the images of OBELICS/MMC4 rows, read through `images`
    progress.finish()
    pair_documents_with_pages(docs, assets)
    with storage.staged_file(layout.manifest(batch), ".parquet") as path, RowGroupWriter(path, MANIFEST) as out:
        for row in docs.values():
            out.add(row)
    with storage.staged_file(layout.assets_manifest(batch), ".parquet") as path:
        write_table(path, assets, ASSETS)
    by_kind: dict[str, int] = {}
    for row in docs.values():
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + 1
    context.log.info(
        f"batch {batch}: {files} files -> {len(docs)} documents and {len(assets)} assets from {spec.source_uri}"
    )
    return MaterializeResult(
        metadata={
            "documents": len(docs),
            "assets": len(assets),
            "files_seen": files,
            "files_expanded": sum(c["files"] for c in containers.values()),
            "duplicate_files": duplicates,
            "bytes": MetadataValue.int(total_bytes),
            "kinds": MetadataValue.json(by_kind),
            "source_uri": MetadataValue.text(spec.source_uri),
            "source_dataset": MetadataValue.text(spec.source_dataset),
            "manifest": MetadataValue.path(storage.uri(layout.manifest(batch))),
            **{name: MetadataValue.json(summary) for name, summary in containers.items()},
        }
    )


def _store(storage: StorageResource, key: str, data: bytes) -> None:
    """Content-addressed: an object already stored under its hash is never written again."""
    if not storage.exists(key):
        storage.put_bytes(key, data)


def _add_member(
    storage: StorageResource, batch: str, spec: BatchSpec, member: ExpandedDocument, container: ContainerFile | None,
    dates: dict[str, str], today: str, docs: dict[str, dict], assets: list[dict], stored_assets: set[str],
) -> bool:
    """One document, a file of its own or carved out of a container: stored and listed once by content.

    The same content twice is one document with every source URI kept; returns False then."""
    sha = hashlib.sha256(member.data).hexdigest()
    if sha in docs:
        docs[sha]["alt_source_uris"].append(member.uri)
        return False
    kind, error = member.kind, member.error
    if kind is None:  # a container's member whose kind its content decides (a WARC record's page)
        try:
            kind = detect_kind(member.data, member.name)
        except ConversionError as exc:
            kind, error = "unknown", f"{exc.reason}: {exc}"
    key = layout.raw_object(batch, sha, member.ext or kinds.raw_extension(kind))
    _store(storage, key, member.data)
    for ref, data in member.attachments:
        _add_asset(storage, batch, ExpandedAsset(ref, data, member.uri, ref.rsplit(".", 1)[1]), assets, stored_assets)
    relpath = member.relpath
    if relpath is None and container is not None:
        relpath = container.relpath + member.uri[member.uri.rfind("#"):]
    docs[sha] = {
        "doc_id": sha, "sha256": sha, "source_uri": member.uri, "alt_source_uris": [],
        "source_dataset": spec.source_dataset, "filename": member.name, "kind": kind,
        "mime": member.mime or kinds.mime_type(kind), "detect_error": error, "bytes": len(member.data),
        "license": spec.license, "date_download": member.date or dates.get(sha, today), "raw_key": key,
        "relpath": relpath, "paired_pdf_key": None,
        "origin_json": json.dumps(member.origin, ensure_ascii=False) if member.origin else None,
    }
    return True


def _add_asset(
    storage: StorageResource, batch: str, asset: ExpandedAsset, assets: list[dict], stored_assets: set[str]
) -> None:
    """A file documents refer to (a dataset row's image, a WARC's image), stored and listed once per path."""
    if asset.relpath in stored_assets:
        return
    stored_assets.add(asset.relpath)
    sha = hashlib.sha256(asset.data).hexdigest()
    key = layout.raw_object(batch, sha, asset.ext)
    _store(storage, key, asset.data)
    assets.append(asset_row(asset.relpath, sha, key, len(asset.data), asset.uri, "image"))


def _add_summary(total: dict[str, Any], summary: dict[str, Any]) -> None:
    """Add one container file's counts to its kind's: numbers and per-reason counts summed, flags and-ed."""
    total["files"] += 1
    for name, value in summary.items():
        if isinstance(value, bool):
            total[name] = total.get(name, True) and value
        elif isinstance(value, dict):
            into = total.setdefault(name, {})
            for reason, count in value.items():
                into[reason] = into.get(reason, 0) + count
        else:
            total[name] = total.get(name, 0) + value
