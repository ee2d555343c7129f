"""Quarantine: the documents a stage could not process, each with its stage, reason and message.

Every stage rewrites its own file for the batch on each run, so a re-run after a fix replaces the old
verdicts instead of piling up new ones. Reading all of a batch's files gives the full picture that
`pin quarantine BATCH` prints and the conservation check counts.

After a fix (a raised limit, a converter patch) a batch need not be redone: with
:class:`RetryConfig` ``retry_quarantined_only`` the parse and render stages keep every good result they
already wrote and process only the documents without one (those in their quarantine file, and any never
processed), which `pin quarantine BATCH --retry` sets.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import Config
from pydantic import Field

from pin_assets import layout
from pin_assets.core.isolation import MESSAGE_CHARS, TaskFailure
from pin_assets.core.tables import QUARANTINE, write_table
from pin_assets.core.text import clean_text
from resources.storage import StorageResource


class RetryConfig(Config):
    """Run config of the parse and render stages."""

    retry_quarantined_only: bool = Field(
        default=False,
        description="Keep the rows of documents this stage already converted; process only the documents in "
        "its quarantine file (or with no result yet). For retries after raising a limit or fixing a converter.",
    )


def quarantine_row(doc: dict, stage: str, failure: TaskFailure) -> dict:
    return {
        "doc_id": doc["doc_id"],
        "source_uri": doc.get("source_uri", ""),
        "stage": stage,
        "reason": failure.reason,
        "error_class": failure.error_class,
        "message": clean_text(failure.message)[:MESSAGE_CHARS],
        "location": failure.location,
    }


def write_quarantine(storage: StorageResource, batch: str, stage: str, rows: Iterable[dict]) -> int:
    with storage.staged_file(layout.quarantine(batch, stage), ".parquet") as path:
        return write_table(path, list(rows), QUARANTINE)


def read_quarantine(storage: StorageResource, batch: str) -> pa.Table:
    """All quarantined documents of a batch, over every stage."""
    tables = [
        pq.read_table(storage.open_input(key))
        for key in storage.list_keys(layout.quarantine_prefix(batch))
        if key.endswith(".parquet")
    ]
    # Files written before a column was added lack it; promotion fills it with nulls instead of failing.
    return pa.concat_tables(tables, promote_options="default") if tables else QUARANTINE.empty_table()


def stage_quarantined_ids(storage: StorageResource, batch: str, stage: str) -> set[str]:
    """The documents in one stage's quarantine file for the batch (empty when the stage never ran)."""
    key = layout.quarantine(batch, stage)
    if not storage.exists(key):
        return set()
    return set(pq.read_table(storage.open_input(key), columns=["doc_id"]).column("doc_id").to_pylist())


def quarantine_metadata(rows: list[dict]) -> dict[str, object]:
    """Counts per reason and a Markdown table of the first failures, for the Dagster UI."""
    from dagster import MetadataValue

    reasons: dict[str, int] = {}
    for row in rows:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    table = "| doc | source | reason | message |\n|---|---|---|---|\n" + "\n".join(
        f"| {r['doc_id'][:12]} | {r['source_uri'].rsplit('/', 1)[-1]} | {r['reason']} | "
        f"{r['message'][:120].replace('|', '/')} |"
        for r in rows[:20]
    )
    return {
        "quarantined": len(rows),
        "quarantine_reasons": MetadataValue.json(reasons),
        "quarantine_preview": MetadataValue.md(table if rows else "nothing quarantined"),
    }
