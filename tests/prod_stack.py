"""The production stack as local processes: PostgreSQL, a code server, the webserver and the daemon.

``tests/test_prod_stack.py`` starts what docker-compose runs, from the files compose mounts, with every
service a process on 127.0.0.1 instead of a container; ``bench/stack.py`` times the same stack. Kept
apart from both so the start-up and clean-up rules (own process group, unprivileged PostgreSQL,
readiness checks) are read in one place: :func:`running_stack` starts it, :class:`Stack` asks the
webserver's GraphQL what the UI shows.

The instance is ``docker/dagster.yaml`` with only its ``run_launcher`` swapped
(:func:`process_instance_config`): storage, run queue, pools, compute logs and run monitoring are the
ones production uses. The workspace is ``docker/workspace.yaml`` unchanged; its host and port come from
the environment, as in compose.

The same stack spreads over several machines when given a :class:`Placement` of hosts made by
``tests/hosts.py`` (network namespaces): PostgreSQL, the S3 server and a RabbitMQ broker on a data host,
the code server, webserver and daemon (and so the runs) on a control host, and Celery workers
(``PIN_EXECUTOR=celery``) on worker hosts; every service listens on its host's address and every
connection goes over the hosts' network. The test's own requests come from the control host, as an
operator's would. ``tests/test_celery_hosts.py`` runs it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import psutil
import yaml

from pin_assets.core.jsonl import read_jsonl
from tests.hosts import LOCAL, Host
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

REPO = Path(__file__).resolve().parents[1]
COMPOSE_INSTANCE = REPO / "docker" / "dagster.yaml"
COMPOSE_WORKSPACE = REPO / "docker" / "workspace.yaml"
COMPOSE_FILE = REPO / "docker-compose.yml"
BIN = Path(sys.executable).parent
PROCESS_LAUNCHER = {"module": "dagster", "class": "DefaultRunLauncher"}
UNPRIVILEGED = "nobody"


def process_instance_config(launcher: dict[str, Any] = PROCESS_LAUNCHER) -> dict[str, Any]:
    """docker/dagster.yaml with its run launcher replaced: runs become processes of the code server.

    Everything else is taken as compose has it, so the process stack cannot drift from production.
    """
    config = yaml.safe_load(COMPOSE_INSTANCE.read_text())
    return {**config, "run_launcher": launcher}


def code_server_command(host: str, port: int) -> list[str]:
    """The pin_code service's command from docker-compose.yml, listening on ``host:port`` instead."""
    command = list(yaml.safe_load(COMPOSE_FILE.read_text())["services"]["pin_code"]["command"])
    command[command.index("-h") + 1] = host
    command[command.index("-p") + 1] = str(port)
    return dagster_command(command[0], *command[1:])


def compose_daemon_setup() -> str:
    """The shell commands pin_daemon's entrypoint runs before ``exec dagster-daemon`` (pool limits)."""
    script = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["pin_daemon"]["entrypoint"][-1]
    setup = script.split("exec dagster-daemon")[0].strip().removesuffix("&&").strip()
    return setup.replace("$$", "$")  # compose's escape for a literal $


def console_scripts(folder: Path) -> Path:
    """``dagster`` and friends as shell scripts in ``folder``, each running :func:`dagster_command`."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("dagster", "dagster-daemon", "dagster-webserver"):
        script = folder / tool
        script.write_text(f"#!/bin/sh\nexec {shlex.join(dagster_command(tool))} \"$@\"\n")
        script.chmod(0o755)
    return folder


def free_port(host: Host = LOCAL) -> int:
    """A port free on ``host``'s address (each namespaced host has ports of its own)."""
    with host.entered(), socket.socket() as sock:
        sock.bind((host.address, 0))
        return sock.getsockname()[1]


