"""The S3 server goes away in the middle of a run: retries, a clean failure, no partial objects, a resume.

A real S3 endpoint (moto's threaded server on a loopback port) serves the store; the job runs in a thread
and the server is stopped as soon as the first page render lands, while render fetches and uploads. The run
must fail with StorageUnavailableError's message (endpoint, attempts), leave only whole objects, and a new
server on the same port with the same bucket contents must let the next run finish and balance.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
from dagster import DagsterInstance, materialize
from moto.server import ThreadedMotoServer

from pin_assets.accounting import account_batch
from pin_assets.assets import PIN_ASSETS
from pin_assets.batches import BatchSpec, register_batch
from pin_assets.checks import ALL_CHECKS
from resources import ProcessingResource, StorageResource, TokenizerResource
from tests.conftest import corpus_dir, write_distinct_copies
from tests.pipeline_support import read_records
from tests.s3_server import S3Server

BATCH = "flaky"
COPIES = 12


def _start(port: int = 0) -> tuple[ThreadedMotoServer, int]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, server.get_host_and_port()[1]


def _run(instance: DagsterInstance, storage: StorageResource):
    return materialize(
        [*PIN_ASSETS, *ALL_CHECKS], partition_key=BATCH, instance=instance, raise_on_error=False,
        resources={"storage": storage, "processing": ProcessingResource(workers=1, render_dpi=40),
                   "tokenizer": TokenizerResource()},
    )


def _error_text(result, step: str | None = None) -> str:
    """Every message in the failure chain of the failed steps (Dagster wraps the asset's exception)."""
    texts = []
    for event in result.get_step_failure_events():
        if step is not None and event.step_key != step:
            continue
        error = event.event_specific_data.error
        while error is not None:
            texts.append(f"{error.cls_name}: {error.message}")
            error = error.cause or error.context
    return "\n".join(texts)


def test_s3_outage_mid_run_fails_cleanly_and_the_next_run_completes(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    write_distinct_copies(source, corpus_dir("pdf") / "multi_page.pdf", COPIES)
    shutil.copy(corpus_dir("pdf") / "picture_classification.pdf", source)

    server, port = _start()
    s3 = S3Server(endpoint=f"http://127.0.0.1:{port}", server=server)
    storage = s3.storage(max_attempts=3, connect_timeout_s=1.0, read_timeout_s=5.0)
    bucket, prefix = storage.base_uri.removeprefix("s3://").split("/", 1)
    client = s3.client()
    holder: dict[str, object] = {}
    with DagsterInstance.ephemeral() as instance:
        register_batch(instance, storage, BatchSpec(BATCH, str(source), "testset", "CC-BY-4.0"))
        worker = threading.Thread(target=lambda: holder.update(result=_run(instance, storage)))
        worker.start()
        renders = f"{prefix}/renders/{BATCH}/"
        deadline = time.monotonic() + 90
        while "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix=renders):
            assert worker.is_alive() and time.monotonic() < deadline, "render never started"
            time.sleep(0.02)
        server.stop()  # render is in its loop: fetching raw PDFs (GET) and uploading pages (PUT)
        stopped = time.monotonic()
        worker.join(timeout=120)
        failed_after = time.monotonic() - stopped
        result = holder["result"]
        assert not result.success
        message = _error_text(result, "page_renders")
        assert "StorageUnavailableError" in message, _error_text(result)
        assert f"S3 endpoint http://127.0.0.1:{port} unreachable" in message and "after 3 attempts" in message
        assert failed_after < 60, "retries must give up in bounded time"

        server, _ = _start(port)  # back on the same port; moto keeps the bucket contents in-process
        try:
            keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
            assert not any(k.startswith(f"{prefix}/export/") for k in keys), "nothing exported by the failed run"
            assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads"), "no dangling multipart upload"
            for key in keys:  # every object the failed run left is whole
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
                if key.endswith(".parquet"):
                    pq.read_table(io.BytesIO(body))
            again = _run(instance, storage)
            assert again.success, _error_text(again)
        finally:
            server.stop()
    # the account needs the server too: read it while a server holds the same state
    server, _ = _start(port)
    try:
        account = account_batch(storage, BATCH)
        assert account.balanced and (account.documents, account.records) == (COPIES + 1, COPIES + 1), account
        records = read_records(storage)
        assert len({r["id"] for r in records}) == len(records) == COPIES + 1
        for record in records:
            json.dumps(record)
    finally:
        server.stop()
