"""Stage `export`: PIN-14M-compatible records, ``partNN/partNN.jsonl`` with its image folders."""

import json
import tempfile
from pathlib import Path, PurePosixPath

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
from pin_assets.core.convert import oi_source
from pin_assets.core.progress import track
from pin_assets.core.record import build_record, document_ori_meta, validate_record
from pin_assets.core.tables import count_rows, iter_rows
from pin_assets.partitions import batches
from resources.storage import StorageResource

MAX_FILES_PER_FOLDER = 100_000


class ExportConfig(Config):
    max_docs_per_part: int = Field(default=5000, description="Documents per partNN folder.")


class PartWriter:
    """Fills ``partNN`` folders in turn, starting a new one before any folder reaches its file limit."""

    def __init__(self, storage: StorageResource, prefix_of, max_docs: int):
        self.storage = storage
        self.prefix_of = prefix_of
        self.max_docs = max_docs
        self.part = -1
        self.parts: list[str] = []
        self._start_part()

    def _start_part(self) -> None:
        self._flush()
        self.part += 1
        self.lines = 0
        self.jsonl = tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False)  # noqa: SIM115 (spans parts)
        self.content: set[str] = set()
        self.overall = 0

    def add(self, record: dict, render_keys: list[str]) -> None:
        new_content = {p for p in record["content_image"] if p not in self.content}
        if self.lines and (
            self.lines >= self.max_docs
            or len(self.content) + len(new_content) > MAX_FILES_PER_FOLDER
            or self.overall + len(render_keys) > MAX_FILES_PER_FOLDER
        ):
            self._start_part()
            new_content = set(record["content_image"])
        prefix = self.prefix_of(self.part)
        for path in sorted(new_content):
            self.storage.copy(layout.image(PurePosixPath(path).name), f"{prefix}/{path}")
        self.content |= new_content
        for path, key in zip(record["overall_image"], render_keys, strict=True):
            self.storage.copy(key, f"{prefix}/{path}")
        self.overall += len(render_keys)
        self.jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.lines += 1

    def _flush(self) -> None:
        """Upload the finished part's JSONL (streamed to a scratch file, never held in memory)."""
        if self.part < 0:
            return
        self.jsonl.close()
        local = Path(self.jsonl.name)
        if self.lines:
            prefix = self.prefix_of(self.part)
            self.storage.put_file(f"{prefix}/part{self.part:02d}.jsonl", local)
            self.parts.append(prefix)
        local.unlink(missing_ok=True)

    def close(self) -> list[str]:
        self._flush()
        self.part = -1
        return self.parts


@asset(
    group_name="export",
    partitions_def=batches,
    deps=["raw_documents", "parsed_markdown", "page_renders", "quality_signals"],
    description="PIN records: partNN/partNN.jsonl with content_image/ and overall_image/ (PIN-14M layout).",
    kinds={"json"},
    automation_condition=AutomationCondition.eager(),
)
def pin_records(context: AssetExecutionContext, config: ExportConfig, storage: StorageResource) -> MaterializeResult:
    batch = context.partition_key
    manifest = {row["doc_id"]: row for row in iter_rows(storage.open_input(layout.manifest(batch)))}
    renders: dict[str, list[str]] = {}
    for row in iter_rows(storage.open_input(layout.renders_index(batch)), ["doc_id", "key"]):
        renders.setdefault(row["doc_id"], []).append(row["key"])
    signals = {row.pop("doc_id"): row for row in iter_rows(storage.open_input(layout.signals(batch)))}
    source = next(iter(manifest.values()))["source_dataset"] if manifest else batch
    storage.delete_prefix(layout.export_prefix(source, batch))
    writer = PartWriter(storage, lambda part: layout.export_part(source, batch, part), config.max_docs_per_part)
    records = content_images = overall_images = 0
    markdown = storage.open_input(layout.markdown(batch))
    progress = track("export", count_rows(markdown), context.log)
    for row in iter_rows(markdown):
        progress.advance()
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
                scanned_pages=row["scanned_pages"], metadata=json.loads(row["metadata_json"]),
            ),
            quality_signals=quality,
        )
        validate_record(record)
        writer.add(record, renders[doc_id])
        records += 1
        content_images += len(record["content_image"])
        overall_images += len(record["overall_image"])
    parts = writer.close()
    progress.finish()
    return MaterializeResult(
        metadata={
            "records": records,
            "parts": len(parts),
            "content_images": content_images,
            "overall_images": overall_images,
            "export_path": MetadataValue.path(storage.uri(layout.export_prefix(source, batch))),
        }
    )
