"""What a `pin` command says about a Dagster run: the failing step with its one-line cause, and the full log.

Dagster's console logger prints every event and, on failure, the whole stack trace of each wrapper
exception (about 80 lines for a missing folder). The CLI keeps the console quiet instead, writes the
run's complete event log to one file, and prints only what a user acts on first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult
from dagster._utils.error import SerializableErrorInfo

LOG_FOLDER = "logs"


def root_cause(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The user's own exception under Dagster's wrappers (``DagsterExecutionStepExecutionError``...)."""
    while error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def one_line(error: SerializableErrorInfo) -> str:
    """``FileNotFoundError: source '/x' does not exist``: the class and the first line of the message."""
    message = error.message.strip()
    prefix = f"{error.cls_name}: "
    message = message.removeprefix(prefix) if error.cls_name else message
    first = message.splitlines()[0] if message else ""
    return f"{error.cls_name}: {first}" if error.cls_name else first


CHECK_FAILED = "DagsterAssetCheckFailedError"  # how Dagster fails the step of a failed blocking check


def blocked_by(result: ExecuteInProcessResult) -> list:
    """The failed blocking ERROR checks that stopped the run (their evaluations): the run did what it should."""
    from dagster import AssetCheckSeverity

    return [e for e in result.get_asset_check_evaluations()
            if not e.passed and e.blocking and e.severity == AssetCheckSeverity.ERROR]


def failure_lines(result: ExecuteInProcessResult) -> list[str]:
    """One line per failed step (``step raw_documents failed: FileNotFoundError: ...``), or the run's own cause.

    A step stopped by its own failed blocking check is not a failure of the step: :func:`blocked_by` reports it.
    """
    failures = [event for event in result.get_step_failure_events()
                if event.step_failure_data and event.step_failure_data.error]
    lines = [
        f"step {event.step_key} failed: {one_line(root_cause(event.step_failure_data.error))}"
        for event in failures if event.step_failure_data.error.cls_name != CHECK_FAILED
    ]
    if not lines and failures:
        return []
    if not lines:
        failure = result.get_run_failure_event()
        error = failure.event_specific_data.error if failure and failure.event_specific_data else None
        lines.append(f"run failed: {one_line(root_cause(error)) if error else failure.message if failure else '?'}")
    return lines


def write_run_log(instance: DagsterInstance, run_id: str, home: Path) -> Path:
    """Write every event of the run, with stack traces, to ``<home>/logs/<run_id>.log`` and return the path."""
    folder = home / LOG_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.log"
    with path.open("w", encoding="utf-8") as out:
        for entry in instance.all_logs(run_id):
            when = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
            level = logging.getLevelName(entry.level)
            step = f" [{entry.step_key}]" if entry.step_key else ""
            text = entry.dagster_event.message if entry.dagster_event and entry.dagster_event.message else ""
            out.write(f"{when} {level:<7}{step} {text or entry.user_message or entry.message}\n")
            error = _event_error(entry)
            if error is not None:
                out.write("".join(f"    {line}\n" for line in error.to_string().splitlines()))
    return path


def _event_error(entry) -> SerializableErrorInfo | None:  # noqa: ANN001 (an EventLogEntry)
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    error = getattr(data, "error", None)
    return error if isinstance(error, SerializableErrorInfo) else None
