"""The production stack as local processes: PostgreSQL, a code server, the webserver and the daemon.

``tests/test_prod_stack.py`` starts what docker-compose runs, from the files compose mounts, with every
service a process on 127.0.0.1 instead of a container. Kept apart from the test so the start-up and
clean-up rules (own process group, unprivileged PostgreSQL, readiness checks) are read in one place.

The instance is ``docker/dagster.yaml`` with only its ``run_launcher`` swapped
(:func:`process_instance_config`): storage, run queue, pools, compute logs and run monitoring are the
ones production uses. The workspace is ``docker/workspace.yaml`` unchanged; its host and port come from
the environment, as in compose.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_INSTANCE = REPO / "docker" / "dagster.yaml"
COMPOSE_WORKSPACE = REPO / "docker" / "workspace.yaml"
BIN = Path(sys.executable).parent
PROCESS_LAUNCHER = {"module": "dagster", "class": "DefaultRunLauncher"}
UNPRIVILEGED = "nobody"


def process_instance_config(launcher: dict[str, Any] = PROCESS_LAUNCHER) -> dict[str, Any]:
    """docker/dagster.yaml with its run launcher replaced: runs become processes of the code server.

    Everything else is taken as compose has it, so the process stack cannot drift from production.
    """
    config = yaml.safe_load(COMPOSE_INSTANCE.read_text())
    return {**config, "run_launcher": launcher}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
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

    def start(self, name: str, command: list[str], env: dict[str, str], **popen: Any) -> Service:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
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


def start_postgres(groups: ProcessGroups, binaries: Path) -> tuple[Postgres, Path]:
    """A throwaway cluster in a fresh folder, password-authenticated on 127.0.0.1 and a free port.

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
    db = Postgres("127.0.0.1", free_port(), "dagster", "pin-test-password", "dagster")
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
    groups.start("postgres", [str(binaries / "postgres"), "-D", str(cluster / "data"), "-h", db.host,
                              "-p", str(db.port), "-k", str(cluster), "-c", "fsync=off",
                              "-c", "max_connections=200"], env, **as_user)

    import psycopg2

    def connect():  # noqa: ANN202
        return psycopg2.connect(host=db.host, port=db.port, user=db.user, password=db.password,
                                dbname="postgres", connect_timeout=2)

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


def graphql(port: int, query: str, variables: dict | None = None, timeout_s: float = 30) -> dict:
    """POST a query to the webserver's /graphql, as the UI does; errors fail the caller."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as reply:
        answer = json.loads(reply.read())
    if answer.get("errors"):
        raise AssertionError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def dagster_command(tool: str, *args: str) -> list[str]:
    """A Dagster console script of this interpreter's environment (dagster, dagster-daemon, ...)."""
    script = BIN / tool
    return [str(script), *args] if script.exists() else [sys.executable, "-m", tool.replace("-", "_"), *args]


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (a run worker, its step processes and their pools)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
