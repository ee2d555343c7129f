"""The Celery execution mode's settings, as the run process and the workers read them (no broker needed).

The multi-host behaviour itself is ``tests/test_celery_hosts.py``; this checks what each variable turns
into, the errors a wrong one gives, and that a Celery pool process may start a step's document pool.
"""

from __future__ import annotations

import multiprocessing

import billiard
import pytest
from dagster import Backoff
from dagster_celery.make_app import make_app

from resources.celery_executor import app_args, executor_config, result_backend
from resources.executor import executor_from_env, step_retry_policy

POSTGRES = {"DAGSTER_POSTGRES_USER": "dagster", "DAGSTER_POSTGRES_PASSWORD": "p@ss/word",
            "DAGSTER_POSTGRES_HOST": "10.0.0.5", "DAGSTER_POSTGRES_PORT": "5432", "DAGSTER_POSTGRES_DB": "dagster"}
BROKER = "amqp://pin:secret@10.0.0.5:5672//"


@pytest.fixture
def celery_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PIN_STEP_RETRIES", "PIN_STEP_RETRY_DELAY_S", "PIN_CELERY_RESULT_BACKEND", "PIN_CELERY_HEARTBEAT_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIN_EXECUTOR", "celery")
    monkeypatch.setenv("PIN_CELERY_BROKER_URL", BROKER)
    for name, value in POSTGRES.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_celery_executor_from_the_environment(celery_env: pytest.MonkeyPatch) -> None:
    assert executor_from_env().name == "celery"
    config = executor_config()
    assert config["broker"] == BROKER
    # Step results in Dagster's PostgreSQL, the password quoted into the URL.
    assert config["backend"] == "db+postgresql+psycopg2://dagster:p%40ss%2Fword@10.0.0.5:5432/dagster"
    settings = config["config_source"]
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_prefetch_multiplier"] == 1 and settings["worker_concurrency"] == 1
    assert settings["broker_heartbeat"] == 60
    # The workers' app is configured exactly as the executor's own.
    app = make_app(app_args())
    assert app.conf.broker_url == BROKER and app.conf.result_backend == config["backend"]
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1


def test_celery_steps_retry_by_default_and_one_host_does_not(celery_env: pytest.MonkeyPatch) -> None:
    policy = step_retry_policy()
    assert policy is not None and (policy.max_retries, policy.delay, policy.backoff) == (2, 30, Backoff.EXPONENTIAL)
    celery_env.setenv("PIN_STEP_RETRIES", "0")
    assert step_retry_policy() is None
    celery_env.setenv("PIN_EXECUTOR", "multiprocess")
    celery_env.delenv("PIN_STEP_RETRIES")
    assert step_retry_policy() is None
    celery_env.setenv("PIN_STEP_RETRIES", "3")
    celery_env.setenv("PIN_STEP_RETRY_DELAY_S", "5")
    assert step_retry_policy().max_retries == 3


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PIN_EXECUTOR", "kubernetes", "PIN_EXECUTOR='kubernetes'"),
    ("PIN_CELERY_BROKER_URL", "", "needs PIN_CELERY_BROKER_URL"),
    ("PIN_STEP_RETRIES", "two", "PIN_STEP_RETRIES='two'"),
    ("PIN_CELERY_HEARTBEAT_S", "0", "PIN_CELERY_HEARTBEAT_S='0'"),
])
def test_wrong_settings_fail_with_their_name(celery_env: pytest.MonkeyPatch, name: str, value: str,
                                             message: str) -> None:
    celery_env.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        executor_from_env()
        step_retry_policy()


def test_result_store_needs_postgres_or_a_backend(celery_env: pytest.MonkeyPatch) -> None:
    celery_env.delenv("DAGSTER_POSTGRES_HOST")
    with pytest.raises(ValueError, match="missing: DAGSTER_POSTGRES_HOST"):
        result_backend()
    celery_env.setenv("PIN_CELERY_RESULT_BACKEND", "redis://10.0.0.6:6379/1")
    assert result_backend() == "redis://10.0.0.6:6379/1"


def _child() -> None:
    """Nothing: a document pool's worker that started is all the test needs."""


def _start_a_pool_child(fix: bool, out: billiard.Queue) -> None:
    """In a (daemonic) billiard process, as a Celery pool process: can a step start a forkserver child?"""
    if fix:
        from pin_assets.celery_app import _steps_may_fork

        _steps_may_fork()
    try:
        child = multiprocessing.get_context("forkserver").Process(target=_child)
        child.start()
        child.join(60)
        out.put(child.exitcode)
    except (AssertionError, TypeError) as exc:
        out.put(type(exc).__name__)


@pytest.mark.parametrize(("fix", "expected"), [(False, "AssertionError"), (True, 0)])
def test_a_celery_pool_process_may_start_a_steps_document_pool(celery_env: pytest.MonkeyPatch, fix: bool,
                                                              expected: object) -> None:
    celery_env.setenv("PIN_STEP_PRELOAD", "json")  # the worker's preload is not what this is about
    out = billiard.Queue()
    proc = billiard.Process(target=_start_a_pool_child, args=(fix, out), daemon=True)
    proc.start()
    assert out.get(timeout=120) == expected
    proc.join(30)
