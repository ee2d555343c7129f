"""One batch over Celery worker hosts: 1 host, then 2, against the one-host stack (``python3 -m bench.celery_hosts``).

The hosts are ``tests/hosts.py``'s network namespaces on this machine: PostgreSQL, RabbitMQ and moto's S3
server on ``data``; code server, webserver and daemon on ``control``; a Celery worker on ``worker1`` and
``worker2`` (``PIN_EXECUTOR=celery``, ``tests/prod_stack.py``). All hosts share this machine's cores, so
two worker hosts cannot be faster than one: what this shows is where the steps went, and what the
Celery hop adds to each step.

Phases, each a ``pin_job`` run of a fresh batch of the same N one-page PDFs (``bench/corpus.py``), launched
as the UI does and timed from the run's start to its end:

1. baseline: the one-host stack (multiprocess executor, forkserver), every service on 127.0.0.1;
2. Celery, one worker host (``worker2``'s worker stopped);
3. Celery, two worker hosts.

Per step, from the run's events: the dispatch, from the executor taking the step up (multiprocess:
``StepWorkerStartingEvent``; Celery: the "Submitting celery task" engine event) to the step's own start
(``ExecutionStepStartEvent``), which for Celery holds the broker, the queue and the worker's fork and plan
load; and the body, the step's start to its success. The Celery hop per step is the median dispatch with
Celery minus that without, plus what neither event shows: dagster-celery's run loop polls step results
once a second (``TICK_SECONDS``), so each step's end reaches the run up to 1 s late. The run's wall time
minus the sum of its step bodies, divided by its steps, puts both together.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import make_batch
from bench.report import Row, markdown_table, write_section

HEADING = "Steps over Celery worker hosts (`python3 -m bench.celery_hosts`)"
DATASET = "benchcelery"
RESULTS = Path(__file__).with_name("RESULTS.md")
RUN_TIMEOUT_S = 4 * 3600
SUBMIT = 'Submitting celery task for step'
STEP_LOGS = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId) { __typename ... on EventConnection { events {
    __typename ... on MessageEvent { stepKey message timestamp } } } }
}
"""


def _launch(stack, batch: str) -> dict:  # noqa: ANN001 (tests.prod_stack.Stack, imported late)
    from tests.prod_stack import wait_until
    from tests.test_prod_stack import LAUNCH, LOCATION

    reply = stack.gql(LAUNCH, params={"selector": {**LOCATION, "jobName": "pin_job"},
                                      "executionMetadata": {"tags": [{"key": "dagster/partition", "value": batch}]}})
    run_id = reply["launchPipelineExecution"]["run"]["runId"]
    return wait_until(f"run {run_id}", lambda: (r := stack.run(run_id))["status"] in ("SUCCESS", "FAILURE") and r,
                      RUN_TIMEOUT_S, every_s=2, logs=stack.diagnostics)


def _add(stack, batch: str, docs: Path) -> None:  # noqa: ANN001
    with stack.placement.control.entered():
        client = stack.s3.client()
        for file in sorted(docs.iterdir()):
            client.put_object(Bucket=stack.bucket, Key=f"sources/{batch}/{file.name}", Body=file.read_bytes())
    done = stack.cli("batch", "add", batch, f"s3://{stack.bucket}/sources/{batch}/", "--dataset", DATASET,
                     timeout_s=600)
    assert done.returncode == 0, done.stdout + done.stderr


def measure(stack, batch: str, docs: Path) -> dict[str, object]:  # noqa: ANN001
    """Run the batch; wall time, steps per host, and per step (dispatch, body) in seconds."""
    _add(stack, batch, docs)
    load = os.getloadavg()[0]
    run = _launch(stack, batch)
    marks: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for event in stack.gql(STEP_LOGS, runId=run["runId"])["logsForRun"]["events"]:
        step, kind, at = event.get("stepKey"), event["__typename"], float(event.get("timestamp") or 0) / 1000
        if not step:
            continue
        if kind == "StepWorkerStartingEvent" or (kind == "EngineEvent" and (event["message"] or "").startswith(SUBMIT)):
            marks[step]["dispatch"] = at  # the last one: a retried step counts from its last dispatch
        elif kind in ("ExecutionStepStartEvent", "ExecutionStepSuccessEvent"):
            marks[step][kind] = at
    needed = {"dispatch", "ExecutionStepStartEvent", "ExecutionStepSuccessEvent"}
    steps = {step: (m["ExecutionStepStartEvent"] - m["dispatch"],
                    m["ExecutionStepSuccessEvent"] - m["ExecutionStepStartEvent"])
             for step, m in marks.items() if needed <= set(m)}
    hosts = collections.Counter(worker.removeprefix("pin@") for _, worker, _ in stack.step_workers(run["runId"]))
    return {"status": run["status"], "wall": run["endTime"] - run["startTime"], "steps": steps,
            "hosts": dict(hosts) or {"localhost": len(steps)}, "load": f"{load:.1f} -> {os.getloadavg()[0]:.1f}"}


