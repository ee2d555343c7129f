"""How a run executes its steps: the executor, chosen here from the environment like the store.

Every step runs in its own process, so a step that crashes (a segfault in a native library, the OOM
killer) fails that step and the run reports it; it does not take the run down. The documents inside a
step are isolated once more by the parse and render pools (``core/isolation.py``).

Those step processes start from a **forkserver** that imported ``pin_assets.definitions`` (and, through
it, Dagster and the project) and the converters (``pin_assets.core.convert``: PyMuPDF and every format's
reader, which the definitions leave to the steps) once per run: each step is a ``fork()`` of that warm
process instead of a fresh interpreter that imports the world again. The forkserver is a single-threaded
process made for forking, unlike the run process itself, which holds gRPC and database threads, so
``fork`` there stays safe. ``PIN_STEP_START_METHOD=spawn`` goes back to a fresh interpreter per step
(Dagster's default).

Small drops run their steps in the run's own process instead (Dagster's in-process mode, the executor's
``in_process`` run config, set by the inbox sensor for drops of at most ``PIN_IN_PROCESS_MAX_FILES``
files). A run of nine steps over five documents otherwise spends most of its time starting step
processes and opening the instance in each (``bench/RESULTS.md``, production stack). The trade is the
step-level isolation: a step that crashes the interpreter itself (not a document: those stay in the
parse and render pools) ends the run, which run monitoring marks failed and a re-execution resumes.

Environment variables read by :func:`executor_from_env` and :func:`step_retry_policy`:

``PIN_EXECUTOR`` (``multiprocess`` | ``celery``)
    The executor. ``celery`` sends each step to Celery workers on other hosts through a broker
    (``resources/celery_executor.py``: ``PIN_CELERY_BROKER_URL`` and the settings it shares with the workers).
    Each worker runs one step at a time in a process forked from the worker, which imported
    ``PIN_STEP_PRELOAD`` once (``pin_assets/celery_app.py``); the start method and ``PIN_MAX_CONCURRENT_STEPS``
    do not apply there.
``PIN_STEP_RETRIES`` (default 2 with ``celery``, else 0), ``PIN_STEP_RETRY_DELAY_S`` (default 30)
    The jobs' op retry policy: a step that fails is run again, after the delay (doubled each time), on
    whichever worker is free. Across hosts a failure is often the host's (its network, its disk), so the
    Celery mode retries by default; every step reads its inputs from the store and writes its outputs
    whole, so running one again is safe. On one host a retry would meet the same machine: off by default.
``PIN_IN_PROCESS_MAX_FILES`` (default :data:`DEFAULT_IN_PROCESS_MAX_FILES`; 0: never)
    Inbox drops of at most this many files run in-process (see above); a run launched by hand can ask for
    it too (``execution: config: in_process: true``).
``PIN_STEP_START_METHOD`` (``forkserver`` | ``spawn``)
    How step processes start (see above).
``PIN_STEP_PRELOAD`` (comma-separated modules, default :data:`PRELOAD`)
    What the forkserver, or a Celery worker, imports before it forks steps; the modules of the instance's
    storage and compute log manager are added (:func:`instance_modules`).
``PIN_MAX_CONCURRENT_STEPS`` (default :data:`DEFAULT_MAX_CONCURRENT`)
    Steps of one run at once. The CPU-heavy ones are bounded across runs by the ``pin_cpu`` pool
    (docs/production.md); this lets the light ones (signals, the RealSyn corpus, checks) run beside them.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Backoff, ExecutorDefinition, Field, RetryPolicy, multi_or_in_process_executor

EXECUTORS = ("multiprocess", "celery")
START_METHODS = ("forkserver", "spawn")
PRELOAD = ("pin_assets.definitions", "pin_assets.core.convert")  # parse, render, export and checks use both
DEFAULT_MAX_CONCURRENT = 2
DEFAULT_IN_PROCESS_MAX_FILES = 20
DEFAULT_STEP_RETRIES = {"celery": 2}
DEFAULT_RETRY_DELAY_S = 30
STORAGE_MODULES = {"postgres": "dagster_postgres", "mysql": "dagster_mysql"}  # dagster.yaml's storage shorthands


def executor_kind() -> str:
    kind = os.environ.get("PIN_EXECUTOR", "multiprocess")
    if kind not in EXECUTORS:
        raise ValueError(f"PIN_EXECUTOR={kind!r}: expected one of {', '.join(EXECUTORS)}")
    return kind


def executor_from_env() -> ExecutorDefinition:
    """The executor the environment asks for; a wrong value fails the code location with its name."""
    if executor_kind() == "celery":
        from dagster_celery import celery_executor  # only a Celery deployment imports Celery

        from resources.celery_executor import executor_config

        return celery_executor.configured(executor_config())
    steps = multiprocess_config()  # read now: a wrong value fails the code location, not the first run

    def run_mode(config: dict[str, bool]) -> dict[str, object]:
        return {"in_process": {}} if config["in_process"] else {"multiprocess": steps}

    return multi_or_in_process_executor.configured(
        run_mode, name="pin_steps", config_schema={"in_process": Field(
            bool, default_value=False,
            description="Run every step of this run in the run's own process (the inbox sensor sets it for "
                        "drops of at most PIN_IN_PROCESS_MAX_FILES files): no process per step; a step that "
                        "crashes the interpreter then ends the run (the documents stay isolated in the pools).",
        )},
    )


def in_process_max_files() -> int:
    """``PIN_IN_PROCESS_MAX_FILES``: drops up to this many files run their steps in-process (0: never)."""
    raw = os.environ.get("PIN_IN_PROCESS_MAX_FILES", str(DEFAULT_IN_PROCESS_MAX_FILES))
    if not raw.isdigit():
        raise ValueError(f"PIN_IN_PROCESS_MAX_FILES={raw!r}: expected a whole number, 0 or more")
    return int(raw)


def run_config_for_drop(files: int, max_files: int) -> dict[str, object]:
    """The run config of a drop's run: in-process steps for a drop of at most ``max_files`` files (0: never)
    on the one-host executor (Celery's steps run on other hosts by design)."""
    if executor_kind() == "multiprocess" and max_files > 0 and files <= max_files:
        return {"execution": {"config": {"in_process": True}}}
    return {}


def step_retry_policy() -> RetryPolicy | None:
    """The jobs' op retry policy from ``PIN_STEP_RETRIES`` and ``PIN_STEP_RETRY_DELAY_S``; None for no retry."""
    retries = os.environ.get("PIN_STEP_RETRIES", str(DEFAULT_STEP_RETRIES.get(executor_kind(), 0)))
    delay = os.environ.get("PIN_STEP_RETRY_DELAY_S", str(DEFAULT_RETRY_DELAY_S))
    for name, raw in (("PIN_STEP_RETRIES", retries), ("PIN_STEP_RETRY_DELAY_S", delay)):
        if not raw.isdigit():
            raise ValueError(f"{name}={raw!r}: expected a whole number, 0 or more")
    if int(retries) == 0:
        return None
    return RetryPolicy(max_retries=int(retries), delay=int(delay), backoff=Backoff.EXPONENTIAL)


def multiprocess_config() -> dict[str, object]:
    """``multiprocess_executor``'s config from ``PIN_STEP_START_METHOD``, ``PIN_STEP_PRELOAD`` and limits."""
    method = os.environ.get("PIN_STEP_START_METHOD", "forkserver")
    if method not in START_METHODS:
        raise ValueError(f"PIN_STEP_START_METHOD={method!r}: expected one of {', '.join(START_METHODS)}")
    raw = os.environ.get("PIN_MAX_CONCURRENT_STEPS", str(DEFAULT_MAX_CONCURRENT))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"PIN_MAX_CONCURRENT_STEPS={raw!r}: expected a whole number of 1 or more")
    start: dict[str, object] = {"spawn": {}}
    if method == "forkserver":
        start = {"forkserver": {"preload_modules": preload_modules()}}
    return {"max_concurrent": int(raw), "start_method": start}


