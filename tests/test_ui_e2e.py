"""End to end as a user works through the UI: `dagster dev` (webserver + daemon), a batch added and
materialized through the webserver's GraphQL API, PIN records on disk, and a clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from pin_assets.core.jsonl import read_jsonl
from pin_assets.core.sources.listing import SAMPLE_PDF_DIR

REPO = Path(__file__).resolve().parents[1]
BATCH = "e2e-ui"
ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on AddDynamicPartitionSuccess { partitionKey }
    ... on PythonError { message }
  }
}
"""

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(port: int, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"webserver did not answer in {timeout_s}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[DagsterGraphQLClient, Path, int]]:
    """`dagster dev` in a fresh DAGSTER_HOME with storage in a temp folder, stopped by SIGINT afterwards."""
    home, store, log = tmp_path / "dagster_home", tmp_path / "store", tmp_path / "dagster-dev.log"
    home.mkdir()
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PIN_STORAGE_URI": str(store)}
    for name in ("PIN_INBOX_URI", "PIN_DAILY_SOURCE_URI"):
        env.pop(name, None)
    with open(log, "wb") as out:
        command = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port),
                   "-w", "workspace.yaml"]
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_server(port, proc, log)
        yield DagsterGraphQLClient("127.0.0.1", port_number=port), store, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    assert proc.returncode is not None


def _wait_for_run(client: DagsterGraphQLClient, run_id: str, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        try:
            status = client.get_run_status(run_id).value
        except DagsterGraphQLClientError:
            status = "UNKNOWN"
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    return status


def test_ui_adds_batch_materializes_and_shuts_down(dagster_dev, tmp_path: Path) -> None:
    client, store, _ = dagster_dev
    source = tmp_path / "drop"
    source.mkdir()
    for name in ("multi_page.pdf", "picture_classification.pdf"):
        shutil.copy(SAMPLE_PDF_DIR / name, source / name)

    added = client._execute(  # the mutation the UI's "Add partition" dialog sends
        ADD_PARTITION,
        {"selector": {"repositoryLocationName": "pin_assets", "repositoryName": "__repository__"},
         "name": "batches", "key": BATCH},
    )["addDynamicPartition"]
    assert added == {"__typename": "AddDynamicPartitionSuccess", "partitionKey": BATCH}, added

    run_id = client.submit_job_execution(  # the launchpad: pin_job, one partition, the source in config
        "pin_job",
        repository_location_name="pin_assets",
        repository_name="__repository__",
        run_config={
            "ops": {"raw_documents": {"config": {"source_uri": str(source), "source_dataset": "e2e"}}},
            "resources": {"processing": {"config": {"workers": 2, "render_dpi": 50}}},
        },
        tags={"dagster/partition": BATCH},
    )
    status = _wait_for_run(client, run_id)
    assert status == "SUCCESS", f"run {run_id} ended {status}"

    parts = sorted((store / "export" / "pin" / "e2e" / BATCH).glob("part*/part*.jsonl"))
    assert parts, list(store.rglob("*"))[:50]
    records = [record for part in parts for record in read_jsonl(part.read_bytes())]
    assert len(records) == 2
    for record in records:
        folder = parts[0].parent
        assert all((folder / image).is_file() for image in record["overall_image"])