def wait_until(what: str, probe: Callable[[], Any], timeout_s: float, every_s: float = 0.5,
               logs: Callable[[], str] = lambda: "") -> Any:
    """Poll ``probe`` until it returns something truthy; on timeout fail with ``what`` and the logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s\n{logs()}")


def postgres_bin() -> Path | None:
    """Debian's newest PostgreSQL server binaries, or a ``postgres`` on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ({self.log}) ---\n{self.log.read_text(errors='replace')[-chars:]}"


@dataclass
class ProcessGroups:
    """Processes started in their own sessions; :meth:`stop_all` kills each group and any stray child."""

    log_dir: Path
    services: dict[str, Service] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str], host: Host = LOCAL, **popen: Any) -> Service:
        """Start ``command`` on ``host`` (it inherits the host's network and hostname) in a session of its own."""
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out, host.entered():
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, **popen)
        self.services[name] = Service(name, proc, log)
        return self.services[name]

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
        """Signal the service's process group, then SIGKILL the group and every descendant still alive."""
        service = self.services.pop(name)
        try:
            family = psutil.Process(service.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        for target_sig in (sig, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, target_sig)
            try:
                service.proc.wait(timeout=timeout_s)
                break
            except subprocess.TimeoutExpired:
                continue
        for child in family:  # runs and their pools may have left the group
            with_suppressed_gone(child.kill)
        psutil.wait_procs(family, timeout=10)

    def stop_all(self) -> None:
        for name in reversed(list(self.services)):
            self.stop(name, timeout_s=15)

    def tails(self) -> str:
        return "\n".join(service.tail() for service in self.services.values())


def with_suppressed_gone(call: Callable[[], Any]) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        call()


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        return {"DAGSTER_POSTGRES_HOST": self.host, "DAGSTER_POSTGRES_PORT": str(self.port),
                "DAGSTER_POSTGRES_USER": self.user, "DAGSTER_POSTGRES_PASSWORD": self.password,
                "DAGSTER_POSTGRES_DB": self.db}


def start_postgres(groups: ProcessGroups, binaries: Path, host: Host = LOCAL) -> tuple[Postgres, Path]:
    """A throwaway cluster in a fresh folder, password-authenticated on ``host``'s address and a free port.

    Clients on the same subnet are let in (``samenet``): on the multi-host stack, every other host.

    PostgreSQL refuses to run as root: as root, the cluster belongs to ``nobody`` and the server runs
    as that user. The folder is made with ``mkdtemp`` under the system temp dir, not in pytest's
    ``tmp_path`` (mode 0700 and owned by root, so ``nobody`` could not reach it). The caller removes it.
    """
    cluster = Path(tempfile.mkdtemp(prefix="pin-pg-"))
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam(UNPRIVILEGED)
        os.chown(cluster, entry.pw_uid, entry.pw_gid)
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    db = Postgres(host.address, free_port(host), "dagster", "pin-test-password", "dagster")
    pwfile = cluster / "pw"
    pwfile.write_text(db.password)
    if as_user:
        os.chown(pwfile, as_user["user"], as_user["group"])
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    subprocess.run(
        [str(binaries / "initdb"), "-D", str(cluster / "data"), "-U", db.user, f"--pwfile={pwfile}",
         "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
        env=env, cwd=cluster, check=True, capture_output=True, timeout=120, **as_user,
    )
    with open(cluster / "data" / "pg_hba.conf", "a", encoding="utf-8") as hba:
        hba.write("host all all samenet scram-sha-256\n")
    groups.start("postgres", [str(binaries / "postgres"), "-D", str(cluster / "data"), "-h", db.host,
                              "-p", str(db.port), "-k", str(cluster), "-c", "fsync=off",
                              "-c", "max_connections=200", "-c", "log_connections=on"], env, host, **as_user)

    import psycopg2

    def connect():  # noqa: ANN202
        return psycopg2.connect(host=db.host, port=db.port, user=db.user, password=db.password,
                                dbname="postgres", connect_timeout=2)

    with host.entered():
        conn = wait_until("postgres accepting connections", _probe(connect, psycopg2.OperationalError), 60,
                          logs=groups.tails)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db.db}")
    conn.close()
    return db, cluster


def _probe(call: Callable[[], Any], *errors: type[BaseException]) -> Callable[[], Any]:
    def probe() -> Any:
        try:
            return call()
        except errors:
            return None
    return probe


def graphql(port: int, query: str, variables: dict | None = None, timeout_s: float = 30,
            address: str = "127.0.0.1") -> dict:
    """POST a query to the webserver's /graphql, as the UI does; errors fail the caller."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://{address}:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as reply:
        answer = json.loads(reply.read())
    if answer.get("errors"):
        raise AssertionError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def dagster_command(tool: str, *args: str) -> list[str]:
    """A Dagster console script (dagster, dagster-daemon, ...) run by this interpreter.

    A venv made with ``--system-site-packages`` has no scripts of the packages it inherits: then the
    script's entry point is called with this interpreter, so the project on its path is the one tested.
    """
    script = BIN / tool
    if script.exists():
        return [str(script), *args]
    (entry,) = entry_points(group="console_scripts", name=tool)
    module, _, function = entry.value.partition(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())", *args]


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (a run worker, its step processes and their pools)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


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
ENGINE_EVENTS = """
query Engine($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection { events { __typename ... on EngineEvent { stepKey message timestamp
      metadataEntries { label ... on TextMetadataEntry { text } } } } }
  }
}
"""
CELERY_WORKER_LABEL = "Celery worker"  # dagster-celery's metadata on "Executing steps ... in celery worker"


@dataclass(frozen=True)
class Placement:
    """Which host runs which service.

    The default is the one-host stack: everything on this machine, steps by the multiprocess executor.
    With ``workers``, steps go through a RabbitMQ broker on the data host to a Celery worker on each worker
    host (``PIN_EXECUTOR=celery``). The test's requests (GraphQL, S3, the ``pin`` CLI) come from ``control``.
    """

    data: Host = LOCAL  # PostgreSQL, the S3 server when the stack starts one, the broker
    control: Host = LOCAL  # code server, webserver, daemon, and so the runs (processes of the code server)
    workers: tuple[Host, ...] = ()


ONE_HOST = Placement()
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
COMPOSE_RABBITMQ_CONF = REPO / "docker" / "rabbitmq.conf"
BROKER_USER, BROKER_PASSWORD = "pin", "pin-broker-password"


def rabbitmq_missing() -> str | None:
    """Why the Celery stack cannot start here (a skip reason), or None."""
    if not RABBITMQ_SERVER.exists() or shutil.which("epmd") is None:
        return "RabbitMQ not installed (apt-get install rabbitmq-server)"
    return None


@dataclass
class Broker:
    """RabbitMQ on a host: its URL as the runs and workers use it; restartable with its queues kept on disk."""

    groups: ProcessGroups
    host: Host
    url: str
    port: int
    env: dict[str, str]

    def start(self) -> None:
        service = self.groups.start("rabbitmq", [str(RABBITMQ_SERVER)], self.env, self.host)
        wait_until("rabbitmq accepting connections", lambda: service.proc.poll() is not None or self._listening(),
                   600, logs=self.groups.tails)
        assert service.proc.poll() is None, service.tail()

    def _listening(self) -> bool:
        with self.host.entered(), socket.create_connection((self.host.address, self.port), timeout=2):
            return True

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): durable queues and persistent messages are written to disk."""
        self.groups.stop("rabbitmq", signal.SIGTERM, timeout_s=120)

    def restart(self) -> None:
        self.stop()
        self.start()

    def queued(self, queue: str, via: Host) -> int:
        """Messages ready in ``queue`` (delivered but unacknowledged ones not counted), asked from ``via``."""
        from kombu import Connection

        with via.entered(), Connection(self.url, connect_timeout=10) as conn:
            return conn.default_channel.queue_declare(queue, passive=True).message_count


