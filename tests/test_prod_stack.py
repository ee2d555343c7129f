"""The production stack, started for real: what docker-compose runs, as processes on 127.0.0.1.

PostgreSQL (a throwaway ``initdb`` cluster) holds Dagster's runs, events and schedules through
dagster-postgres; the moto S3 server is the store and the inbox; a gRPC code server serves
``pin_assets.definitions``; the webserver and the daemon read ``docker/dagster.yaml`` (run launcher
swapped for DefaultRunLauncher, see ``tests/prod_stack.py``) and ``docker/workspace.yaml``.

Three drops land in the S3 inbox; the inbox sensor, running in the daemon, registers them and the
queued run coordinator runs them two at a time. Separately, a batch of its own is run once for its
reference records, run again with its parse step held (``pin_assets.step_gate``, switched on for this
stack only) while the daemon and then the run's worker are killed; the code server reports the run
failed, and its re-execution from the failure writes the same records.

Each test sets up the state it needs, so each passes alone (``-k``) and in any order; nothing waits on
a race with a real parse.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pin_assets.core.sources.listing import READY_MARKER, SAMPLE_PDF_DIR
from pin_assets.step_gate import GATE_ENV, gate_paths
from tests.prod_stack import (
    COMPOSE_INSTANCE,
    REPO,
    Stack,
    partition_of,
    postgres_bin,
    process_instance_config,
    process_tree,
    running_stack,
    wait_until,
)
from tests.s3_server import S3Server, moto_s3  # noqa: F401 (fixture)

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
KILL_BATCH = "killed-2026-12-02"  # the kill test's own batch, registered with `pin batch add`, not the inbox
KILL_FILES = ["multi_page.pdf"]
RUN_TIMEOUT_S = 2400  # hangs only: a run takes a minute on an idle 2-core machine, 15 at load 20
SHORT_TIMEOUT_S = 600  # the same for what follows a run (events, UI caches, sensor ticks)

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
@pytest.fixture(scope="module")
def stack(moto_s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: F811
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = tmp_path_factory.mktemp("prodstack")
    gates = root / "gates"
    gates.mkdir()
    with running_stack(root, moto_s3, DATASET, {GATE_ENV: str(gates)}) as started:
        yield started


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
    runs = stack.runs(partitions=DROPS)
    done = [run for run in runs if run["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
    return runs if len(runs) >= count and len(done) == len(runs) else None


def _max_overlap(spans: list[tuple[float, float]], slack_s: float = 0.5) -> int:
    """Most spans (start, end) open at once, counted at each start: a span is open from its start until
    ``slack_s`` before its end (a pool slot is released a moment after the step's success event is
    stamped), and always at its own start however short it is (a step of 0.3 s on a quiet machine once
    counted as never open, which read as no step at all)."""
    return max((1 + sum(1 for j, (s, e) in enumerate(spans) if j != i and s <= start < e - slack_s)
                for i, (start, _) in enumerate(spans)), default=0)


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
    assert [run["status"] for run in runs] == ["SUCCESS"] * len(DROPS), stack.failures(runs)
    assert sorted(partition_of(run) for run in runs) == sorted(DROPS)
    # Drops this small (PIN_IN_PROCESS_MAX_FILES, default 20) run their steps in the run's own process: no
    # step process is launched (the kill test's batch, launched by hand, keeps one per step).
    for run in runs:
        kinds = {event["__typename"] for event in stack.run_events(run["runId"])}
        assert "ExecutionStepStartEvent" in kinds and "StepWorkerStartingEvent" not in kinds, (run, kinds)

    # The queue: never more than two at once, two did run together, and the third waited for a slot.
    assert _max_overlap([(run["startTime"], run["endTime"]) for run in runs], slack_s=0) == 2, runs
    first_end = min(run["endTime"] for run in runs[:2])
    assert runs[2]["startTime"] >= first_end - 0.5, runs
    timeline = [(partition_of(run), *(run[k] - dropped for k in ("creationTime", "startTime", "endTime")))
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
        return all(set(DROPS) <= set(_partitions(stack, a)["materializedPartitions"]) for a in assets)

    wait_until("every partition shown materialized", all_materialized, SHORT_TIMEOUT_S, every_s=3,
               logs=lambda: str({a: _partitions(stack, a) for a in assets}))

    # Stats: the automation sensor follows the new signals with signal_stats, written to the bucket.
    wait_until("signal stats in S3", lambda: stack.keys("data/stats/signal_stats.json"), RUN_TIMEOUT_S, every_s=3,
               logs=stack.diagnostics)

    # A tick after the one that registered the drops requests nothing and adds no partition.
    def later_skip() -> bool:
        return any(t["timestamp"] > finished for t in _sensor_ticks(stack, "SKIPPED"))

    wait_until("an inbox sensor tick after the runs", later_skip, SHORT_TIMEOUT_S, every_s=2, logs=stack.diagnostics)
    # One tick registered all three, none since (the inbox is this test's alone: other batches are added
    # with `pin batch add`, which the sensor never sees).
    (registering,) = _sensor_ticks(stack, "SUCCESS")
    assert sorted(registering["runIds"]) == sorted(run["runId"] for run in runs), registering
    assert len(stack.runs(partitions=DROPS)) == len(DROPS)
    # Pools across the runs, as compose's daemon sets them: one realsyn_corpus step at a time; as many
    # pin_cpu steps (parse, render) as the machine has CPUs.
    cpus = len(os.sched_getaffinity(0))
    assert stack.pool("realsyn_corpus")["limit"] == 1 and stack.pool("pin_cpu")["limit"] == cpus
    steps = [_step_intervals(stack, run["runId"]) for run in runs]
    assert _max_overlap([spans["realsyn_corpus"] for spans in steps]) == 1, steps
    assert _max_overlap([spans[k] for spans in steps for k in ("parsed_markdown", "page_renders")]) <= cpus, steps
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


def _pid_of_run_worker(stack: Stack, run_id: str) -> int | None:
    for event in stack.run_events(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
        if found:
            return int(found.group(1))
    return None


def _step_started(stack: Stack, run_id: str, step: str) -> bool:
    return any(e["__typename"] == "ExecutionStepStartEvent" and e.get("stepKey") == step
               for e in stack.run_events(run_id))


def _launch(stack: Stack, partition: str) -> str:
    """Launch pin_job for a partition as the UI's launchpad does; the run id."""
    launched = stack.gql(LAUNCH, params={
        "selector": {**LOCATION, "jobName": "pin_job"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    })["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _ended(stack: Stack, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict:
    return wait_until(f"run {run_id} ended",
                      lambda: (run := stack.run(run_id))["status"] in ("SUCCESS", "FAILURE", "CANCELED") and run,
                      timeout_s, every_s=2, logs=stack.diagnostics)


def _add_batch(stack: Stack, name: str, files: list[str]) -> None:
    """Upload documents under sources/ (outside the inbox) and register them with `pin batch add`."""
    client = stack.s3.client()
    for file in files:
        client.put_object(Bucket=stack.bucket, Key=f"sources/{name}/{file}", Body=(SAMPLE_PDF_DIR / file).read_bytes())
    added = subprocess.run(
        [sys.executable, "-m", "pin_assets.cli", "batch", "add", name, f"s3://{stack.bucket}/sources/{name}/",
         "--dataset", DATASET],
        env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert added.returncode == 0, added.stdout + added.stderr


def test_daemon_killed_mid_run_then_interrupted_run_reported_and_rerun_matches(stack: Stack) -> None:
    _add_batch(stack, KILL_BATCH, KILL_FILES)
    reference = _ended(stack, _launch(stack, KILL_BATCH))
    assert reference["status"] == "SUCCESS", stack.failures([reference])
    before = stack.records(KILL_BATCH)
    assert len(before) == len(KILL_FILES), before

    # The same batch again, its parse step held at its start until this test lets go: the step provably
    # runs, and holds its pin_cpu slot, when the daemon and the worker are killed.
    hold, held = gate_paths(Path(stack.env[GATE_ENV]), KILL_BATCH, "parsed_markdown")
    hold.touch()
    run_id = _launch(stack, KILL_BATCH)
    # A run that ends before its step reaches the gate (failed at dequeue or start) ends the wait too.
    wait_until("the run's parse step held at the gate, or the run ended",
               lambda: held.exists() or stack.run(run_id)["status"] in ("SUCCESS", "FAILURE", "CANCELED"),
               RUN_TIMEOUT_S, every_s=0.5, logs=stack.diagnostics)
    assert held.exists(), stack.failures([stack.run(run_id)])
    assert _step_started(stack, run_id, "parsed_markdown")
    assert run_id in stack.pool_holders("pin_cpu"), stack.pool("pin_cpu")
    worker_pid = _pid_of_run_worker(stack, run_id)
    assert worker_pid, stack.run_events(run_id)
    assert any(e["__typename"] == "StepWorkerStartingEvent" for e in stack.run_events(run_id))  # a step process

    # The daemon goes down mid-run. The run is a process of the code server, not of the daemon: it goes on.
    stack.groups.stop("daemon", sig=signal.SIGKILL)
    assert process_tree(worker_pid) and stack.run(run_id)["status"] == "STARTED"
    assert held.exists() and int(held.read_text()) in {p.pid for p in process_tree(worker_pid)}
    # Then the run's worker is lost too, with the step process that holds the slot.
    for proc in process_tree(worker_pid):
        proc.kill()
    interrupted = _ended(stack, run_id, SHORT_TIMEOUT_S)
    assert interrupted["status"] == "FAILURE", interrupted
    messages = [e.get("message") or "" for e in stack.run_events(run_id)]
    assert any(f"Run execution process for {run_id}" in m for m in messages), messages[-10:]

    # The killed step still holds its pin_cpu slot; with every slot held so, every later parse would wait.
    assert run_id in stack.pool_holders("pin_cpu"), stack.pool("pin_cpu")

    # The daemon comes back; the UI's "Re-execute from failure" queues the steps the worker never finished.
    hold.unlink()
    stack.start_daemon()
    rerun = stack.gql(REEXECUTE, params={"parentRunId": run_id, "strategy": "FROM_FAILURE"})
    rerun = rerun["launchPipelineReexecution"]
    assert rerun["__typename"] == "LaunchRunSuccess", rerun
    rerun_id = rerun["run"]["runId"]
    done = _ended(stack, rerun_id)
    assert done["status"] == "SUCCESS", stack.failures([done])
    assert "parsed_markdown" in _step_intervals(stack, rerun_id)
    assert "raw_documents" not in _step_intervals(stack, rerun_id)  # finished before the kill: kept
    # Nothing in the run's own processes can give the slot back: they are dead. The daemon's run monitoring
    # frees the slots of a run that ended free_slots_after_run_end_seconds ago (docker/dagster.yaml), on its
    # next pass (every poll_interval_seconds), so the slot goes free some time after the failure, not at it:
    # wait for that, whatever the rerun's speed.
    wait_until("run monitoring frees the dead run's pin_cpu slot",
               lambda: run_id not in stack.pool_holders("pin_cpu"), SHORT_TIMEOUT_S, every_s=2,
               logs=lambda: f"{stack.pool('pin_cpu')}\n{stack.diagnostics()}")
    assert stack.records(KILL_BATCH) == before
    wait_until("the batch's records shown materialized",
               lambda: KILL_BATCH in _partitions(stack, "pin_records")["materializedPartitions"], SHORT_TIMEOUT_S,
               every_s=3)


def test_process_instance_differs_from_compose_only_in_run_launcher() -> None:
    compose = yaml.safe_load(COMPOSE_INSTANCE.read_text())
    local = process_instance_config()
    assert {k for k in compose if compose[k] != local.get(k)} == {"run_launcher"}
    assert compose["run_launcher"]["class"] == "DockerRunLauncher"
    assert local["concurrency"]["runs"]["max_concurrent_runs"] == 2
    assert local["run_monitoring"]["enabled"] is True
