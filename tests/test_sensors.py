"""The inbox sensor, the daily schedule and the automation that carries a batch downstream."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from pin_assets.batches import load_spec
from pin_assets.partitions import batches
from resources import S3Connection, StorageResource
from sensors.inbox import InboxCursor, make_inbox_sensor
from sensors.schedules import make_daily_schedule
from tests import s3_server as s3_helpers
from tests.s3_server import S3Server

moto_s3 = s3_helpers.moto_s3


def _drop(inbox: Path, name: str, ready: bool = True, marker: bytes = b"") -> Path:
    folder = inbox / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "doc.txt").write_text(f"document of {name}")
    if ready:
        (folder / "_READY").write_bytes(marker)
    return folder


def _tick(sensor, instance: DagsterInstance, storage: StorageResource, cursor: str | None) -> SensorResult:
    """Evaluate one tick, then apply its partition requests the way the daemon does."""
    with build_sensor_context(instance=instance, cursor=cursor, resources={"storage": storage}) as context:
        result = sensor(context)
    assert isinstance(result, SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(batches.name, list(request.partition_keys))
    return result


def _added(result: SensorResult) -> list[str]:
    return [key for r in result.dynamic_partitions_requests or [] for key in r.partition_keys]


def test_new_drop_adds_one_partition_and_one_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    sensor = make_inbox_sensor(str(inbox))
    _drop(inbox, "arxiv-0001", ready=False)
    with DagsterInstance.ephemeral() as instance:
        first = _tick(sensor, instance, storage, None)
        assert _added(first) == [] and first.run_requests == []
        assert InboxCursor.load(first.cursor).pending == ["arxiv-0001"]

        marker = {"source_dataset": "arxiv", "license": "CC-BY"}
        (inbox / "arxiv-0001" / "_READY").write_text(json.dumps(marker))
        second = _tick(sensor, instance, storage, first.cursor)
        assert _added(second) == ["arxiv-0001"]
        assert [r.partition_key for r in second.run_requests] == ["arxiv-0001"]
        assert instance.get_dynamic_partitions(batches.name) == ["arxiv-0001"]
        spec = load_spec(storage, "arxiv-0001")
        assert spec.source_uri == str((inbox / "arxiv-0001").resolve())
        assert (spec.source_dataset, spec.license) == ("arxiv", "CC-BY")

        third = _tick(sensor, instance, storage, second.cursor)
        assert _added(third) == [] and third.run_requests == []

    # A restart: a fresh instance of the sensor and a fresh context, given only the stored cursor.
    with DagsterInstance.ephemeral() as fresh:
        restarted = _tick(make_inbox_sensor(str(inbox)), fresh, storage, third.cursor)
        assert _added(restarted) == [] and restarted.run_requests == []
        _drop(inbox, "arxiv-0002")
        later = _tick(make_inbox_sensor(str(inbox)), fresh, storage, restarted.cursor)
        assert _added(later) == ["arxiv-0002"] and len(later.run_requests) == 1


IN_PROCESS = {"execution": {"config": {"in_process": True}}}


@pytest.mark.parametrize(("files", "max_files", "in_process"), [(3, None, True), (21, None, False),
                                                                (20, "20", True), (3, "0", False)])
def test_small_drops_run_their_steps_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: int,
                                                max_files: str | None, in_process: bool) -> None:
    """A drop of at most PIN_IN_PROCESS_MAX_FILES files (default 20, nested folders counted, the marker not)
    asks for in-process steps; a bigger one, or any with the setting at 0, keeps a process per step."""
    if max_files is None:
        monkeypatch.delenv("PIN_IN_PROCESS_MAX_FILES", raising=False)
    else:
        monkeypatch.setenv("PIN_IN_PROCESS_MAX_FILES", max_files)
    inbox = tmp_path / "inbox"
    folder = _drop(inbox, "drop-1")
    (folder / "sub").mkdir()
    for index in range(files - 1):
        (folder / "sub" / f"doc-{index}.txt").write_text("x")
    with DagsterInstance.ephemeral() as instance:
        result = _tick(make_inbox_sensor(str(inbox)), instance,
                       StorageResource(base_uri=str(tmp_path / "store")), None)
    assert [r.run_config for r in result.run_requests] == [IN_PROCESS if in_process else {}]


def test_a_wrong_in_process_setting_fails_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIN_IN_PROCESS_MAX_FILES", "-1")
    with pytest.raises(ValueError, match="PIN_IN_PROCESS_MAX_FILES='-1'"):
        make_inbox_sensor("/tmp/inbox")


def test_existing_partition_is_never_run_twice(tmp_path: Path) -> None:
    """Losing the cursor re-lists old drops, but a drop whose batch exists is skipped (no run keys)."""
    inbox = tmp_path / "inbox"
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    _drop(inbox, "d1")
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(batches.name, ["d1"])
        result = _tick(make_inbox_sensor(str(inbox)), instance, storage, None)
        assert _added(result) == [] and result.run_requests == []


def test_bounded_work_per_tick_on_s3(moto_s3: S3Server, tmp_path: Path) -> None:
    client = moto_s3.client()
    bucket = moto_s3.new_bucket()
    for i in range(25):
        for name in ("a.txt", "b.txt", "_READY"):
            client.put_object(Bucket=bucket, Key=f"inbox/drop-{i:03d}/{name}", Body=b"x")
    client.put_object(Bucket=bucket, Key="inbox/drop-025/a.txt", Body=b"x")  # not complete yet
    client.put_object(Bucket=bucket, Key="inbox/drop-0251/_READY", Body=b"")  # sorts after drop-025/
    storage = StorageResource(
        base_uri=str(tmp_path / "store"), s3=CountingConnection(**moto_s3.connection().model_dump())
    )
    sensor = make_inbox_sensor(f"s3://{bucket}/inbox", max_drops_per_tick=10)
    S3_CALLS.clear()
    seen: list[str] = []
    cursor = None
    with DagsterInstance.ephemeral() as instance:
        for _ in range(3):
            result = _tick(sensor, instance, storage, cursor)
            assert len(result.run_requests) <= 10
            seen += _added(result)
            cursor = result.cursor
        assert seen == [f"drop-{i:03d}" for i in range(25)] + ["drop-0251"]
        assert InboxCursor.load(cursor).pending == ["drop-025"]
        # one drop listing per tick, one per re-check of the drop still waiting for its marker, and one per
        # registered drop (its files, counted up to PIN_IN_PROCESS_MAX_FILES + 2 keys: small drops run in-process)
        assert S3_CALLS["before-call.s3.ListObjectsV2"] <= 3 + 3 + 26, S3_CALLS
        assert all(r.run_config == IN_PROCESS for r in result.run_requests)
        assert S3_CALLS["before-call.s3.GetObject"] == 26  # the markers of ready drops, never the documents
        spec = load_spec(storage, "drop-007")
        assert spec.source_uri == f"s3://{bucket}/inbox/drop-007/" and spec.source_dataset == "inbox"

        client.put_object(Bucket=bucket, Key="inbox/drop-025/_READY", Body=b"")
        result = _tick(sensor, instance, storage, cursor)
        assert _added(result) == ["drop-025"] and InboxCursor.load(result.cursor).pending == []
        idle = _tick(sensor, instance, storage, result.cursor)
        assert _added(idle) == [] and idle.run_requests == []


S3_CALLS: Counter = Counter()


class CountingConnection(S3Connection):
    """An S3 connection whose clients tally their calls into ``S3_CALLS`` (across resource copies)."""

    def get_client(self):
        client = super().get_client()
        client.meta.events.register("before-call.s3", lambda event_name, **_: S3_CALLS.update([event_name]))
        return client


def test_unconfigured_inbox_skips(tmp_path: Path) -> None:
    sensor = make_inbox_sensor("")
    storage = StorageResource(base_uri=str(tmp_path))
    with (
        DagsterInstance.ephemeral() as instance,
        build_sensor_context(instance=instance, resources={"storage": storage}) as context,
    ):
        result = sensor(context)
    assert isinstance(result, SkipReason)


def test_daily_schedule_registers_dated_partition(tmp_path: Path) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    schedule = make_daily_schedule("s3://feeds/arxiv/{date}/", source_dataset="arxiv")
    when = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with instance_for_test() as instance:  # a schedule context needs an instance with a ref, not ephemeral
        with build_schedule_context(
            instance=instance, scheduled_execution_time=when, resources={"storage": storage}
        ) as context:
            request = schedule(context)
        assert request.partition_key == "daily-2026-11-23"
        assert instance.get_dynamic_partitions(batches.name) == ["daily-2026-11-23"]
    spec = load_spec(storage, "daily-2026-11-23")
    assert spec.source_uri == "s3://feeds/arxiv/2026-11-23/" and spec.source_dataset == "arxiv"


@pytest.mark.parametrize("env", [{}, {"PIN_INBOX_URI": "/tmp/inbox", "PIN_DAILY_SOURCE_URI": "/tmp/feed"}])
def test_definitions_wire_sensors_schedules_automation(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import DefaultScheduleStatus, DefaultSensorStatus

    from sensors import build_schedules, build_sensors

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sensors = {s.name: s for s in build_sensors()}
    schedules = {s.name: s for s in build_schedules()}
    expected = DefaultSensorStatus.RUNNING if env else DefaultSensorStatus.STOPPED
    assert sensors["inbox_sensor"].default_status == expected
    assert sensors["pin_automation_sensor"].default_status == DefaultSensorStatus.RUNNING
    assert schedules["daily_batch_schedule"].default_status == (
        DefaultScheduleStatus.RUNNING if env else DefaultScheduleStatus.STOPPED
    )

    from pin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    conditions = {k.to_user_string(): graph.get(k).automation_condition for k in graph.get_all_asset_keys()}
    assert conditions["raw_documents"] is None  # the sensor or a user starts a batch
    for downstream in ("parsed_markdown", "page_renders", "quality_signals", "pin_records"):
        assert conditions[downstream] is not None, downstream
    assert graph.get(AssetKey("parsed_markdown")).pools == {"pin_cpu"}
