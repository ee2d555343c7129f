"""Steps of one run on other machines: Dagster's Celery executor over four hosts made of network namespaces.

``tests/hosts.py`` makes the hosts: ``data`` (PostgreSQL, RabbitMQ, moto's S3 server), ``control`` (code
server, webserver, daemon, and so the runs), ``worker1`` and ``worker2`` (a Celery worker each, the
project installed, ``PIN_EXECUTOR=celery``). Every connection goes over the hosts' addresses; 127.0.0.1
inside a host is that host's alone. ``tests/prod_stack.py`` starts the services on them.

What is shown, on batches of small real PDFs (and one broken one, quarantined):

- a run's steps execute on the worker hosts (each step's events name the worker and its hostname), and its
  records in S3 are byte-identical to a one-host run of the same batch (``pin materialize``);
- a worker host unplugged from the network while it provably runs a parse step (held at the test gate,
  ``pin_assets.step_gate``): the broker notices the silent host, hands the unacknowledged step to the
  other worker, and the run succeeds with every document in the records or in quarantine, each record once;
- RabbitMQ restarted while a run's steps wait in its queue (no worker up): the steps are still there after,
  and the run completes when the workers come back.

The stack is torn down, namespaces included, whether a test fails or not; without namespaces, RabbitMQ or
PostgreSQL the module is skipped with the reason.
"""

from __future__ import annotations

import collections
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pin_assets.core.sources.listing import SAMPLE_PDF_DIR
from pin_assets.step_gate import GATE_ENV, gate_paths
from tests.hosts import Network, namespaces_unavailable, network
from tests.prod_stack import Placement, Stack, postgres_bin, rabbitmq_missing, running_stack, wait_until
from tests.test_prod_stack import BROKEN_PDF, LAUNCH, LOCATION

pytestmark = pytest.mark.slow

DATASET = "celeryhosts"
HOSTS = ("data", "control", "worker1", "worker2")
WORKERS = ("worker1", "worker2")
FILES = ["multi_page.pdf", "picture_classification.pdf", "broken.pdf"]
RUN_TIMEOUT_S = 1800  # hangs only: a run takes well under a minute on an idle 2-core machine
# Fast enough for a test: a silent host is dropped after ~2 missed heartbeats; a failed step retried at once.
STACK_ENV = {"PIN_CELERY_HEARTBEAT_S": "4", "PIN_STEP_RETRY_DELAY_S": "1"}
# One of the three files is broken on purpose: a third of the batch, over the default quarantine bound (0.25).
QUARANTINE_BOUND = 0.5


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Network]]:
    for reason in (namespaces_unavailable(), rabbitmq_missing(),
                   None if postgres_bin() else "PostgreSQL server binaries not found (apt-get install postgresql)"):
        if reason:
            pytest.skip(reason)
    root = tmp_path_factory.mktemp("celeryhosts")
    gates = root / "gates"
    gates.mkdir()
    with network(HOSTS) as net:
        placement = Placement(data=net["data"], control=net["control"], workers=(net["worker1"], net["worker2"]))
        with running_stack(root, None, DATASET, {GATE_ENV: str(gates), **STACK_ENV}, placement) as stack:
            yield stack, net


def _add_batch(stack: Stack, name: str, base: str = "data", env: dict[str, str] | None = None) -> None:
    """Upload the batch's files under sources/ and register it with `pin batch add` from the control host."""
    with stack.placement.control.entered():
        client = stack.s3.client()
        for file in FILES:
            body = BROKEN_PDF if file == "broken.pdf" else (SAMPLE_PDF_DIR / file).read_bytes()
            client.put_object(Bucket=stack.bucket, Key=f"sources/{name}/{file}", Body=body)
    added = stack.cli("batch", "add", name, f"s3://{stack.bucket}/sources/{name}/", "--dataset", DATASET,
                      env={"PIN_STORAGE_URI": f"s3://{stack.bucket}/{base}", **(env or {})}, timeout_s=300)
    assert added.returncode == 0, added.stdout + added.stderr


