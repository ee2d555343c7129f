"""The daily pull: once a day, a source URI becomes the batch ``daily-YYYY-MM-DD`` and its ``pin_job`` run.

``PIN_DAILY_SOURCE_URI`` names the source; ``{date}`` in it is replaced by the scheduled day, so a feed
that lands in dated folders (``s3://feeds/arxiv/{date}/``) or a dated URL manifest
(``s3://feeds/lists/{date}.urls``) is pulled without code changes. A fixed URI (no ``{date}``) re-pulls
the same source daily; ingest is content-addressed, so unchanged files cost a read and nothing more.
"""

from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from pin_assets.batches import BatchExistsError, BatchSpec, register_batch
from resources.storage import StorageResource
from sensors.inbox import BATCH_JOB


def daily_batch_name(day: str) -> str:
    return f"daily-{day}"


def make_daily_schedule(
    source_uri: str,
    *,
    name: str = "daily_batch_schedule",
    cron_schedule: str = "0 2 * * *",
    source_dataset: str = "daily",
    license: str = "unknown",
    default_status: DefaultScheduleStatus | None = None,
) -> ScheduleDefinition:
    """A schedule registering ``daily-<date>`` from ``source_uri`` and requesting its ``pin_job`` run.

    Schedules cannot return dynamic-partition requests the way sensors do, so the partition is added
    through the instance (:func:`pin_assets.batches.register_batch`, a no-op when it exists); the
    partition key is the run key too, so a re-evaluated tick requests one run, not two.
    """
    on = DefaultScheduleStatus.RUNNING if source_uri else DefaultScheduleStatus.STOPPED
    status = default_status or on

    @schedule(
        name=name,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        job_name=BATCH_JOB,
        default_status=status,
        description=f"Daily batch daily-YYYY-MM-DD from {source_uri or '$PIN_DAILY_SOURCE_URI (unset)'}.",
    )
    def daily_batch(context: ScheduleEvaluationContext, storage: StorageResource) -> RunRequest | SkipReason:
        if not source_uri:
            return SkipReason("PIN_DAILY_SOURCE_URI is not set: nothing to pull")
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        batch = daily_batch_name(day)
        spec = BatchSpec(
            name=batch, source_uri=source_uri.replace("{date}", day), source_dataset=source_dataset,
            license=license,
        )
        try:
            register_batch(context.instance, storage, spec)
        except BatchExistsError as exc:  # the batch was registered differently: never re-point it silently
            return SkipReason(str(exc))
        return RunRequest(run_key=batch, partition_key=batch, tags={"pin/trigger": "daily"})

    return daily_batch
