"""Stage `render`: overall images, every PDF page rasterized or a compiled render of the Markdown."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pin_assets import layout
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.core import kinds
from pin_assets.core.document import ExtractedImage, ParsedDocument
from pin_assets.core.isolation import TaskFailure, run_isolated
from pin_assets.core.progress import track
from pin_assets.core.tables import RENDERS, RowGroupWriter, count_rows, iter_rows
from pin_assets.partitions import batches
from pin_assets.quarantine import (
    RetryConfig,
    quarantine_metadata,
    quarantine_rate_check,
    quarantine_row,
    rate_check_spec,
    stage_quarantined_ids,
    write_quarantine,
)
from resources.processing import ProcessingResource
from resources.storage import StorageResource

STAGE = "render"


def parsed_from_row(storage: StorageResource, row: dict) -> ParsedDocument:
    """Rebuild what a compiled render needs (Markdown, images, page offsets) from the parse output."""
    images = [
        ExtractedImage(storage.get_bytes(layout.image(i["name"])), i["name"].rsplit(".", 1)[-1],
                       i["width"], i["height"], i["caption"])
        for i in row["images"]
    ]
    return ParsedDocument(
        markdown=row["markdown"], images=images, page_offsets=row["page_offsets"], page_count=row["page_count"]
    )


@asset(
    group_name="render",
    partitions_def=batches,
    deps=["raw_documents", "parsed_markdown"],
    description="Overall images: one per page of a paged kind (PDF, PyMuPDF), or a paginated compiled render for "
    "other kinds.",
    kinds={"pymupdf"},
    automation_condition=AFTER_UPSTREAM,
    pool="pin_cpu",
    check_specs=[rate_check_spec("page_renders")],
)
def page_renders(
    context: AssetExecutionContext, config: RetryConfig, storage: StorageResource, processing: ProcessingResource
) -> MaterializeResult:
    # PyMuPDF and the converters load in the step, not in every process that imports the definitions.
    from pin_assets.core.convert import render_to_folder

    batch = context.partition_key
    limits, options = processing.limits(), processing.render_options()
    columns = ["doc_id", "raw_key", "source_uri", "paired_pdf_key"]
    manifest = {row["doc_id"]: row for row in iter_rows(storage.open_input(layout.manifest(batch)), columns)}
    keep = _kept_documents(storage, batch) if config.retry_quarantined_only else set()
    index = layout.renders_index(batch)
    before = {r["doc_id"] for r in iter_rows(storage.open_input(index), ["doc_id"])} if storage.exists(index) else set()
    rendered: set[str] = set()
    failed: list[dict] = []
    docs = pages = total_bytes = processed = resized = 0
    scratch = Path(tempfile.mkdtemp(prefix="pin-render-"))

    markdown = storage.open_input(layout.markdown(batch))

    def jobs() -> Iterator[dict]:
        for row in iter_rows(markdown):
            if row["doc_id"] in keep:
                continue
            row["folder"] = str(Path(tempfile.mkdtemp(dir=scratch)))
            row.update(manifest[row["doc_id"]])
            yield row

    def args_of(row: dict) -> tuple:
        """Pages where the document has them (its own, or a JATS article's paired PDF), else compile."""
        kind = kinds.get(row["kind"])
        if kind.paged:
            return (storage.get_bytes(row["raw_key"]), row["kind"], None, options, limits, row["folder"],
                    row["doc_id"][:16])
        if row["paired_pdf_key"] and kind.paired_pages:
            return (storage.get_bytes(row["paired_pdf_key"]), kind.paired_pages, None, options, limits, row["folder"],
                    row["doc_id"][:16])
        parsed = parsed_from_row(storage, row)
        return (b"", row["kind"], parsed, options, limits, row["folder"], row["doc_id"][:16])

    try:
        with storage.staged_file(layout.renders_index(batch), ".parquet") as path, RowGroupWriter(
            path, RENDERS
        ) as out:
            if keep:  # a retry: the index rows of documents already rendered stay as they are
                for row in iter_rows(storage.open_input(layout.renders_index(batch))):
                    if row["doc_id"] in keep:
                        out.add(row)
                        pages += 1
                        total_bytes += row["bytes"]
                docs = len(keep)
            progress = track(STAGE, count_rows(markdown) - len(keep), context.log)
            for row, result in run_isolated(
                render_to_folder, jobs(), args_of=args_of, workers=processing.pool_size(),
                timeout_s=limits.timeout_s, memory_mb=limits.memory_mb, max_image_pixels=limits.max_image_pixels,
            ):
                processed += 1
                progress.advance()
                if isinstance(result, TaskFailure):
                    failed.append(quarantine_row(row, STAGE, result))
                    context.log.warning(f"render quarantined {row['doc_id'][:12]}: {result.message}")
                else:  # this document's new pages replace its old ones (a page count may have changed)
                    storage.delete_prefix(layout.render_doc_prefix(batch, row["doc_id"]))
                    rendered.add(row["doc_id"])
                    for page, (name, width, height, size, note) in enumerate(result):
                        key = layout.render_page(batch, row["doc_id"], name)
                        storage.put_file(key, Path(row["folder"]) / name)
                        out.add({"doc_id": row["doc_id"], "page": page, "key": key, "width": width,
                                 "height": height, "bytes": size, "note": note or None})
                        total_bytes += size
                        if note:
                            resized += 1
                            context.log.warning(f"render {row['doc_id'][:12]}: {note}")
                    docs += 1
                    pages += len(result)
                shutil.rmtree(row["folder"], ignore_errors=True)
            progress.finish()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_quarantine(storage, batch, STAGE, failed)
    check = quarantine_rate_check(storage, batch, STAGE, processing.max_quarantine_rate, "page_renders")
    if check.passed:  # renders of documents no longer rendered go only when the run is allowed through
        for doc_id in sorted(before - rendered - keep):
            storage.delete_prefix(layout.render_doc_prefix(batch, doc_id))
    return MaterializeResult(
        metadata={
            "documents": docs,
            "documents rendered this run": MetadataValue.int(processed - len(failed)),
            "documents reused (retry)": MetadataValue.int(len(keep)),
            "pages_rendered": pages,
            "render_bytes": MetadataValue.int(total_bytes),
            "pages rendered smaller (format size limit)": MetadataValue.int(resized),
            "format": options.ext,
            "dpi": options.dpi,
            "index": MetadataValue.path(storage.uri(layout.renders_index(batch))),
            **quarantine_metadata(storage, batch, STAGE, failed),
        },
        check_results=[check],
    )


def _kept_documents(storage: StorageResource, batch: str) -> set[str]:
    """Documents a retry keeps: rendered before, still parsed now, and not in the render quarantine.

    A document the parse retry has just converted has no render yet, so it is rendered along with the
    render stage's own quarantined documents.
    """
    if not storage.exists(layout.renders_index(batch)):
        return set()
    rendered = {row["doc_id"] for row in iter_rows(storage.open_input(layout.renders_index(batch)), ["doc_id"])}
    parsed = {row["doc_id"] for row in iter_rows(storage.open_input(layout.markdown(batch)), ["doc_id"])}
    return (rendered & parsed) - stage_quarantined_ids(storage, batch, STAGE)