def start_rabbitmq(groups: ProcessGroups, host: Host, folder: Path) -> Broker:
    """RabbitMQ with compose's ``docker/rabbitmq.conf``, listening on ``host``'s address, data in ``folder``.

    Its own epmd (Erlang's port mapper) is started first, in the stack's process groups, so nothing
    outlives the stack; Erlang's schedulers do not busy-wait (a shared machine).
    """
    folder.mkdir(parents=True)
    port, epmd_port, dist_port = free_port(host), free_port(host), free_port(host)
    conf = folder / "rabbitmq.conf"
    conf.write_text(COMPOSE_RABBITMQ_CONF.read_text() + "\n".join([
        "", "# the test's broker", f"listeners.tcp.default = {host.address}:{port}",
        f"default_user = {BROKER_USER}", f"default_pass = {BROKER_PASSWORD}", "disk_free_limit.absolute = 50MB", "",
    ]))
    (folder / "enabled_plugins").write_text("[].\n")
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(folder),
           "RABBITMQ_NODENAME": "pin@localhost", "RABBITMQ_CONFIG_FILE": str(conf),
           "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"), "RABBITMQ_LOG_BASE": str(folder / "log"),
           "RABBITMQ_LOGS": "-", "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
           "RABBITMQ_CONF_ENV_FILE": str(folder / "none"), "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "none"),
           "RABBITMQ_PID_FILE": str(folder / "pid"), "RABBITMQ_DIST_PORT": str(dist_port),
           "ERL_EPMD_PORT": str(epmd_port), "ERL_CRASH_DUMP": str(folder / "erl_crash.dump"),
           "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+S 2:2 +sbwt none +sbwtdcpu none +sbwtdio none"}
    groups.start("epmd", ["epmd", "-port", str(epmd_port)], env, host)
    broker = Broker(groups, host, f"amqp://{BROKER_USER}:{BROKER_PASSWORD}@{host.address}:{port}//", port, env)
    broker.start()
    return broker


