"""Stage `ingest`: copy a batch's raw files into the store, content-addressed, with a manifest."""

import hashlib
from datetime import UTC, datetime

import pyarrow.parquet as pq
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from pin_assets import layout
from pin_assets.batches import BatchSpec, load_spec
from pin_assets.core.detect import MIME_TYPES, detect_kind
from pin_assets.core.document import ConversionError
from pin_assets.core.sources import iter_source
from pin_assets.core.tables import MANIFEST, RowGroupWriter
from pin_assets.partitions import batches
from resources.storage import StorageResource

EXTENSIONS = {"pdf": "pdf", "jats": "xml", "html": "html", "markdown": "md", "text": "txt"}


class IngestConfig(Config):
    """Overrides for a batch that was added in the UI without `pin batch add`."""

    source_uri: str = Field(default="", description="Folder or file to ingest; default: the batch's spec.")
    source_dataset: str = Field(default="", description="Source name in the records (arxiv, pmc, ...).")
    license: str = Field(default="", description="License string for the records.")


def resolve_spec(storage: StorageResource, batch: str, config: IngestConfig) -> BatchSpec:
    spec = load_spec(storage, batch)
    if config.source_uri:
        return BatchSpec(
            name=batch,
            source_uri=config.source_uri,
            source_dataset=config.source_dataset or (spec.source_dataset if spec else batch),
            license=config.license or (spec.license if spec else "unknown"),
        )
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


@asset(
    group_name="ingest",
    partitions_def=batches,
    description="Raw documents of a batch, stored by sha256, and a manifest Parquet (one row per document).",
    kinds={"parquet"},
)
def raw_documents(
    context: AssetExecutionContext, config: IngestConfig, storage: StorageResource
) -> MaterializeResult:
    batch = context.partition_key
    spec = resolve_spec(storage, batch, config)
    dates = _previous_dates(storage, batch)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    rows: dict[str, dict] = {}
    files = total_bytes = 0
    for source in iter_source(spec.source_uri):
        data = source.read()
        files += 1
        sha = hashlib.sha256(data).hexdigest()
        if sha in rows:  # the same content twice: one document, every source URI kept
            rows[sha]["alt_source_uris"].append(source.uri)
            continue
        try:
            kind, error = detect_kind(data, source.name), None
        except ConversionError as exc:
            kind, error = "unknown", f"{exc.reason}: {exc}"
        key = layout.raw_object(batch, sha, EXTENSIONS.get(kind, "bin"))
        if not storage.exists(key):
            storage.put_bytes(key, data)
        total_bytes += len(data)
        rows[sha] = {
            "doc_id": sha, "sha256": sha, "source_uri": source.uri, "alt_source_uris": [],
            "source_dataset": spec.source_dataset, "filename": source.name, "kind": kind,
            "mime": MIME_TYPES.get(kind, "application/octet-stream"), "detect_error": error,
            "bytes": len(data), "license": spec.license, "date_download": dates.get(sha, today),
            "raw_key": key,
        }
    with storage.staged_file(layout.manifest(batch), ".parquet") as path, RowGroupWriter(path, MANIFEST) as out:
        for row in rows.values():
            out.add(row)
    kinds: dict[str, int] = {}
    for row in rows.values():
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    context.log.info(f"batch {batch}: {files} files -> {len(rows)} documents from {spec.source_uri}")
    return MaterializeResult(
        metadata={
            "documents": len(rows),
            "files_seen": files,
            "duplicate_files": files - len(rows),
            "bytes": MetadataValue.int(total_bytes),
            "kinds": MetadataValue.json(kinds),
            "source_uri": MetadataValue.text(spec.source_uri),
            "source_dataset": MetadataValue.text(spec.source_dataset),
            "manifest": MetadataValue.path(storage.uri(layout.manifest(batch))),
        }
    )
