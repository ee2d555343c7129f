"""The production stack, started for real: what docker-compose runs, as processes on 127.0.0.1.

PostgreSQL (a throwaway ``initdb`` cluster) holds Dagster's runs, events and schedules through
dagster-postgres; the moto S3 server is the store and the inbox; a gRPC code server serves
``pin_assets.definitions``; the webserver and the daemon read ``docker/dagster.yaml`` (run launcher
swapped for DefaultRunLauncher, see ``tests/prod_stack.py``) and ``docker/workspace.yaml``.

Three drops land in the S3 inbox; the inbox sensor, running in the daemon, registers them and the
queued run coordinator runs them two at a time. Then the daemon is killed while a fourth run is in
flight, the run's worker dies with it, the daemon comes back, run monitoring reports the run failed,
and its re-execution from the failure writes the same records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from pin_assets.core.jsonl import read_jsonl
from pin_assets.core.sources.listing import READY_MARKER, SAMPLE_PDF_DIR
from tests.prod_stack import (
    COMPOSE_INSTANCE,
    COMPOSE_WORKSPACE,
    REPO,
    Postgres,
    ProcessGroups,
    dagster_command,
    free_port,
    graphql,
    postgres_bin,
    process_instance_config,
    process_tree,
    start_postgres,
    wait_until,
)
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, moto_s3  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

LOCATION = {"repositoryLocationName": "pin_assets", "repositoryName": "__repository__"}
DATASET = "prodstack"
BROKEN_PDF = b"%PDF-1.5\n" + bytes(range(7, 250)) * 40  # a truncated, unparseable PDF: quarantined
DROPS = {  # names sort in drop order, as the inbox sensor's cursor requires
    "drop-2026-12-01-a": ["multi_page.pdf", "picture_classification.pdf"],
    "drop-2026-12-01-b": ["2305.03393v1-pg9.pdf", "code_and_formula.pdf"],
    "drop-2026-12-01-c": ["right_to_left_01.pdf", "normal_4pages.pdf", "amt_handbook_sample.pdf", "broken.pdf"],
}
DOCUMENTS = sum(len(files) for files in DROPS.values())
RUN_TIMEOUT_S = 900  # minutes on an idle 2-core machine; generous for a shared one

RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId jobName status creationTime startTime endTime tags { key value } } }
  }
}
"""
RUN_LOGS = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection { events { __typename ... on MessageEvent { message timestamp }
      ... on StepEvent { stepKey } } }
  }
}
"""
PARTITIONS = """
query Partitions($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode { assetPartitionStatuses {
      __typename ... on DefaultPartitionStatuses { materializedPartitions failedPartitions } } }
  }
}
"""
SENSOR_TICKS = """
query Ticks($selector: SensorSelector!, $statuses: [InstigationTickStatus!]) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20, statuses: $statuses) {
      tickId status timestamp runIds skipReason } } }
  }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  launchPipelineReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
POOL = """
query Pool($key: String!) {
  instance { concurrencyLimit(concurrencyKey: $key) {
    limit slotCount activeRunIds assignedStepRunIds pendingStepRunIds } }
}
"""
WORKSPACE = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name } } } } } } }
"""


@dataclass
class Stack:
    groups: ProcessGroups
    env: dict[str, str]
    s3: S3Server
    bucket: str
    web_port: int
    postgres: Postgres

    def gql(self, query: str, **variables: object) -> dict:
        return graphql(self.web_port, query, variables)

    def start_daemon(self) -> None:
        self.groups.start("daemon", dagster_command("dagster-daemon", "run", "-w", self.env["WORKSPACE"]),
                          self.env)

    def runs(self, job: str = "pin_job") -> list[dict]:
        reply = self.gql(RUNS, filter={"pipelineName": job})["runsOrError"]
        assert reply["__typename"] == "Runs", reply
        return sorted(reply["results"], key=lambda run: run["creationTime"])

    def run(self, run_id: str) -> dict:
        reply = self.gql(RUNS, filter={"runIds": [run_id]})["runsOrError"]
        return reply["results"][0]

    def pool(self, key: str) -> dict:
        return self.gql(POOL, key=key)["instance"]["concurrencyLimit"]

    def pool_holders(self, key: str) -> set[str]:
        pool = self.pool(key)
        return {*pool["activeRunIds"], *pool["assignedStepRunIds"], *pool["pendingStepRunIds"]}

    def run_events(self, run_id: str) -> list[dict]:
        return self.gql(RUN_LOGS, runId=run_id)["logsForRun"]["events"]

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def records(self, drop: str) -> dict[str, str]:
        """Record id -> SHA-256 of the record's canonical JSON, over every export part of the drop."""
        client = self.s3.client()
        parts = sorted(k for k in self.keys(f"data/export/pin/{DATASET}/{drop}/") if k.endswith(".jsonl"))
        out = {}
        for key in parts:
            for record in read_jsonl(client.get_object(Bucket=self.bucket, Key=key)["Body"].read()):
                out[record["id"]] = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        return out

    def diagnostics(self) -> str:
        return self.groups.tails()


