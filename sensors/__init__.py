"""Sensors and schedules, configured from the environment in one place.

``PIN_INBOX_URI``          folder or ``s3://bucket/prefix`` watched for new drops (see ``sensors.inbox``)
``PIN_INBOX_DATASET``      source dataset of inbox drops whose ``_READY`` marker names none (default inbox)
``PIN_INBOX_INTERVAL_SECONDS``  seconds between the inbox sensor's ticks (default 60)
``PIN_DAILY_SOURCE_URI``   source pulled daily as ``daily-YYYY-MM-DD``; ``{date}`` is substituted
``PIN_DAILY_DATASET``      source dataset of the daily batches (default daily)

The inbox sensor and the schedule request one ``pin_job`` run per batch. The downstream stages also carry
``AutomationCondition.eager()``; ``pin_automation_sensor`` evaluates those conditions and is on by
default, so a batch a user ingests in the UI flows on to parse, render, signals and export by itself.
"""

from __future__ import annotations

import os
from typing import Annotated

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    ScheduleDefinition,
    SensorDefinition,
)
from pydantic import AfterValidator, BaseModel, Field

from pin_assets import layout
from pin_assets.settings import env_value
from sensors.inbox import make_inbox_sensor
from sensors.schedules import make_daily_schedule

automation_sensor = AutomationConditionSensorDefinition(
    "pin_automation_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Runs the downstream stages of a batch once its upstream stages are materialized.",
)


DatasetName = Annotated[str, AfterValidator(lambda name: layout.check_name(name, "source dataset"))]


class SensorSettings(BaseModel):
    """The environment settings of the sensors and the schedule, with their ranges (checked when definitions load:
    a bad value stops the code location with the variable's name, instead of a sensor that fails every tick)."""

    inbox_interval_seconds: int = Field(default=60, ge=1, le=86_400)
    inbox_dataset: DatasetName = Field(default="inbox", json_schema_extra={"allowed": "letters, digits, . _ -"})
    daily_dataset: DatasetName = Field(default="daily", json_schema_extra={"allowed": "letters, digits, . _ -"})


def _setting(name: str, variable: str) -> object:
    value = env_value(SensorSettings, name, variable, os.environ)
    return SensorSettings.model_fields[name].default if value is None else value


def build_sensors() -> list[SensorDefinition]:
    inbox = make_inbox_sensor(
        os.environ.get("PIN_INBOX_URI", ""),
        source_dataset=str(_setting("inbox_dataset", "PIN_INBOX_DATASET")),
        minimum_interval_seconds=int(_setting("inbox_interval_seconds", "PIN_INBOX_INTERVAL_SECONDS")),  # type: ignore[arg-type]
    )
    return [inbox, automation_sensor]


def build_schedules() -> list[ScheduleDefinition]:
    source = os.environ.get("PIN_DAILY_SOURCE_URI", "")
    return [make_daily_schedule(source, source_dataset=str(_setting("daily_dataset", "PIN_DAILY_DATASET")))]


__all__ = [
    "automation_sensor", "build_schedules", "build_sensors", "make_daily_schedule", "make_inbox_sensor",
]
