"""Stage `parse`: every raw document to Markdown with inline images and page boundaries."""

import contextlib
import json
from collections.abc import Iterator

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from pin_assets import layout
from pin_assets.core import kinds
from pin_assets.core.convert import parse_document
from pin_assets.core.document import ParsedDocument
from pin_assets.core.html.image_fetch import batch_fetch_cache
from pin_assets.core.html.warc import page_image_refs
from pin_assets.core.isolation import TaskFailure, run_isolated
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.markup.references import resolve_references
from pin_assets.core.progress import track
from pin_assets.core.tables import MARKDOWN, RowGroupWriter, count_rows, iter_rows
from pin_assets.partitions import batches
from pin_assets.quarantine import (
    RetryConfig,
    quarantine_metadata,
    quarantine_row,
    stage_quarantined_ids,
    write_quarantine,
)
from pin_assets.step_gate import hold_if_gated
from resources.processing import ProcessingResource
from resources.storage import StorageResource

STAGE = "parse"
PREVIEW_CHARS = 1500


def markdown_row(doc: dict, parsed: ParsedDocument) -> dict:
    return {
        "doc_id": doc["doc_id"],
        "kind": doc["kind"],
        "markdown": parsed.markdown,
        "images": [
            {"name": i.name, "width": i.width, "height": i.height, "bytes": len(i.data), "caption": i.caption}
            for i in parsed.images
        ],
        "page_offsets": parsed.page_offsets,
        "page_count": parsed.page_count,
        "scanned_pages": parsed.scanned_pages,
        "title": parsed.title,
        "language": parsed.language,
        "metadata_json": json.dumps(parsed.metadata, sort_keys=True),
        "warnings": parsed.warnings,
    }


@asset(
    group_name="parse",
    partitions_def=batches,
    deps=["raw_documents"],
    description="Markdown per document with content images inline in reading order and page offsets.",
    kinds={"parquet", "pymupdf"},
    automation_condition=AutomationCondition.eager(),
    pool="pin_cpu",
)
def parsed_markdown(
    context: AssetExecutionContext, config: RetryConfig, storage: StorageResource, processing: ProcessingResource
) -> MaterializeResult:
    batch = context.partition_key
    hold_if_gated("parsed_markdown", batch)  # a no-op outside tests/test_prod_stack.py
    limits = processing.limits()
    failed: list[dict] = []
    images = {
        row["relpath"]: row["raw_key"]
        for row in iter_rows(storage.open_input(layout.assets_manifest(batch)))
        if row["role"] == "image"
    }
    keep = _kept_documents(storage, batch) if config.retry_quarantined_only else set()

    def args_of(doc: dict, limits: DocumentLimits) -> tuple:
        raw = storage.get_bytes(doc["raw_key"])
        kind = kinds.get(doc["kind"])
        assets = None
        # a page's own address: a WARC record's, or the URL a page was fetched from (a URL list)
        url = json.loads(doc.get("origin_json") or "{}").get("url") or _web_address(doc.get("source_uri"))
        if kind.assets == "beside":  # files next to the document, found by the references in its markup
            wanted = resolve_references(doc["relpath"], kinds.resolve(kind.references)(raw), images)
            if url:  # a WARC page: the images captured in the same WARC, by absolute URL
                wanted.update(page_image_refs(raw, url, images))
            assets = {ref: storage.get_bytes(key) for ref, key in wanted.items()}
        elif kind.assets == "rows":  # dataset rows: images stored beside them at ingest
            refs = kinds.resolve(kind.references)(raw)
            assets = {ref: storage.get_bytes(images[ref]) for ref in refs if ref in images}
        return (raw, doc["kind"], limits, assets, url)

    manifest = storage.open_input(layout.manifest(batch))

    def convertible() -> Iterator[dict]:
        for doc in iter_rows(manifest):
            if doc["doc_id"] in keep:
                continue
            if doc["kind"] == "unknown" or not kinds.is_registered(doc["kind"]):
                error = doc["detect_error"] or f"unsupported: no converter for documents of kind {doc['kind']!r}"
                reason, _, message = error.partition(": ")
                failed.append(quarantine_row(doc, STAGE, TaskFailure(reason, "ConversionError", message)))
            else:
                yield doc

    docs = processed = image_refs = new_images = pages = scanned = 0
    preview = ""
    with contextlib.ExitStack() as stack, storage.staged_file(layout.markdown(batch), ".parquet") as path, \
            RowGroupWriter(path, MARKDOWN) as out:
        if keep:  # a retry: carry the good rows over unchanged, without converting them again
            for row in iter_rows(storage.open_input(layout.markdown(batch))):
                if row["doc_id"] in keep:
                    out.add(row)
                    docs += 1
                    image_refs += len(row["images"])
                    pages += row["page_count"]
                    scanned += len(row["scanned_pages"])
        progress = track(STAGE, count_rows(manifest) - len(keep), context.log)
        run_limits = stack.enter_context(batch_fetch_cache(limits))  # remote images: each URL once per batch
        results = run_isolated(
            parse_document,
            convertible(),
            args_of=lambda doc: args_of(doc, run_limits),
            workers=processing.pool_size(),
            timeout_s=limits.timeout_s,
            memory_mb=limits.memory_mb,
            max_image_pixels=limits.max_image_pixels,
        )
        for doc, result in results:
            processed += 1
            progress.advance()
            if isinstance(result, TaskFailure):
                failed.append(quarantine_row(doc, STAGE, result))
                context.log.warning(f"quarantined {doc['filename']}: {result.reason}: {result.message}")
                continue
            for image in {i.name: i for i in result.images}.values():
                key = layout.image(image.name)
                if not storage.exists(key):
                    storage.put_bytes(key, image.data)
                    new_images += 1
            out.add(markdown_row(doc, result))
            docs += 1
            image_refs += len(result.images)
            pages += result.page_count
            scanned += len(result.scanned_pages)
            preview = preview or result.markdown[:PREVIEW_CHARS]
        progress.finish()
    write_quarantine(storage, batch, STAGE, failed)
    return MaterializeResult(
        metadata={
            "documents": docs,
            "documents_processed": processed,
            "documents_kept": len(keep),
            "pages": pages,
            "scanned_pages": scanned,
            "content_images": image_refs,
            "new_images_stored": new_images,
            "markdown_bytes": MetadataValue.int(storage.size(layout.markdown(batch))),
            "path": MetadataValue.path(storage.uri(layout.markdown(batch))),
            "preview": MetadataValue.md(preview or "(no document converted)"),
            **quarantine_metadata(failed),
        }
    )


def _web_address(uri: str | None) -> str | None:
    return uri if uri and uri.startswith(("http://", "https://")) else None


def _kept_documents(storage: StorageResource, batch: str) -> set[str]:
    """Documents a retry keeps: those with a Markdown row that are still in the batch and not quarantined.

    Everything else in the manifest (quarantined, or never processed because a run was killed or the batch
    grew) is processed again, so a retry can never leave a document without a verdict.
    """
    if not storage.exists(layout.markdown(batch)):
        return set()
    manifest = {row["doc_id"] for row in iter_rows(storage.open_input(layout.manifest(batch)), ["doc_id"])}
    converted = {row["doc_id"] for row in iter_rows(storage.open_input(layout.markdown(batch)), ["doc_id"])}
    return (converted & manifest) - stage_quarantined_ids(storage, batch, STAGE)