def _stack_env(home: Path, db: Postgres, s3: S3Server, bucket: str, code_port: int) -> dict[str, str]:
    """The variables compose sets (x-dagster-env), pointed at the local processes."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIN_", "DAGSTER_", "AWS_"))}
    return {
        **env,
        **db.env(),
        "DAGSTER_HOME": str(home),
        "WORKSPACE": str(home / "workspace.yaml"),
        "PYTHONPATH": str(REPO),  # this checkout's project, as the image installs it
        "PIN_S3_BUCKET": bucket,
        "PIN_STORAGE_URI": f"s3://{bucket}/data",
        "PIN_INBOX_URI": f"s3://{bucket}/inbox",
        "PIN_INBOX_DATASET": DATASET,
        "PIN_INBOX_INTERVAL_SECONDS": "5",
        "PIN_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "PIN_CODE_SERVER_HOST": "127.0.0.1",
        "PIN_CODE_SERVER_PORT": str(code_port),
    }


@pytest.fixture(scope="module")
def stack(moto_s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: F811
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: thousands of lines
    root = tmp_path_factory.mktemp("prodstack")
    home = root / "dagster_home"
    home.mkdir()
    groups = ProcessGroups(root)
    cluster: Path | None = None
    try:
        db, cluster = start_postgres(groups, binaries)
        bucket = moto_s3.new_bucket()
        code_port, web_port = free_port(), free_port()
        env = _stack_env(home, db, moto_s3, bucket, code_port)
        (home / "dagster.yaml").write_text(yaml.safe_dump(process_instance_config(), sort_keys=False))
        shutil.copy(COMPOSE_WORKSPACE, home / "workspace.yaml")
        # As compose's daemon entrypoint: creates the schema in Postgres and pins the realsyn pool.
        concurrency = dagster_command("dagster", "instance", "concurrency", "set", "realsyn_corpus", "1")
        groups.start("concurrency-set", concurrency, env).proc.wait(timeout=120)
        assert groups.services.pop("concurrency-set").proc.returncode == 0, (root / "concurrency-set.log").read_text()

        groups.start("code", dagster_command("dagster", "code-server", "start", "-h", "127.0.0.1",
                                             "-p", str(code_port), "-m", "pin_assets.definitions"), env)
        groups.start("webserver", dagster_command("dagster-webserver", "-h", "127.0.0.1", "-p", str(web_port),
                                                  "-w", env["WORKSPACE"]), env)
        stack = Stack(groups, env, moto_s3, bucket, web_port, db)
        stack.start_daemon()

        def location_loaded() -> bool:
            entries = stack.gql(WORKSPACE)["workspaceOrError"]["locationEntries"]
            loaded = entries and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            if entries and not loaded:  # the code server was still importing when the webserver asked
                stack.gql("mutation { reloadWorkspace { __typename } }")
            return bool(loaded)

        wait_until("webserver serving the pin_assets code location", location_loaded, 180, every_s=2,
                   logs=groups.tails)
        yield stack
    finally:
        groups.stop_all()
        if cluster is not None:
            shutil.rmtree(cluster, ignore_errors=True)


def _upload_drops(stack: Stack) -> None:
    """Every file of every drop first, each drop's _READY marker last, as a producer does."""
    client = stack.s3.client()
    for drop, files in DROPS.items():
        for name in files:
            body = BROKEN_PDF if name == "broken.pdf" else (SAMPLE_PDF_DIR / name).read_bytes()
            client.put_object(Bucket=stack.bucket, Key=f"inbox/{drop}/{name}", Body=body)
    for drop in DROPS:
        client.put_object(Bucket=stack.bucket, Key=f"inbox/{drop}/{READY_MARKER}",
                          Body=json.dumps({"source_dataset": DATASET, "license": "CC-BY-4.0"}).encode())


