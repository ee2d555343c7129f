"""The inbox sensor: every new, complete drop of raw documents becomes a batch partition and a run.

The run is ``pin_job`` for that partition: the whole batch, ingest to PIN records and RealSyn corpus, in
one run. One run per batch is the grain the run queue limits (``concurrency.runs`` in the instance) and
the unit that fails, retries and shows up in the UI on its own.

Layout of an inbox (a local folder or an S3 prefix, ``PIN_INBOX_URI``)::

    <inbox>/<drop-name>/...files...
    <inbox>/<drop-name>/_READY          written last by the producer: the drop is complete

A drop counts as complete only once its ``_READY`` marker exists. We chose the marker over "unchanged for
N seconds" because the producer is the only party that knows when an upload has finished: a quiet period
misfires on slow or resumed multipart uploads, and checking it means listing the whole drop on every tick.
The marker may be empty or hold JSON ``{"source_dataset": "...", "license": "..."}`` for the batch spec.

Bounded work per tick, whatever the size of the inbox:

* one listing request for drops after the cursor (S3: ``list_objects_v2`` with ``StartAfter``,
  ``Delimiter="/"`` and ``MaxKeys``; local: the next names in sorted order), at most ``max_drops_per_tick``;
* one marker check per listed drop and per drop still waiting for its marker (at most ``max_pending``).

The cursor (JSON ``{"after": last listed drop, "pending": [drops without a marker yet]}``) is the
de-duplication: a drop is listed once and remembered while it waits. Run keys are not relied on; a drop
whose partition already exists (say, after a cursor reset) is skipped, never run twice.

Drops are ordered by ``name + "/"``, which is the order S3 returns common prefixes in; name drops so
that later drops sort later (``arxiv-2024-06-0001``, ``2024-06-01T12-00``) - a drop that sorts before
the cursor when it appears is not seen.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pin_assets import layout
from pin_assets.batches import BatchSpec, save_spec
from pin_assets.core.sources.listing import READY_MARKER
from pin_assets.partitions import batches
from resources.executor import in_process_max_files, run_config_for_drop
from resources.storage import StorageResource

BATCH_JOB = "pin_job"
"""The job a new batch runs (defined in ``pin_assets.definitions``, named here to avoid a cycle)."""


class Inbox(Protocol):
    """Where drops appear; local folders and S3 prefixes implement it."""

    def drops_after(self, after: str, limit: int) -> list[str]: ...
    def state(self, drop: str) -> str: ...  # "ready" | "waiting" | "gone"
    def marker(self, drop: str) -> bytes: ...
    def drop_uri(self, drop: str) -> str: ...
    def files_up_to(self, drop: str, limit: int) -> int: ...  # files in the drop, counted up to limit + 1


def _order(name: str) -> str:
    return f"{name}/"


def _is_candidate(name: str) -> bool:
    return not name.startswith((".", "_"))


class LocalInbox:
    """A folder whose sub-folders are drops."""

    def __init__(self, root: Path):
        self.root = root

    def drops_after(self, after: str, limit: int) -> list[str]:
        if not self.root.is_dir():
            return []
        with os.scandir(self.root) as entries:
            names = (
                e.name for e in entries
                if e.is_dir() and _is_candidate(e.name) and (not after or _order(e.name) > _order(after))
            )
            return heapq.nsmallest(limit, names, key=_order)  # bounded memory, no full sort

    def state(self, drop: str) -> str:
        folder = self.root / drop
        if (folder / READY_MARKER).is_file():
            return "ready"
        return "waiting" if folder.is_dir() else "gone"

    def marker(self, drop: str) -> bytes:
        return (self.root / drop / READY_MARKER).read_bytes()

    def drop_uri(self, drop: str) -> str:
        return str((self.root / drop).resolve())

    def files_up_to(self, drop: str, limit: int) -> int:
        count = 0
        for _folder, _dirs, files in os.walk(self.root / drop):
            count += sum(1 for name in files if name != READY_MARKER)
            if count > limit:
                break
        return min(count, limit + 1)


class S3Inbox:
    """An S3 prefix whose sub-prefixes are drops; listed with ``Delimiter`` so files are never enumerated."""

    def __init__(self, uri: str, client: Any):
        parts = urlsplit(uri)
        self.bucket = parts.netloc
        stripped = parts.path.strip("/")
        self.prefix = f"{stripped}/" if stripped else ""
        self.client = client

    def drops_after(self, after: str, limit: int) -> list[str]:
        request: dict[str, Any] = {
            "Bucket": self.bucket, "Prefix": self.prefix, "Delimiter": "/", "MaxKeys": limit,
        }
        if after:
            # '0' follows '/': every key inside <after>/ sorts before <after>0, every later drop after it.
            request["StartAfter"] = f"{self.prefix}{after}0"
        reply = self.client.list_objects_v2(**request)
        names = [p["Prefix"][len(self.prefix):].rstrip("/") for p in reply.get("CommonPrefixes", [])]
        return sorted((n for n in names if _is_candidate(n)), key=_order)

    def state(self, drop: str) -> str:
        try:
            self.client.head_object(Bucket=self.bucket, Key=f"{self.prefix}{drop}/{READY_MARKER}")
            return "ready"
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        reply = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{drop}/", MaxKeys=1)
        return "waiting" if reply.get("KeyCount", 0) else "gone"

    def marker(self, drop: str) -> bytes:
        key = f"{self.prefix}{drop}/{READY_MARKER}"
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def drop_uri(self, drop: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{drop}/"

    def files_up_to(self, drop: str, limit: int) -> int:
        reply = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{drop}/", MaxKeys=limit + 2)
        keys = [item["Key"] for item in reply.get("Contents", [])]
        return min(sum(1 for key in keys if not key.endswith(f"/{READY_MARKER}")), limit + 1)


def open_inbox(uri: str, s3_client_factory: Callable[[], Any]) -> Inbox:
    if uri.startswith("s3://"):
        return S3Inbox(uri, s3_client_factory())
    return LocalInbox(Path(uri.removeprefix("file://")).expanduser())


@dataclass
class InboxCursor:
    after: str = ""
    pending: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, raw: str | None) -> InboxCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(after=data.get("after", ""), pending=list(data.get("pending", [])))

    def dump(self) -> str:
        return json.dumps({"after": self.after, "pending": self.pending}, sort_keys=True)


@dataclass(frozen=True)
class TickPlan:
    """What one tick decided: drops ready to register, the new cursor, and what it skipped and why."""

    ready: list[str]
    cursor: InboxCursor
    skipped: dict[str, str]


def plan_tick(inbox: Inbox, cursor: InboxCursor, max_drops_per_tick: int, max_pending: int) -> TickPlan:
    """Decide a tick from the inbox and the cursor alone (no Dagster), so the policy is testable directly."""
    ready: list[str] = []
    skipped: dict[str, str] = {}
    pending: list[str] = []
    for drop in cursor.pending:
        state = inbox.state(drop)
        if state == "ready":
            ready.append(drop)
        elif state == "waiting":
            pending.append(drop)
        else:
            skipped[drop] = "removed before it was marked ready"
    after = cursor.after
    room = min(max_drops_per_tick, max_pending - len(pending))
    if room > 0:
        for drop in inbox.drops_after(after, room):
            after = drop
            try:
                layout.check_name(drop)
            except ValueError as exc:
                skipped[drop] = str(exc)
                continue
            (ready if inbox.state(drop) == "ready" else pending).append(drop)
    return TickPlan(ready=ready, cursor=InboxCursor(after=after, pending=pending), skipped=skipped)


def _spec_for(inbox: Inbox, drop: str, default_dataset: str) -> BatchSpec:
    """The batch spec of a drop; the marker may name the source dataset and license."""
    try:
        meta = json.loads(inbox.marker(drop) or b"{}")
    except (ValueError, UnicodeDecodeError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    return BatchSpec(
        name=drop,
        source_uri=inbox.drop_uri(drop),
        source_dataset=str(meta.get("source_dataset") or default_dataset),
        license=str(meta.get("license") or "unknown"),
    )


def make_inbox_sensor(
    inbox_uri: str,
    *,
    name: str = "inbox_sensor",
    source_dataset: str = "inbox",
    max_drops_per_tick: int = 20,
    max_pending: int = 100,
    minimum_interval_seconds: int = 60,
    default_status: DefaultSensorStatus | None = None,
) -> SensorDefinition:
    """A sensor that registers each complete drop under ``inbox_uri`` and requests its ``pin_job`` run.

    With no ``inbox_uri`` the sensor still exists (visible in the UI) but skips every tick and is off
    by default. The run materializes the whole batch, so the queue sees one run per drop; the eager
    automation conditions then have nothing left to do for it (they serve batches a user ingests by hand).
    """
    status = default_status or (DefaultSensorStatus.RUNNING if inbox_uri else DefaultSensorStatus.STOPPED)
    small = in_process_max_files()  # read once: a wrong value fails the code location with its name

    @sensor(
        name=name,
        job_name=BATCH_JOB,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=status,
        description=f"New drops with a {READY_MARKER} marker in {inbox_uri or '$PIN_INBOX_URI (unset)'} "
        "become batch partitions and ingest runs.",
    )
    def inbox_sensor(context: SensorEvaluationContext, storage: StorageResource) -> SensorResult | SkipReason:
        if not inbox_uri:
            return SkipReason("PIN_INBOX_URI is not set: no inbox to watch")
        inbox = open_inbox(inbox_uri, storage.s3_client_factory())
        plan = plan_tick(inbox, InboxCursor.load(context.cursor), max_drops_per_tick, max_pending)
        for drop, reason in plan.skipped.items():
            context.log.warning(f"inbox drop {drop!r} skipped: {reason}")
        new: list[str] = []
        for drop in plan.ready:
            if context.instance.has_dynamic_partition(batches.name, drop):
                context.log.warning(f"inbox drop {drop!r} skipped: batch partition already exists")
                continue
            try:  # the marker's fields are settings like any other: a bad one skips the drop, not the tick
                spec = _spec_for(inbox, drop, source_dataset)
            except ValueError as exc:
                context.log.warning(f"inbox drop {drop!r} skipped: its {READY_MARKER} marker: {exc}")
                continue
            save_spec(storage, spec)
            new.append(drop)
        if not new:
            reason = f"no new complete drop ({len(plan.cursor.pending)} waiting for {READY_MARKER})"
            return SensorResult(skip_reason=reason, cursor=plan.cursor.dump())
        context.log.info(f"registering {len(new)} drop(s): {', '.join(new)}")
        return SensorResult(
            run_requests=[
                RunRequest(partition_key=drop, tags={"pin/trigger": "inbox"},
                           run_config=run_config_for_drop(inbox.files_up_to(drop, small), small))
                for drop in new
            ],
            dynamic_partitions_requests=[batches.build_add_request(new)],
            cursor=plan.cursor.dump(),
        )

    return inbox_sensor
