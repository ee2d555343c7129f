"""Stage `export`, NeMo Curator flavour: a batch's records as interleaved Parquet in ``INTERLEAVED_SCHEMA``."""

from pathlib import Path

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from pin_assets import layout
from pin_assets.assets.export import batch_records
from pin_assets.assets.signals import SIGNALS
from pin_assets.core.nemo_export import document_rows, interleaved_schema
from pin_assets.core.tables import RowGroupWriter
from pin_assets.partitions import batches
from resources.storage import StorageResource

# Signal columns of the metadata row: every column of the signals table that is about the document.
SIGNAL_COLUMNS = {f.name: f.type for f in SIGNALS if f.name not in ("doc_id", "batch", "source_dataset")}
SCHEMA = interleaved_schema(SIGNAL_COLUMNS)


class InterleavedConfig(Config):
    inline_images: bool = Field(
        default=False,
        description="Write each image's bytes into binary_content too (source_ref is always set).",
    )


def _absolute_uri(uri: str) -> str:
    """``source_ref`` paths must not depend on the reader's working directory."""
    return uri if "://" in uri else str(Path(uri).resolve())


@asset(
    group_name="export",
    partitions_def=batches,
    deps=["raw_documents", "parsed_markdown", "page_renders", "quality_signals"],
    description="NeMo Curator interleaved Parquet (INTERLEAVED_SCHEMA): text and image rows in reading order, "
    "a metadata row (position -1) with the PIN meta and quality signals; source_ref points at the stored image.",
    kinds={"parquet"},
    automation_condition=AutomationCondition.eager(),
)
def interleaved_documents(
    context: AssetExecutionContext, config: InterleavedConfig, storage: StorageResource
) -> MaterializeResult:
    batch = context.partition_key
    key = layout.interleaved(batch)

    def image_uri(name: str) -> str:
        return _absolute_uri(storage.uri(layout.image(name)))

    def image_bytes(name: str) -> bytes:
        return storage.get_bytes(layout.image(name))

    documents = rows = images = 0
    modalities: dict[str, int] = {}
    group = 64 if config.inline_images else 2048  # inline bytes: keep a row group's images few
    with storage.staged_file(key, ".parquet") as path, RowGroupWriter(path, SCHEMA, rows_per_group=group) as out:
        for record, _ in batch_records(storage, batch):
            for row in document_rows(record, image_uri, image_bytes if config.inline_images else None):
                out.add(row)
                modalities[row["modality"]] = modalities.get(row["modality"], 0) + 1
                rows += 1
            documents += 1
            images += len(record["content_image"])
    return MaterializeResult(
        metadata={
            "documents": documents,
            "rows": rows,
            "rows_by_modality": MetadataValue.json(modalities),
            "images_inline": config.inline_images,
            "path": MetadataValue.path(storage.uri(key)),
            "schema": MetadataValue.text(str(pa.schema(list(SCHEMA)[:8]))),
        }
    )