def _finished(stack: Stack, count: int) -> list[dict] | None:
    runs = stack.runs()
    done = [run for run in runs if run["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
    return runs if len(runs) >= count and len(done) == len(runs) else None


def _max_overlap(runs: list[dict]) -> int:
    edges = sorted([(run["startTime"], 1) for run in runs] + [(run["endTime"], -1) for run in runs])
    current = peak = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        current += step
        peak = max(peak, current)
    return peak


def _partitions(stack: Stack, asset: str) -> dict:
    node = stack.gql(PARTITIONS, key={"path": [asset]})["assetNodeOrError"]
    return node["assetPartitionStatuses"]


def _sensor_ticks(stack: Stack, *statuses: str) -> list[dict]:
    selector = {**LOCATION, "sensorName": "inbox_sensor"}
    reply = stack.gql(SENSOR_TICKS, selector=selector, statuses=list(statuses) or None)
    return reply["sensorOrError"]["sensorState"]["ticks"]


def test_three_drops_run_two_at_a_time_and_land_in_s3(stack: Stack) -> None:
    dropped = time.time()
    _upload_drops(stack)
    runs = wait_until("three pin_job runs finished", lambda: _finished(stack, len(DROPS)), RUN_TIMEOUT_S,
                      every_s=2, logs=stack.diagnostics)
    finished = time.time()
    assert [run["status"] for run in runs] == ["SUCCESS"] * len(DROPS), runs
    assert sorted(dict((t["key"], t["value"]) for t in run["tags"])["dagster/partition"] for run in runs) == \
        sorted(DROPS)

    # The queue: never more than two at once, two did run together, and the third waited for a slot.
    assert _max_overlap(runs) == 2, runs
    first_end = min(run["endTime"] for run in runs[:2])
    assert runs[2]["startTime"] >= first_end - 0.5, runs
    timeline = [(dict((t["key"], t["value"]) for t in run["tags"])["dagster/partition"],
                 run["creationTime"] - dropped, run["startTime"] - dropped, run["endTime"] - dropped)
                for run in runs]
    last_end = max(run["endTime"] for run in runs)
    print("\nrun timeline (s after the drops were uploaded): drop, queued, started, finished")
    for row in timeline:
        print("  {} {:7.1f} {:7.1f} {:7.1f}".format(*row))
    print(f"stack: {DOCUMENTS} documents in {last_end - dropped:.1f} s = "
          f"{DOCUMENTS * 60 / (last_end - dropped):.1f} documents/min (drop to last run finished)")

    # Records, quarantine and the realsyn corpus in the bucket, one prefix per drop.
    for drop in DROPS:
        records = stack.records(drop)
        assert len(records) == len([f for f in DROPS[drop] if f != "broken.pdf"]), (drop, records)
    quarantine = stack.keys("data/quarantine/drop-2026-12-01-c/")
    assert quarantine, stack.keys("data/")[:80]
    assert stack.keys("data/realsyn/"), stack.keys("data/")[:80]

    # The webserver shows every partition of the job's assets materialized.
    # (The partition status is a cache the webserver refreshes on read: allow it a few reads to catch up.)
    assets = ("raw_documents", "parsed_markdown", "page_renders", "quality_signals", "pin_records",
              "realsyn_corpus")

    def all_materialized() -> bool:
        return all(sorted(_partitions(stack, a)["materializedPartitions"]) == sorted(DROPS) for a in assets)

    wait_until("every partition shown materialized", all_materialized, 60, every_s=3,
               logs=lambda: str({a: _partitions(stack, a) for a in assets}))

    # Stats: the automation sensor follows the new signals with signal_stats, written to the bucket.
    wait_until("signal stats in S3", lambda: stack.keys("data/stats/signal_stats.json"), 180, every_s=3,
               logs=stack.diagnostics)

    # A tick after the one that registered the drops requests nothing and adds no partition.
    def later_skip() -> bool:
        return any(t["timestamp"] > finished for t in _sensor_ticks(stack, "SKIPPED"))

    wait_until("an inbox sensor tick after the runs", later_skip, 60, every_s=2, logs=stack.diagnostics)
    (registering,) = _sensor_ticks(stack, "SUCCESS")  # one tick registered all three, none since
    assert sorted(registering["runIds"]) == sorted(run["runId"] for run in runs), registering
    assert len(stack.runs()) == len(DROPS)
    assert stack.pool("realsyn_corpus")["limit"] == 1 and stack.pool("pin_cpu")["slotCount"] == 1
    # Pools across the runs: one realsyn_corpus step at a time, one pin_cpu step (parse, render) at a time.
    steps = [_step_intervals(stack, run["runId"]) for run in runs]
    assert _never_overlap([spans["realsyn_corpus"] for spans in steps]), steps
    assert _never_overlap([spans[k] for spans in steps for k in ("parsed_markdown", "page_renders")]), steps
    print("steps of the last run (s):", {k: round(b - a, 1) for k, (a, b) in steps[-1].items()})


def _step_intervals(stack: Stack, run_id: str) -> dict[str, tuple[float, float]]:
    """Start and end (epoch seconds) of each step of a run that succeeded, from its events."""
    started: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for event in stack.run_events(run_id):
        if event["__typename"] == "ExecutionStepStartEvent":
            started[event["stepKey"]] = float(event["timestamp"]) / 1000
        elif event["__typename"] == "ExecutionStepSuccessEvent":
            spans[event["stepKey"]] = (started[event["stepKey"]], float(event["timestamp"]) / 1000)
    return spans


def _never_overlap(spans: list[tuple[float, float]]) -> bool:
    ordered = sorted(spans)
    return all(later[0] >= earlier[1] - 0.5 for earlier, later in pairwise(ordered))


def _pid_of_run_worker(stack: Stack, run_id: str) -> int | None:
    for event in stack.run_events(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
        if found:
            return int(found.group(1))
    return None


def _step_started(stack: Stack, run_id: str, step: str) -> bool:
    return any(e["__typename"] == "ExecutionStepStartEvent" and e.get("stepKey") == step
               for e in stack.run_events(run_id))


def test_daemon_killed_mid_run_then_interrupted_run_reported_and_rerun_matches(stack: Stack) -> None:
    drop = next(iter(DROPS))
    before = stack.records(drop)
    assert before
    launched = stack.gql(LAUNCH, params={
        "selector": {**LOCATION, "jobName": "pin_job"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": drop}]},
    })["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    wait_until("the fourth run parsing", lambda: _step_started(stack, run_id, "parsed_markdown"), 300,
               every_s=1, logs=stack.diagnostics)
    worker_pid = _pid_of_run_worker(stack, run_id)
    assert worker_pid, stack.run_events(run_id)

    # The daemon goes down mid-run. The run is a process of the code server, not of the daemon: it goes on.
    stack.groups.stop("daemon", sig=signal.SIGKILL)
    time.sleep(2)
    assert process_tree(worker_pid) and stack.run(run_id)["status"] == "STARTED"
    # Then the run's worker is lost too (its step process holds a pin_cpu pool slot while it parses).
    for proc in process_tree(worker_pid):
        proc.kill()
    interrupted = wait_until(
        "the interrupted run reported",
        lambda: (run := stack.run(run_id))["status"] in ("FAILURE", "CANCELED") and run, 120, every_s=2,
        logs=stack.diagnostics,
    )
    assert interrupted["status"] == "FAILURE", interrupted
    messages = [e.get("message") or "" for e in stack.run_events(run_id)]
    assert any(f"Run execution process for {run_id}" in m for m in messages), messages[-10:]

    # The killed step still holds its pin_cpu slot; with a limit of 1 every later parse would wait on it.
    assert run_id in stack.pool_holders("pin_cpu"), stack.pool("pin_cpu")

    # The daemon comes back; the UI's "Re-execute from failure" queues the steps the worker never finished.
    # Run monitoring frees the dead run's slot (free_slots_after_run_end_seconds in docker/dagster.yaml).
    stack.start_daemon()
    rerun = stack.gql(REEXECUTE, params={"parentRunId": run_id, "strategy": "FROM_FAILURE"})
    rerun = rerun["launchPipelineReexecution"]
    assert rerun["__typename"] == "LaunchRunSuccess", rerun
    rerun_id = rerun["run"]["runId"]
    done = wait_until("the re-execution finished",
                      lambda: (run := stack.run(rerun_id))["status"] in ("SUCCESS", "FAILURE", "CANCELED")
                      and run, RUN_TIMEOUT_S, every_s=2, logs=stack.diagnostics)
    assert done["status"] == "SUCCESS", (done, stack.diagnostics())
    assert "parsed_markdown" in _step_intervals(stack, rerun_id)
    assert "raw_documents" not in _step_intervals(stack, rerun_id)  # finished before the kill: kept
    assert run_id not in stack.pool_holders("pin_cpu"), stack.pool("pin_cpu")
    assert stack.records(drop) == before
    wait_until("the batch's records shown materialized",
               lambda: sorted(_partitions(stack, "pin_records")["materializedPartitions"]) == sorted(DROPS), 60,
               every_s=3)


def test_process_instance_differs_from_compose_only_in_run_launcher() -> None:
    compose = yaml.safe_load(COMPOSE_INSTANCE.read_text())
    local = process_instance_config()
    assert {k for k in compose if compose[k] != local.get(k)} == {"run_launcher"}
    assert compose["run_launcher"]["class"] == "DockerRunLauncher"
    assert local["concurrency"]["runs"]["max_concurrent_runs"] == 2
    assert local["run_monitoring"]["enabled"] is True