def _launch(stack: Stack, partition: str) -> str:
    launched = stack.gql(LAUNCH, params={
        "selector": {**LOCATION, "jobName": "pin_job"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        "runConfigData": {"resources": {"processing": {"config": {"max_quarantine_rate": QUARANTINE_BOUND}}}},
    })["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _ended(stack: Stack, run_id: str) -> dict:
    run = wait_until(f"run {run_id} ended",
                     lambda: (run := stack.run(run_id))["status"] in ("SUCCESS", "FAILURE", "CANCELED") and run,
                     RUN_TIMEOUT_S, every_s=2, logs=stack.diagnostics)
    assert run["status"] == "SUCCESS", stack.failures([run])
    return run


def _one_host_records(stack: Stack, batch: str) -> dict[str, str]:
    """The same batch run on one host, in one process (``pin materialize``), into a prefix of its own."""
    home = stack.root / f"onehost-{batch}"
    home.mkdir()
    env = {"DAGSTER_HOME": str(home), "PIN_EXECUTOR": "multiprocess"}
    env.update({name: "" for name in stack.env if name.startswith("DAGSTER_POSTGRES_")})
    _add_batch(stack, batch, base="onehost", env=env)
    done = stack.cli("materialize", batch, "--set", f"max_quarantine_rate={QUARANTINE_BOUND}",
                     env={"PIN_STORAGE_URI": f"s3://{stack.bucket}/onehost", **env})
    assert done.returncode == 0, done.stdout + done.stderr
    return stack.records(batch, base="onehost")


def _assert_conserved(stack: Stack, batch: str) -> dict[str, str]:
    """Every document in the records or in quarantine; each record exactly once."""
    lines = stack.record_lines(batch)
    duplicated = [rid for rid, n in collections.Counter(rid for rid, _ in lines).items() if n > 1]
    assert not duplicated, duplicated
    quarantined = stack.keys(f"data/quarantine/{batch}/")
    assert len(lines) == len(FILES) - 1 and quarantined, (lines, quarantined)
    return dict(lines)


def _hosts_of(stack: Stack, run_id: str) -> dict[str, list[str]]:
    """Step -> the worker hosts that began it, in order (a worker is named ``pin@<hostname>``)."""
    hosts: dict[str, list[str]] = collections.defaultdict(list)
    for step, worker, _ in stack.step_workers(run_id):
        hosts[step].append(worker.removeprefix("pin@"))
    return dict(hosts)


def test_steps_across_hosts_survive_a_lost_host_and_a_broker_restart(hosts: tuple[Stack, Network]) -> None:
    """One test, one stack: under ``pytest -n 2`` separate tests could each start the four hosts' services."""
    stack, net = hosts
    _steps_run_on_worker_hosts_and_records_match_one_host(stack)
    _worker_host_cut_mid_parse_step_is_retried_on_the_other(stack, net)
    _broker_restart_keeps_queued_steps(stack, net)


def _steps_run_on_worker_hosts_and_records_match_one_host(stack: Stack) -> None:
    batch = "celery-2026-12-07-a"
    _add_batch(stack, batch)
    run_id = _launch(stack, batch)
    _ended(stack, run_id)
    placed = _hosts_of(stack, run_id)
    assert {"raw_documents", "parsed_markdown", "page_renders", "pin_records"} <= set(placed), placed
    assert all(len(on) == 1 and on[0] in WORKERS for on in placed.values()), placed
    print("\nsteps per host:", collections.Counter(on[0] for on in placed.values()))
    records = _assert_conserved(stack, batch)
    assert records == _one_host_records(stack, batch)


def _worker_host_cut_mid_parse_step_is_retried_on_the_other(stack: Stack, net: Network) -> None:
    """The host running the parse step drops off the network; its worker is gone for the rest of the test."""
    batch = "celery-2026-12-07-b"
    _add_batch(stack, batch)
    gates = Path(stack.env[GATE_ENV])
    holds = {name: gate_paths(gates / name, batch, "parsed_markdown") for name in WORKERS}
    for hold, _ in holds.values():
        hold.touch()
    run_id = _launch(stack, batch)
    lost = wait_until("the parse step held on a worker host",
                      lambda: next((n for n, (_, held) in holds.items() if held.exists()), None),
                      RUN_TIMEOUT_S, every_s=0.5, logs=stack.diagnostics)
    other = next(name for name in WORKERS if name != lost)
    holds[other][0].unlink()  # the other host runs the step through when it gets it
    net.cut(net[lost])
    try:
        _ended(stack, run_id)
    finally:
        holds[lost][0].unlink()
        stack.stop_worker(net[lost], signal.SIGKILL)  # the lost host's worker never comes back as it was
        net.restore(net[lost])
    placed = _hosts_of(stack, run_id)
    assert placed["parsed_markdown"] == [lost, other], placed
    _assert_conserved(stack, batch)


def _broker_restart_keeps_queued_steps(stack: Stack, net: Network) -> None:
    """No worker up, a run's first step queued; RabbitMQ restarted; the workers come back and run it all."""
    batch = "celery-2026-12-07-c"
    _add_batch(stack, batch)
    for name in WORKERS:
        if f"worker-{name}" in stack.groups.services:
            stack.stop_worker(net[name])
    try:
        assert stack.broker is not None
        # Messages already in the queue (an earlier phase's redelivered step) are not this run's: the restart
        # must wait until this run's own step is in the queue, not race its submission.
        before = stack.broker.queued("dagster", net["control"])
        run_id = _launch(stack, batch)

        def queued_or_ended() -> bool:
            run = stack.run(run_id)
            assert run["status"] not in ("FAILURE", "CANCELED"), stack.failures([run])  # before the restart
            return stack.broker.queued("dagster", net["control"]) > before

        wait_until("this run's first step waiting in the broker's queue", queued_or_ended, RUN_TIMEOUT_S,
                   every_s=1, logs=stack.diagnostics)
        stack.broker.restart()
        assert stack.broker.queued("dagster", net["control"]) >= 1
    finally:
        for launched in [stack.launch_worker(net[name]) for name in WORKERS]:
            stack.await_worker(launched)
    _ended(stack, run_id)
    assert set(_hosts_of(stack, run_id)) >= {"raw_documents", "parsed_markdown", "pin_records"}
    _assert_conserved(stack, batch)
