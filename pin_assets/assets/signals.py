"""Stage `signals`: PIN's and RedPajama-v2-style quality signals, one row per parsed document."""

import json

import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pin_assets import layout
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.core.document import (
    FALLBACK_PAGES,
    IMAGES_SKIPPED,
    LATEX_FALLBACK,
    PAGES_FAILED,
    VECTOR_FIGURES,
    metadata_count,
)
from pin_assets.core.html.markdown import FALLBACK_FLAG
from pin_assets.core.progress import track
from pin_assets.core.signals import INTEGER_SIGNALS, SIGNAL_DEFINITIONS, ImageFacts, compute_signals
from pin_assets.core.tables import RowGroupWriter, count_rows, iter_rows
from pin_assets.metadata import readable
from pin_assets.partitions import batches
from resources.storage import StorageResource
from resources.tokenizer import TokenizerResource

SIGNALS = pa.schema(
    [("doc_id", pa.string()), ("batch", pa.string()), ("source_dataset", pa.string()), ("tokenizer", pa.string())]
    + [(d.name, pa.int64() if d.name in INTEGER_SIGNALS else pa.float64()) for d in SIGNAL_DEFINITIONS]
)


@asset(
    group_name="signals",
    partitions_def=batches,
    deps=["raw_documents", "parsed_markdown"],
    description="Quality signals per document (PIN §3.3 and RedPajama-v2 style), one Parquet row each, and "
    "MinHash signatures for duplicate detection.",
    kinds={"parquet"},
    automation_condition=AFTER_UPSTREAM,
)
def quality_signals(
    context: AssetExecutionContext, storage: StorageResource, tokenizer: TokenizerResource
) -> MaterializeResult:
    # pyarrow.dataset (with pandas) loads in the step, not in every process that imports the definitions.
    from pin_assets.dedup_io import signature_writer

    batch = context.partition_key
    tok = tokenizer.get()
    sources = {
        row["doc_id"]: row["source_dataset"]
        for row in iter_rows(storage.open_input(layout.manifest(batch)), ["doc_id", "source_dataset"])
    }
    sums: dict[str, float] = {}
    with (storage.staged_file(layout.signals(batch), ".parquet") as path, RowGroupWriter(path, SIGNALS) as out,
          signature_writer(storage, batch) as minhash):
        columns = ["doc_id", "markdown", "images", "page_count", "scanned_pages", "metadata_json", "warnings"]
        markdown = storage.open_input(layout.markdown(batch))
        progress = track("signals", count_rows(markdown), context.log)
        for row in iter_rows(markdown, columns):
            progress.advance()
            images = [ImageFacts(i["width"], i["height"], i["bytes"]) for i in row["images"]]
            meta = json.loads(row["metadata_json"] or "{}")
            values = compute_signals(
                row["markdown"], images, tok, page_count=row["page_count"], scanned_pages=len(row["scanned_pages"]),
                ocr_pages=len(meta.get("ocr_pages") or ()), main_content_fallback=FALLBACK_FLAG in meta,
                images_skipped=metadata_count(meta, IMAGES_SKIPPED), pages_failed=metadata_count(meta, PAGES_FAILED),
                warnings=len(row["warnings"] or ()),
                latex_fallback=LATEX_FALLBACK in meta,
                fallback_pages=metadata_count(meta, FALLBACK_PAGES),
                vector_figures=metadata_count(meta, VECTOR_FIGURES),
            )
            out.add({"doc_id": row["doc_id"], "batch": batch, "source_dataset": sources[row["doc_id"]],
                     "tokenizer": tok.name, **values})
            minhash.add_markdown(row["doc_id"], sources[row["doc_id"]], row["markdown"], len(images))
            for name in ("image_text_interleaving_count", "avg_tokens_per_text_block", "total_token_count"):
                sums[name] = sums.get(name, 0.0) + float(values[name])
        docs = out.count
        progress.finish()
    means = {f"mean_{k}": readable(v / docs) for k, v in sums.items()} if docs else {}
    return MaterializeResult(
        metadata={
            "documents": docs,
            "tokenizer": tok.name,
            **means,
            "path": MetadataValue.path(storage.uri(layout.signals(batch))),
            "minhash": MetadataValue.path(storage.uri(layout.minhash(batch))),
        }
    )