def start_s3_server(groups: ProcessGroups, host: Host) -> S3Server:
    """moto's S3 server as a process of ``host``, on its address (the one-host stack uses the tests' server)."""
    port = free_port(host)
    groups.start("s3", [sys.executable, "-m", "moto.server", "-H", host.address, "-p", str(port)],
                 {**os.environ, "PYTHONWARNINGS": "ignore"}, host)
    s3 = S3Server(endpoint=f"http://{host.address}:{port}")

    def listening() -> bool:
        from botocore.exceptions import EndpointConnectionError

        with host.entered():
            try:
                return bool(s3.client().list_buckets())
            except EndpointConnectionError:  # not listening yet (botocore's error is not an OSError)
                return False

    wait_until("S3 server answering", listening, 300, logs=groups.tails)
    return s3


@dataclass
class Stack:
    groups: ProcessGroups
    env: dict[str, str]
    s3: S3Server
    bucket: str
    web_port: int
    postgres: Postgres
    dataset: str  # the inbox sensor's source dataset
    root: Path  # logs and the Dagster home
    placement: Placement = ONE_HOST
    broker: Broker | None = None

    def gql(self, query: str, **variables: object) -> dict:
        with self.placement.control.entered():
            return graphql(self.web_port, query, variables, address=self.placement.control.address)

    def start_daemon(self) -> None:
        self.groups.start("daemon", dagster_command("dagster-daemon", "run", "-w", self.env["WORKSPACE"]),
                          self.env, self.placement.control)

    def worker_env(self, host: Host) -> dict[str, str]:
        """The stack's variables; a test step gate (``PIN_TEST_STEP_GATE``) becomes one folder per host."""
        from pin_assets.step_gate import GATE_ENV

        env = dict(self.env)
        if GATE_ENV in env:
            gate = Path(env[GATE_ENV]) / host.name
            gate.mkdir(parents=True, exist_ok=True)
            env[GATE_ENV] = str(gate)
        return env

    def start_worker(self, host: Host) -> Service:
        """A Celery worker on ``host``, named after it (``pin@<hostname>``); returns once it consumes steps."""
        return self.await_worker(self.launch_worker(host))

    def launch_worker(self, host: Host) -> tuple[Service, int]:
        command = [sys.executable, "-m", "celery", "-A", "pin_assets.celery_app", "worker", "-n", "pin@%h",
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        log = self.root / f"worker-{host.name}.log"
        offset = log.stat().st_size if log.exists() else 0
        return self.groups.start(f"worker-{host.name}", command, self.worker_env(host), host), offset

    def await_worker(self, launched: tuple[Service, int]) -> Service:
        """Wait for Celery's "ready." line (after the preload), written since the worker was launched."""
        service, offset = launched
        wait_until(f"{service.name} ready", lambda: " ready." in service.log.read_text(errors="replace")[offset:]
                   or service.proc.poll() is not None, 900, logs=self.groups.tails)
        assert service.proc.poll() is None, service.tail()
        return service

    def stop_worker(self, host: Host, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: Celery's warm shutdown (finishes the step it runs); SIGKILL: the host's worker is lost."""
        self.groups.stop(f"worker-{host.name}", sig, timeout_s=120)

    def cli(self, *args: str, env: dict[str, str] | None = None,
            timeout_s: float = 1800) -> subprocess.CompletedProcess:
        """``pin ARGS`` on the control host with the stack's environment (plus ``env``)."""
        with self.placement.control.entered():
            return subprocess.run([sys.executable, "-m", "pin_assets.cli", *args], env={**self.env, **(env or {})},
                                  cwd=REPO, capture_output=True, text=True, timeout=timeout_s)

    def runs(self, job: str = "pin_job", partitions: object = None) -> list[dict]:
        """The job's runs in creation order; only those of ``partitions`` when given."""
        reply = self.gql(RUNS, filter={"pipelineName": job})["runsOrError"]
        assert reply["__typename"] == "Runs", reply
        runs = [run for run in reply["results"] if partitions is None or partition_of(run) in partitions]
        return sorted(runs, key=lambda run: run["creationTime"])

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

    def step_workers(self, run_id: str) -> list[tuple[str, str, float]]:
        """(step, Celery worker, epoch seconds) each time a worker began a step of the run, in order."""
        events = self.gql(ENGINE_EVENTS, runId=run_id)["logsForRun"]["events"]
        found = []
        for event in events:
            entries = {entry["label"]: entry.get("text") for entry in event.get("metadataEntries") or []}
            if CELERY_WORKER_LABEL in entries:
                found.append((event["stepKey"], entries[CELERY_WORKER_LABEL], float(event["timestamp"]) / 1000))
        return found

    def keys(self, prefix: str) -> list[str]:
        with self.placement.control.entered():
            pages = self.s3.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def record_lines(self, drop: str, base: str = "data") -> list[tuple[str, str]]:
        """(record id, SHA-256 of its canonical JSON) for every line of every export part of the drop."""
        with self.placement.control.entered():
            client = self.s3.client()
            parts = sorted(k for k in self.keys(f"{base}/export/pin/{self.dataset}/{drop}/") if k.endswith(".jsonl"))
            return [(record["id"], hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest())
                    for key in parts
                    for record in read_jsonl(client.get_object(Bucket=self.bucket, Key=key)["Body"].read())]

    def records(self, drop: str, base: str = "data") -> dict[str, str]:
        """Record id -> SHA-256 of the record's canonical JSON, over every export part of the drop."""
        return dict(self.record_lines(drop, base))

    def diagnostics(self) -> str:
        return self.groups.tails()

    def failures(self, runs: list[dict]) -> str:
        """The last event messages of every run that did not succeed, then the service logs."""
        lines = []
        for run in runs:
            if run["status"] != "SUCCESS":
                messages = [e.get("message") or e["__typename"] for e in self.run_events(run["runId"])]
                lines += [f"--- run {run['runId']} ({partition_of(run)}): {run['status']} ---", *messages[-15:]]
        return "\n".join([*lines, self.diagnostics()])


def partition_of(run: dict) -> str | None:
    return dict((t["key"], t["value"]) for t in run["tags"]).get("dagster/partition")


def stack_env(home: Path, db: Postgres, s3: S3Server, bucket: str, code: tuple[str, int],
              dataset: str) -> dict[str, str]:
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
        "PIN_INBOX_DATASET": dataset,
        "PIN_INBOX_INTERVAL_SECONDS": "5",
        "PIN_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "PIN_CODE_SERVER_HOST": code[0],
        "PIN_CODE_SERVER_PORT": str(code[1]),
    }


@contextlib.contextmanager
def running_stack(root: Path, s3: S3Server | None, dataset: str, extra_env: dict[str, str] | None = None,
                  placement: Placement = ONE_HOST) -> Iterator[Stack]:
    """Postgres, code server, webserver and daemon over a new bucket of ``s3``; all stopped after.

    ``root`` holds the logs and the Dagster home; ``extra_env`` is added to every service's environment
    (the tests' step gate, a bench's settings). ``placement`` puts the services on hosts (one by default);
    with worker hosts, RabbitMQ joins PostgreSQL on the data host, and the stack's runs send their steps to
    a Celery worker on each worker host. Without ``s3``, an S3 server is started on the data host.
    """
    binaries = postgres_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: thousands of lines
    home = root / "dagster_home"
    home.mkdir()
    # The code server's inner API server listens on a socket made with tempfile, in $TMPDIR: keep it (and
    # every other temp file of the services) inside root, where no sweep of /tmp/tmp* on a shared
    # machine can delete it (the API server would then miss its proxy's heartbeats and shut down).
    temp = root / "tmp"
    temp.mkdir()
    groups = ProcessGroups(root)
    cluster: Path | None = None
    control = placement.control
    try:
        db, cluster = start_postgres(groups, binaries, placement.data)
        s3 = s3 or start_s3_server(groups, placement.data)
        with control.entered():
            bucket = s3.new_bucket()
        code_port, web_port = free_port(control), free_port(control)
        env = {**stack_env(home, db, s3, bucket, (control.address, code_port), dataset), "TMPDIR": str(temp)}
        broker = None
        if placement.workers:
            broker = start_rabbitmq(groups, placement.data, root / "rabbitmq")
            env.update(PIN_EXECUTOR="celery", PIN_CELERY_BROKER_URL=broker.url)
        env.update(extra_env or {})
        (home / "dagster.yaml").write_text(yaml.safe_dump(process_instance_config(), sort_keys=False))
        shutil.copy(COMPOSE_WORKSPACE, home / "workspace.yaml")
        # Compose's daemon entrypoint up to the daemon: creates the schema in Postgres and sets the pools.
        env["PATH"] = f"{console_scripts(root / 'bin')}{os.pathsep}{env.get('PATH', '')}"
        setup = groups.start("daemon-setup", ["/bin/sh", "-c", compose_daemon_setup()], env, control)
        setup.proc.wait(timeout=300)
        assert groups.services.pop("daemon-setup").proc.returncode == 0, (root / "daemon-setup.log").read_text()

        groups.start("code", code_server_command(control.address, code_port), env, control)
        groups.start("webserver", dagster_command("dagster-webserver", "-h", control.address, "-p", str(web_port),
                                                  "-w", env["WORKSPACE"]), env, control)
        stack = Stack(groups, env, s3, bucket, web_port, db, dataset, root, placement, broker)
        stack.start_daemon()
        for launched in [stack.launch_worker(host) for host in placement.workers]:
            stack.await_worker(launched)

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
