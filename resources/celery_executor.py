"""Steps on other hosts: Dagster's Celery executor, and the one Celery configuration it shares with its workers.

With ``PIN_EXECUTOR=celery`` a run's process no longer forks its steps: it puts each step on a broker
queue as a message, and Celery workers on other hosts (``celery -A pin_assets.celery_app worker``, the
project installed) take them one at a time and run them against the same Dagster instance (PostgreSQL)
and the same store (S3). The run process and the workers build their Celery app from :func:`app_args`,
so both sides always agree on broker, result store and the settings below.

The broker is RabbitMQ. A step's message is acknowledged only when the step ends (``task_acks_late``).
When a worker's host is lost mid-step (network cut, machine gone), its connection stops answering
heartbeats, the broker closes it and hands the unacknowledged step to another worker at once, whatever
the step's length. Redis, Celery's other broker, cannot do that: it redelivers an unacknowledged message
only after a fixed visibility timeout, which must exceed the longest step (a parse of thousands of
documents), so a lost host costs that long, and a step that runs longer is handed out a second time
while it still runs.

Step results go to a database, by default Dagster's own PostgreSQL, not to the broker (Celery's
``rpc://``): the run process polls them there, so a broker restart while steps wait in the queue loses
neither the queued steps (durable queue, persistent messages) nor the result of a step that ends while
the run process reconnects.

Environment variables (read in the run process and in every worker):

``PIN_CELERY_BROKER_URL`` (required)
    ``amqp://user:password@host:5672//``.
``PIN_CELERY_RESULT_BACKEND``
    A Celery result backend URL; default ``db+postgresql+psycopg2://`` on the ``DAGSTER_POSTGRES_*``
    database (tables ``celery_taskmeta``, ``celery_tasksetmeta``).
``PIN_CELERY_HEARTBEAT_S`` (default 60)
    AMQP heartbeat: a lost worker host is noticed, and its step handed on, within about twice this.
"""

from __future__ import annotations

import os
from urllib.parse import quote

BROKER_ENV = "PIN_CELERY_BROKER_URL"
BACKEND_ENV = "PIN_CELERY_RESULT_BACKEND"
HEARTBEAT_ENV = "PIN_CELERY_HEARTBEAT_S"
DEFAULT_HEARTBEAT_S = 60
QUEUE = "dagster"  # dagster-celery's queue; steps may pick another with the `dagster-celery/queue` tag
RESULT_EXPIRES_S = 7 * 24 * 3600
_POSTGRES_ENV = ("DAGSTER_POSTGRES_USER", "DAGSTER_POSTGRES_PASSWORD", "DAGSTER_POSTGRES_HOST",
                 "DAGSTER_POSTGRES_PORT", "DAGSTER_POSTGRES_DB")


def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, "").strip()
    if not url:
        raise ValueError(f"PIN_EXECUTOR=celery needs {BROKER_ENV} (amqp://user:password@host:5672//)")
    return url


def result_backend() -> str:
    """``PIN_CELERY_RESULT_BACKEND``, else Dagster's own PostgreSQL, which every multi-host deployment has."""
    url = os.environ.get(BACKEND_ENV, "").strip()
    if url:
        return url
    missing = [name for name in _POSTGRES_ENV if not os.environ.get(name)]
    if missing:
        raise ValueError(f"PIN_EXECUTOR=celery needs {BACKEND_ENV}, or Dagster's PostgreSQL in "
                         f"{', '.join(_POSTGRES_ENV)} to keep step results in (missing: {', '.join(missing)})")
    user, password, host, port, db = (os.environ[name] for name in _POSTGRES_ENV)
    return f"db+postgresql+psycopg2://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{db}"


def heartbeat_s() -> int:
    raw = os.environ.get(HEARTBEAT_ENV, str(DEFAULT_HEARTBEAT_S))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{HEARTBEAT_ENV}={raw!r}: expected a whole number of seconds, 1 or more")
    return int(raw)


def celery_settings() -> dict[str, object]:
    """Celery settings for the run process and the workers alike (merged over dagster-celery's defaults)."""
    return {
        # Acknowledge a step's message when the step ends: a host lost mid-step leaves it unacknowledged
        # and the broker gives it to another worker.
        "task_acks_late": True,
        # A step process killed under a live worker (the OOM killer) puts the step back in the queue
        # instead of failing the run.
        "task_reject_on_worker_lost": True,
        # A worker that lost the broker stops the steps it holds: the broker has handed them on, and one
        # step must not run on two hosts at once.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # One step at a time per worker, none reserved behind it: a step already spreads its documents
        # over a process pool as wide as the host, and a lost host takes only the step it was running.
        "worker_concurrency": 1,
        "worker_prefetch_multiplier": 1,
        "broker_heartbeat": heartbeat_s(),
        "broker_connection_retry_on_startup": True,
        # A step submitted while the broker restarts waits for it (up to about a minute) instead of failing the
        # run: Celery's default publish retry gives up after 0.6 s, shorter than any RabbitMQ restart.
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 30, "interval_start": 0, "interval_step": 1, "interval_max": 2},
        # A restarted PostgreSQL costs no step result: a dead pooled connection is replaced, not used.
        "database_engine_options": {"pool_pre_ping": True},
        "result_expires": RESULT_EXPIRES_S,
    }


def executor_config() -> dict[str, object]:
    """``celery_executor``'s config; Dagster's step retries stay on, so an op retry policy applies."""
    return {"broker": broker_url(), "backend": result_backend(), "config_source": celery_settings(),
            "retries": {"enabled": {}}}


def app_args() -> dict[str, object]:
    """The Celery app arguments the executor derives from :func:`executor_config`, for the workers' app."""
    from dagster._core.execution.retries import RetryMode
    from dagster_celery.executor import CeleryExecutor

    config = executor_config()
    return CeleryExecutor(retries=RetryMode.ENABLED, broker=config["broker"], backend=config["backend"],
                          config_source=config["config_source"]).app_args()
