"""Stage `export`: PIN-14M-compatible records, ``partNN/partNN.jsonl`` with its image folders."""

import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Literal

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from pin_assets import layout
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.core.image_refs import ImageSyntax
from pin_assets.core.isolation import TaskFailure
from pin_assets.core.pin_export import MAX_FILES_PER_FOLDER, FolderPartWriter, HubPartWriter, PartWriter
from pin_assets.core.progress import track
from pin_assets.core.record import build_record, document_ori_meta, validate_record
from pin_assets.core.tables import count_rows, iter_rows
from pin_assets.core.text import clean_text
from pin_assets.partitions import batches
from pin_assets.quarantine import quarantine_metadata, quarantine_row, write_quarantine
from resources.storage import StorageResource

STAGE = "export"

class ExportConfig(Config):
    max_docs_per_part: int = Field(default=5000, ge=1, le=MAX_FILES_PER_FOLDER,
                                   description="Documents per part folder.")
    image_syntax: Literal["html", "markdown"] = Field(
        default="html",
        description="How md spells images: 'html' = <img src='content_image/NAME'> as PIN-14M, "
        "'markdown' = ![](content_image/NAME).",
    )
    layout: Literal["folders", "hub"] = Field(
        default="folders",
        description="'folders' = export/pin/<source>/<batch>/partNN/{partNN.jsonl,content_image/,overall_image/}; "
        "'hub' = export/hub/<batch>/data/<source>/partNNNNN/{partNNNNN.jsonl,content_image.tar*,overall_image.tar*}.",
    )
    tar_part_bytes: int = Field(
        default=2 * 2**30, ge=10_240, le=2**40,
        description="Hub layout: largest tar part; bigger tars are split into .partNN files."
    )


def part_writer(storage: StorageResource, config: ExportConfig, root: str) -> PartWriter:
    """A writer of ``config.layout``'s part folders under ``root`` (the staging prefix of this export)."""
    if config.layout == "hub":
        return HubPartWriter(
            storage, lambda part: f"{root}/{layout.hub_part_name(part)}", layout.image, config.max_docs_per_part,
            tar_part_bytes=config.tar_part_bytes,
        )
    return FolderPartWriter(
        storage, lambda part: f"{root}/{layout.folder_part(part)}", layout.image, config.max_docs_per_part
    )


def previous_exports(storage: StorageResource, batch: str, source: str) -> set[str]:
    """Every prefix that may hold an earlier export of ``batch``: what the last export recorded, and both
    layouts under the current source (stores written before exports were recorded)."""
    prefixes = set(layout.record_prefixes(source, batch))
    if storage.exists(layout.export_state(batch)):
        prefixes |= set(json.loads(storage.get_bytes(layout.export_state(batch)))["prefixes"])
    return prefixes


def switch_export(
    storage: StorageResource, batch: str, staged: str | None, final: str, previous: set[str]
) -> None:
    """Put the complete new export (``staged``, None when there is none) in place, then remove every other
    export of the batch.

    Never the other way round: until the new export is whole and in place the previous one stays readable,
    and a run that fails before this point leaves it untouched. Afterwards exactly one export of the batch
    exists, wherever earlier ones were (another source dataset, the other layout).
    """
    if staged is not None:
        storage.replace_prefix(staged, final)
    else:  # no record to export (every document quarantined, and the bound allowed it): no export
        storage.delete_prefix(final)
    for prefix in sorted(previous - {final}):
        storage.delete_prefix(prefix)
    storage.put_bytes(layout.export_state(batch), json.dumps({"prefixes": [final]}).encode())


def batch_source(storage: StorageResource, batch: str) -> str:
    """The batch's source dataset (a batch is one drop of one source), or the batch name if it is empty."""
    for row in iter_rows(storage.open_input(layout.manifest(batch)), ["source_dataset"]):
        return row["source_dataset"]
    return batch