def preload_modules() -> list[str]:
    """What a process that forks steps imports first (forkserver, Celery worker).

    ``PIN_STEP_PRELOAD`` (the project's modules), then the modules of the Dagster instance's own classes
    (:func:`instance_modules`): a step opens the instance before it starts, so without them every step
    would import its storage and compute-log libraries again.
    """
    preload = os.environ.get("PIN_STEP_PRELOAD", ",".join(PRELOAD))
    modules = [module.strip() for module in preload.split(",") if module.strip()]
    return modules + [module for module in instance_modules() if module not in modules]


def instance_modules(home: str | None = None) -> list[str]:
    """The modules the instance's ``dagster.yaml`` (in ``home``, default ``$DAGSTER_HOME``) names for steps.

    A forked step's first act is ``DagsterInstance.from_ref``: it builds the run and event-log storages
    and the compute log manager, importing their libraries. With the production instance (Postgres
    storage, S3 compute logs) that is dagster-postgres and dagster-aws, about 1.5 s and 2.3 s on a
    2-core machine, paid by each of a run's nine steps unless the forkserver imported them once per run.
    Read from the file rather than fixed here, so a deployment with another storage or log manager
    preloads what it uses. The run launcher and run coordinator are left out: steps never use them.
    Missing or unreadable file: none (a local instance's SQLite storage ships with Dagster itself).
    """
    import yaml

    folder = home or os.environ.get("DAGSTER_HOME")
    if not folder:
        return []
    try:
        config = yaml.safe_load((Path(folder) / "dagster.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(config, dict):
        return []
    modules: list[str] = []
    for section, value in config.items():
        if section in ("run_launcher", "run_coordinator"):
            continue
        if section == "storage" and isinstance(value, dict):
            modules += [STORAGE_MODULES[kind] for kind in value if kind in STORAGE_MODULES]
        if isinstance(value, dict) and isinstance(value.get("module"), str):
            modules.append(value["module"])
    return list(dict.fromkeys(modules))
