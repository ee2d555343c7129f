"""The production stack against `pin materialize` on the same drops, in one run (``--only stack``).

The stack is what docker-compose runs, as processes on 127.0.0.1 (``tests/prod_stack.py``): Postgres,
moto's S3 server as the store and inbox, the gRPC code server, the webserver and the daemon with the
compose instance (queue, pools, run monitoring). Its drops arrive the production way: every file into
``inbox/<drop>/``, then each drop's ``_READY`` marker; the inbox sensor registers them and the queue
runs one ``pin_job`` per drop. Its time runs from the first marker to the end of the last run, so the
sensor's interval, the queue and every run's start-up are in it; the long-running services' start is not.

`pin materialize` is what a user would type instead: for each drop, ``pin batch add`` (not timed), then
``pin materialize DROP --no-realsyn`` timed as a whole process (imports included), one after the other,
with a local store and a SQLite instance. Both run the same ``pin_job`` graph (``realsyn_corpus``
included; the later RealSyn jobs in neither) and the signal statistics after it (``stats_job`` in the
CLI, the automation sensor in the stack).

Two workloads: the three drops of ``tests/test_prod_stack.py`` (2, 2 and 4 real PDFs, one broken) and
20 drops of 5 distinct documents cut from the bundled sample PDFs (whole files). Per-step wall times
come from each stack run's events: launch (the executor starts the step's process) to the step's own
start, and the step's start to its success.

``--stack-code DIR`` runs both contenders from another checkout (say one of ``main``, for the numbers
before a change); the instance, compose files and these drops stay this checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import REPO, make_batch
from bench.report import Row, markdown_table

DATASET = "benchstack"
READY = "_READY"
BROKEN_PDF = b"%PDF-1.5\n" + bytes(range(7, 250)) * 40  # truncated and unparseable: quarantined
THREE_DROPS = {
    "drop-2026-12-01-a": ["multi_page.pdf", "picture_classification.pdf"],
    "drop-2026-12-01-b": ["2305.03393v1-pg9.pdf", "code_and_formula.pdf"],
    "drop-2026-12-01-c": ["right_to_left_01.pdf", "normal_4pages.pdf", "amt_handbook_sample.pdf", "broken.pdf"],
}
RUN_TIMEOUT_S = 4 * 3600
STEP_EVENTS = ("StepWorkerStartingEvent", "ExecutionStepStartEvent", "ExecutionStepSuccessEvent")


@dataclass(frozen=True)
class Outcome:
    seconds: float
    documents: int
    statuses: list[str]
    steps: dict[str, list[tuple[float, float]]]  # step -> (launch to start, start to success) per run
    load: str  # load average over the phase


def write_drops(folder: Path, drops: int, per_drop: int) -> dict[str, Path]:
    """``drops`` folders of ``per_drop`` distinct PDFs each (whole sample files, unique metadata)."""
    from pin_assets.core.sources.listing import SAMPLE_PDF_DIR

    pool = make_batch(sorted(SAMPLE_PDF_DIR.glob("*.pdf")), folder / "_all", drops * per_drop, pages_per_doc=0)
    files = sorted(pool.glob("*.pdf"))
    out = {}
    for index in range(drops):
        drop = folder / f"drop-{index:04d}"
        drop.mkdir(parents=True, exist_ok=True)
        for file in files[index * per_drop:(index + 1) * per_drop]:
            shutil.move(str(file), drop / file.name)
        out[drop.name] = drop
    shutil.rmtree(pool)
    return out


def write_three_drops(folder: Path) -> dict[str, Path]:
    from pin_assets.core.sources.listing import SAMPLE_PDF_DIR

    out = {}
    for drop, names in THREE_DROPS.items():
        target = folder / drop
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            body = BROKEN_PDF if name == "broken.pdf" else (SAMPLE_PDF_DIR / name).read_bytes()
            (target / name).write_bytes(body)
        out[drop] = target
    return out


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run_stack(drops: dict[str, Path], root: Path, code: Path, settings: dict[str, str]) -> Outcome:
    """Start the stack, drop every batch into its inbox, wait for the runs; stop it."""
    from moto.server import ThreadedMotoServer

    from tests.prod_stack import partition_of, running_stack, wait_until
    from tests.s3_server import S3Server

    # A bench stopped with SIGTERM (or SIGINT) must still stop its services: make it an exception.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    root.mkdir(parents=True, exist_ok=True)
    try:
        s3 = S3Server(endpoint=f"http://{host}:{port}", server=server)
        with running_stack(root, s3, DATASET, {"PYTHONPATH": str(code), **settings}) as stack:
            client = s3.client()
            for drop, folder in drops.items():
                for file in sorted(folder.iterdir()):
                    client.put_object(Bucket=stack.bucket, Key=f"inbox/{drop}/{file.name}", Body=file.read_bytes())
            load_before = _load()
            began = time.time()
            for drop in drops:
                client.put_object(Bucket=stack.bucket, Key=f"inbox/{drop}/{READY}",
                                  Body=json.dumps({"source_dataset": DATASET}).encode())

            def finished() -> list[dict] | None:
                runs = stack.runs(partitions=drops)
                done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
                return runs if len(runs) == len(drops) and len(done) == len(runs) else None

            runs = wait_until("every drop's run finished", finished, RUN_TIMEOUT_S, every_s=2,
                              logs=stack.diagnostics)
            seconds = max(run["endTime"] for run in runs) - began
            if any(run["status"] != "SUCCESS" for run in runs):
                print(stack.failures(runs), file=sys.stderr)
            steps: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for run in runs:
                for step, span in _step_spans(stack.run_events(run["runId"])).items():
                    steps[step].append(span)
            assert sorted(partition_of(run) for run in runs) == sorted(drops)
            return Outcome(seconds, _documents(drops), [r["status"] for r in runs], dict(steps),
                           f"{load_before} -> {_load()}")
    finally:
        server.stop()


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _step_spans(events: list[dict]) -> dict[str, tuple[float, float]]:
    """Per step of one run: (launch to start, start to success) in seconds, from the run's events.

    A run whose steps ran in-process (small drops) has no step process to launch: its launch to start is 0.
    """
    marks: dict[str, dict[str, float]] = defaultdict(dict)
    for event in events:
        if event["__typename"] in STEP_EVENTS and event.get("stepKey"):
            marks[event["stepKey"]].setdefault(event["__typename"], float(event["timestamp"]) / 1000)
    spans = {}
    for step, seen in marks.items():
        launching, starting, ending = STEP_EVENTS
        if starting in seen and ending in seen:
            start, end = seen[starting], seen[ending]
            spans[step] = (start - seen.get(launching, start), end - start)
    return spans


def _documents(drops: dict[str, Path]) -> int:
    return sum(1 for folder in drops.values() for _ in folder.iterdir())


def run_materialize(drops: dict[str, Path], root: Path, code: Path) -> Outcome:
    """`pin batch add` then a timed `pin materialize --no-realsyn` per drop, one after the other."""
    root.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PIN_", "DAGSTER_", "AWS_"))}
    env.update(PYTHONPATH=str(code), DAGSTER_HOME=str(root / "dagster_home"), PIN_STORAGE_URI=str(root / "store"))
    pin = [sys.executable, "-m", "pin_assets.cli"]
    seconds = 0.0
    statuses = []
    load_before = _load()
    with open(root / "materialize.log", "a", encoding="utf-8") as log:
        for drop, folder in drops.items():
            subprocess.run([*pin, "batch", "add", drop, str(folder), "--dataset", DATASET], env=env, cwd=code,
                           stdout=log, stderr=subprocess.STDOUT, check=True)
            began = time.perf_counter()
            done = subprocess.run([*pin, "materialize", drop, "--no-realsyn"], env=env, cwd=code, stdout=log,
                                  stderr=subprocess.STDOUT, check=False)
            seconds += time.perf_counter() - began
            statuses.append("SUCCESS" if done.returncode == 0 else f"exit {done.returncode}")
    return Outcome(seconds, _documents(drops), statuses, {}, f"{load_before} -> {_load()}")


def compare(name: str, drops: dict[str, Path], scratch: Path, code: Path, settings: dict[str, str],
            target: float | None) -> tuple[list[Row], list[str]]:
    """Stack, then `pin materialize`, on the same drops; documents/min of each and their ratio."""
    slug = name.replace(" ", "-")
    stack = run_stack(drops, scratch / f"{slug}-stack", code, settings)
    materialize = run_materialize(drops, scratch / f"{slug}-materialize", code)
    docs = stack.documents
    stack_rate, mat_rate = docs * 60 / stack.seconds, docs * 60 / materialize.seconds
    ratio = stack_rate / mat_rate
    label = f"stack, {name}"
    rows = [
        Row(f"{label}: production stack", stack_rate, "documents/min",
            f"{docs} documents in {len(drops)} drops, {stack.seconds:.0f} s first _READY to last run end; "
            f"load {stack.load}"),
        Row(f"{label}: pin materialize", mat_rate, "documents/min",
            f"same drops, one process each, {materialize.seconds:.0f} s in all; load {materialize.load}"),
        Row(f"{label}: stack / pin materialize", ratio, "x", "documents/min ratio, same run",
            f">= {target}" if target else "", (ratio >= target) if target else None),
    ]
    for step in sorted(stack.steps, key=_step_order):
        spans = stack.steps[step]
        launch = statistics.median(s[0] for s in spans)
        body = statistics.median(s[1] for s in spans)
        rows.append(Row(f"{label}: step {step}", launch + body, "s",
                        f"median of {len(spans)} runs: launch to start {launch:.1f} s, start to success {body:.1f} s"))
    notes = []
    failed = [s for s in stack.statuses + materialize.statuses if s != "SUCCESS"]
    if failed:
        notes.append(f"{name}: runs not successful: {failed}")
    return rows, notes


STEP_ORDER = ("raw_documents", "parsed_markdown", "page_renders", "quality_signals", "realsyn_corpus",
              "pin_records", "interleaved_documents")


def _step_order(step: str) -> tuple[int, str]:
    return (STEP_ORDER.index(step) if step in STEP_ORDER else len(STEP_ORDER), step)


def run(scratch: Path, code: Path | None = None, small_drops: int = 20, per_drop: int = 5,
        settings: dict[str, str] | None = None) -> tuple[list[Row], list[str]]:
    """Both workloads; rows and notes for RESULTS.md."""
    code = (code or REPO).resolve()
    settings = settings or {}
    rows, notes = [], [f"stack code: {code}; settings: {settings or 'as configured'}"]
    for name, drops, target in (
        ("3 drops", write_three_drops(scratch / "three"), None),
        (f"{small_drops} drops of {per_drop}", write_drops(scratch / "small", small_drops, per_drop), 0.7),
    ):
        print(f"bench: {time.strftime('%H:%M:%S')} stack, {name}", file=sys.stderr, flush=True)
        more_rows, more_notes = compare(name, drops, scratch, code, settings, target)
        rows += more_rows
        notes += more_notes
        # Each workload's rows as soon as it is done: a bench stopped during the next keeps them.
        print(markdown_table(more_rows), *(f"- {note}" for note in more_notes), sep="\n", file=sys.stderr,
              flush=True)
    return rows, notes