def _rows(name: str, result: dict, baseline_dispatch: float | None) -> list[Row]:
    steps = result["steps"]
    dispatch = statistics.median(d for d, _ in steps.values())
    per_step = (result["wall"] - sum(b for _, b in steps.values())) / len(steps)
    hosts = ", ".join(f"{host} {n}" for host, n in sorted(result["hosts"].items()))
    rows = [
        Row(f"{name}: run wall time", result["wall"], "s",
            f"{result['status']}; {len(steps)} steps; steps per host: {hosts}; load {result['load']}"),
        Row(f"{name}: dispatch per step", dispatch, "s", "median, step taken up to the step's own start"),
        Row(f"{name}: wall minus step bodies, per step", per_step, "s",
            "(run wall - sum of start-to-success) / steps: dispatch, result pick-up, scheduling"),
    ]
    if baseline_dispatch is not None:
        rows.append(Row(f"{name}: Celery hop per step", dispatch - baseline_dispatch + 1.0, "s",
                        "median dispatch minus the one-host stack's, plus dagster-celery's 1 s result poll "
                        "(upper bound)"))
    return rows


def run(documents: int, scratch: Path) -> tuple[list[Row], list[str]]:
    from pin_assets.core.sources.listing import SAMPLE_PDF_DIR
    from tests.hosts import network
    from tests.prod_stack import Placement, running_stack

    signal.signal(signal.SIGTERM, lambda signum, _: (_ for _ in ()).throw(KeyboardInterrupt(signum)))
    docs = make_batch(sorted(SAMPLE_PDF_DIR.glob("*.pdf")), scratch / "docs", documents)
    rows: list[Row] = []
    for phase in ("onehost", "celery"):
        (scratch / phase).mkdir()
    print(f"bench: {time.strftime('%H:%M:%S')} one-host stack", file=sys.stderr, flush=True)
    with network(["data", "control", "worker1", "worker2"]) as net:
        one = Placement(data=net["data"], control=net["control"])
        with running_stack(scratch / "onehost", None, DATASET, placement=one) as stack:
            base = measure(stack, "bench-onehost", docs)
        base_dispatch = statistics.median(d for d, _ in base["steps"].values())
        rows += _rows("control host, multiprocess executor", base, None)
        placement = Placement(data=net["data"], control=net["control"], workers=(net["worker1"], net["worker2"]))
        with running_stack(scratch / "celery", None, DATASET, placement=placement) as stack:
            stack.stop_worker(net["worker2"])
            print(f"bench: {time.strftime('%H:%M:%S')} Celery, 1 worker host", file=sys.stderr, flush=True)
            rows += _rows("Celery, 1 worker host", measure(stack, "bench-celery-1", docs), base_dispatch)
            stack.start_worker(net["worker2"])
            print(f"bench: {time.strftime('%H:%M:%S')} Celery, 2 worker hosts", file=sys.stderr, flush=True)
            rows += _rows("Celery, 2 worker hosts", measure(stack, "bench-celery-2", docs), base_dispatch)
    notes = [f"{documents} one-page PDFs per run (bench/corpus.py), each phase a fresh batch of the same files; "
             f"every host shares this machine's {os.cpu_count()} cores, so the 2-host run measures scheduling and "
             "overhead, not speedup; each worker runs one step at a time."]
    return rows, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.celery_hosts", description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS, help="RESULTS.md to update (its own section)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pin-bench-celery-", dir=os.environ.get("PIN_BENCH_SCRATCH")) as tmp:
        rows, notes = run(args.documents, Path(tmp))
    table = markdown_table(rows)
    print(table)
    intro = [f"`python3 -m bench.celery_hosts --documents {args.documents}` on {time.strftime('%Y-%m-%d')}. "
             "Method: the module's docstring."]
    write_section(args.out, HEADING, intro, table, notes)


if __name__ == "__main__":
    main()
