"""One batch through the pipeline, in its own process: the unit the end-to-end and scaling sections time.

``python -m bench.pipeline_run dagster SOURCE WORK`` materializes ``pin_job`` in-process (as
``pin materialize`` does) on a store and a Dagster instance under WORK; ``plain`` runs the same core
functions in the same stage order with the same ``run_isolated`` pool, without Dagster or the storage
resource. Either prints one JSON line: seconds of the run, seconds of set-up before it (imports; for
Dagster also the instance and batch registration), documents and records.

Module-level imports are stdlib only: the forkserver workers of ``run_isolated`` re-import this main
module, and pulling Dagster into every worker would charge both modes for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BATCH = "bench"
SOURCE_DATASET = "bench"
LICENSE = "CC-BY-4.0"


def run_dagster(source: Path, work: Path) -> dict[str, Any]:
    """``pin_job`` for one registered batch, resources from the environment as the CLI builds them."""
    os.environ["PIN_STORAGE_URI"] = str(work / "store")
    began = time.perf_counter()
    from dagster import DagsterInstance

    from pin_assets.accounting import account_batch
    from pin_assets.batches import BatchSpec, register_batch
    from pin_assets.definitions import defs
    from resources import build_resources

    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # as the CLI writes it: offline
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        storage = build_resources()["storage"]
        register_batch(instance, storage, BatchSpec(BATCH, str(source), SOURCE_DATASET, LICENSE))
        # Timed like `pin materialize` times itself: the run only. Creating a fresh SQLite instance
        # (about 1 s of schema set-up) and registering the batch are one-time steps, not per-run cost.
        imported, import_cpu = time.perf_counter(), time.process_time()
        result = defs.resolve_job_def("pin_job").execute_in_process(
            partition_key=BATCH, instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        finished = time.perf_counter()
        if not result.success:
            raise SystemExit(f"pipeline_run: Dagster run {result.run_id} failed")
        account = account_batch(storage, BATCH)
    return {"seconds": finished - imported, "import_s": imported - began, "import_cpu_s": import_cpu,
            "documents": account.documents, "records": account.records}


def run_plain(source: Path, work: Path) -> dict[str, Any]:
    """The same stages as the graph, one after the other, each document through the same worker pool."""
    began = time.perf_counter()
    from pin_assets.core.convert import oi_source, parse_document, render_to_folder
    from pin_assets.core.isolation import TaskFailure, run_isolated
    from pin_assets.core.jsonl import dumps_line
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.pdf_pages import RenderOptions
    from pin_assets.core.record import build_record, document_ori_meta, validate_record
    from pin_assets.core.signals import ImageFacts, compute_signals
    from pin_assets.core.sources.detect import detect_kind
    from pin_assets.core.tokenizer import default_tokenizer

    imported, import_cpu = time.perf_counter(), time.process_time()
    limits, options, workers = DocumentLimits(), RenderOptions(), os.cpu_count() or 1
    pool = {"workers": workers, "timeout_s": limits.timeout_s, "memory_mb": limits.memory_mb}
    raw, part = work / "raw", work / "export" / "part00"
    for folder in (raw, part / "content_image", part / "overall_image"):
        folder.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).strftime("%Y-%m-%d")

    docs: dict[str, dict[str, Any]] = {}  # ingest: content-addressed copies, duplicates dropped
    for path in sorted(source.iterdir()):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if sha not in docs:
            (raw / f"{sha}.pdf").write_bytes(data)
            docs[sha] = {"doc_id": sha, "path": path, "kind": detect_kind(data, path.name)}

    parsed = []
    for doc, result in run_isolated(parse_document, docs.values(), **pool,
                                    args_of=lambda d: ((raw / f"{d['doc_id']}.pdf").read_bytes(), d["kind"], limits)):
        if isinstance(result, TaskFailure):
            continue
        for image in result.images:
            (part / "content_image" / image.name).write_bytes(image.data)
        (raw / f"{doc['doc_id']}.md").write_text(result.markdown, encoding="utf-8")
        doc["facts"] = [ImageFacts(i.width, i.height, len(i.data)) for i in result.images]
        doc["meta"] = (result.title, result.page_count, result.page_offsets, result.scanned_pages,
                       result.metadata, result.language)
        parsed.append(doc)

    rendered = []
    for doc, result in run_isolated(
        render_to_folder, parsed, **pool,
        args_of=lambda d: ((raw / f"{d['doc_id']}.pdf").read_bytes(), d["kind"], None, options, limits,
                           str(part / "overall_image"), d["doc_id"][:16]),
    ):
        if not isinstance(result, TaskFailure):
            doc["pages"] = [name for name, *_ in result]
            rendered.append(doc)

    tokenizer = default_tokenizer()
    with open(part / "part00.jsonl", "w", encoding="utf-8") as jsonl:
        for doc in rendered:
            markdown = (raw / f"{doc['doc_id']}.md").read_text(encoding="utf-8")
            title, page_count, offsets, scanned, metadata, language = doc["meta"]
            record = build_record(
                doc_id=doc["doc_id"], markdown=markdown, overall_images=doc["pages"],
                source_dataset=SOURCE_DATASET, date_download=today, license=LICENSE, language=language,
                oi_source=oi_source(doc["kind"]),
                ori_meta=document_ori_meta(
                    source_uri=doc["path"].resolve().as_uri(), filename=doc["path"].name, title=title,
                    page_count=page_count, page_offsets=offsets, scanned_pages=scanned, metadata=metadata,
                ),
                quality_signals=compute_signals(markdown, doc["facts"], tokenizer),
            )
            validate_record(record)
            jsonl.write(dumps_line(record))
    return {"seconds": time.perf_counter() - imported, "import_s": imported - began, "import_cpu_s": import_cpu,
            "documents": len(docs), "records": len(rendered)}


def main(argv: list[str]) -> None:
    if len(argv) != 4 or argv[1] not in ("dagster", "plain"):
        raise SystemExit(__doc__)
    source, work = Path(argv[2]), Path(argv[3])
    work.mkdir(parents=True, exist_ok=True)
    outcome = (run_dagster if argv[1] == "dagster" else run_plain)(source, work)
    outcome["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(sys.argv)