def batch_records(
    storage: StorageResource, batch: str, image_syntax: ImageSyntax = "html", failed: list[dict] | None = None
) -> Iterator[tuple[dict, list[str]]]:
    """Each rendered document of the batch as a validated PIN record, with the storage keys of its renders.

    The one place records are assembled from the stages' outputs: every export format starts here. A
    record that breaks the schema is left out (one document's content never fails a batch) and, when
    ``failed`` is given, added to it as a quarantine row.
    """
    import jsonschema

    from pin_assets.core.convert import oi_source  # with it PyMuPDF: loaded here, not with the definitions

    manifest = {row["doc_id"]: row for row in iter_rows(storage.open_input(layout.manifest(batch)))}
    renders: dict[str, list[str]] = {}
    for row in iter_rows(storage.open_input(layout.renders_index(batch)), ["doc_id", "key"]):
        renders.setdefault(row["doc_id"], []).append(row["key"])
    signals = {row.pop("doc_id"): row for row in iter_rows(storage.open_input(layout.signals(batch)))}
    for row in iter_rows(storage.open_input(layout.markdown(batch))):
        doc_id = row["doc_id"]
        if doc_id not in renders:  # render failed: the document is in the render quarantine
            continue
        doc = manifest[doc_id]
        quality = {k: v for k, v in signals.get(doc_id, {}).items() if k not in ("source_dataset", "batch")}
        record = build_record(
            doc_id=doc_id,
            markdown=row["markdown"],
            overall_images=[PurePosixPath(key).name for key in renders[doc_id]],
            source_dataset=doc["source_dataset"],
            date_download=doc["date_download"],
            license=doc["license"],
            language=row["language"],
            oi_source=oi_source(row["kind"], paired_pdf=bool(doc["paired_pdf_key"])),
            ori_meta=document_ori_meta(
                source_uri=doc["source_uri"], filename=doc["filename"], title=row["title"],
                page_count=row["page_count"], page_offsets=row["page_offsets"],
                scanned_pages=row["scanned_pages"],
                metadata={**json.loads(row["metadata_json"]), **json.loads(doc.get("origin_json") or "{}")},
            ),
            quality_signals=quality,
            image_syntax=image_syntax,
        )
        try:
            validate_record(record)
        except jsonschema.ValidationError as exc:  # one document's content never fails the batch
            if failed is not None:
                failed.append(quarantine_row(doc, STAGE, TaskFailure("invalid_record", "ValidationError", exc.message)))
            continue
        yield record, renders[doc_id]


@asset(
    group_name="export",
    partitions_def=batches,
    deps=["raw_documents", "parsed_markdown", "page_renders", "quality_signals"],
    description="PIN records: partNN/partNN.jsonl with content_image/ and overall_image/ (PIN-14M layout), or "
    "the hub release layout with the images in tar files.",
    kinds={"json"},
    automation_condition=AFTER_UPSTREAM,
)
def pin_records(context: AssetExecutionContext, config: ExportConfig, storage: StorageResource) -> MaterializeResult:
    batch = context.partition_key
    source = batch_source(storage, batch)
    final = layout.record_prefixes(source, batch)[config.layout == "hub"]
    staging_root = layout.staging(batch, "pin_records")
    storage.delete_prefix(staging_root)  # what a killed export left behind
    staged = f"{staging_root}/{context.run_id}"
    writer = part_writer(storage, config, staged)
    records = content_images = overall_images = 0
    failed: list[dict] = []
    progress = track("export", count_rows(storage.open_input(layout.markdown(batch))), context.log)
    for record, render_keys in batch_records(storage, batch, config.image_syntax, failed):
        progress.advance()
        writer.add(record, render_keys)
        records += 1
        content_images += len(record["content_image"])
        overall_images += len(record["overall_image"])
    parts = writer.close()
    progress.finish()
    switch_export(storage, batch, staged if parts else None, final, previous_exports(storage, batch, source))
    for row in failed:
        context.log.warning(f"export quarantined {row['doc_id'][:12]}: {clean_text(row['message'])[:200]}")
    write_quarantine(storage, batch, STAGE, failed)
    return MaterializeResult(
        metadata={
            "records": records,
            "parts": len(parts),
            "content_images": content_images,
            "overall_images": overall_images,
            "layout": config.layout,
            "image_syntax": config.image_syntax,
            "export_path": MetadataValue.path(storage.uri(final)),
            **quarantine_metadata(storage, batch, STAGE, failed),
        }
    )
