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
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, Config, MetadataValue
from pydantic import Field

from pin_assets import layout
from pin_assets.core.isolation import MESSAGE_CHARS, TaskFailure
from pin_assets.core.tables import QUARANTINE, count_rows, write_table
from pin_assets.core.text import clean_text
from pin_assets.metadata import readable
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


STAGES = ("parse", "render", "export")  # the stages that quarantine, in pipeline order
RATE_CHECK = "quarantine_rate_within_bound"


def quarantined_so_far(storage: StorageResource, batch: str, stage: str) -> list[dict]:
    """Quarantine rows of ``stage`` and the stages before it, one per document (its earliest stage)."""
    seen: dict[str, dict] = {}
    for name in STAGES[: STAGES.index(stage) + 1]:
        key = layout.quarantine(batch, name)
        if storage.exists(key):
            for row in pq.read_table(storage.open_input(key)).to_pylist():
                seen.setdefault(row["doc_id"], row)
    return list(seen.values())


def quarantine_metadata(storage: StorageResource, batch: str, stage: str, rows: list[dict]) -> dict[str, object]:
    """What the UI shows on every asset that drops documents: this stage's count and the batch's count so far.

    ``quarantined (this stage)`` counts the documents this stage could not process in this run;
    ``quarantined (batch, stages so far)`` every document of the batch quarantined by this stage or one
    before it, so `pin_records` shows the batch's whole count. Reasons are per stage, the table lists the
    first 20 of the batch's quarantined documents with their stage.
    """
    total = quarantined_so_far(storage, batch, stage)
    reasons: dict[str, dict[str, int]] = {}
    for row in total:
        per_stage = reasons.setdefault(row["stage"], {})
        per_stage[row["reason"]] = per_stage.get(row["reason"], 0) + 1
    table = "| doc | stage | source | reason | message |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {r['doc_id'][:12]} | {r['stage']} | {r['source_uri'].rsplit('/', 1)[-1]} | {r['reason']} | "
        f"{r['message'][:120].replace('|', '/')} |"
        for r in total[:20]
    )
    return {
        "quarantined (this stage)": MetadataValue.int(len(rows)),
        "quarantined (batch, stages so far)": MetadataValue.int(len(total)),
        "quarantine_reasons": MetadataValue.json(reasons),
        "quarantine_preview": MetadataValue.md(table if total else "nothing quarantined in this batch so far"),
        "quarantine_list": MetadataValue.path(storage.uri(layout.quarantine_prefix(batch))),
    }


def quarantine_rate_check(
    storage: StorageResource, batch: str, stage: str, bound: float, asset: str
) -> AssetCheckResult:
    """The blocking check of a stage that drops documents: the batch's quarantined share so far within ``bound``.

    ERROR severity and blocking: a run that would quarantine more than ``max_quarantine_rate`` of a batch
    (a bad setting, a broken converter, a source that went away) stops here, so nothing downstream (renders,
    records, views) is replaced by a worse version of itself. The metadata says where the list is.
    """
    documents = count_rows(storage.open_input(layout.manifest(batch)))
    quarantined = len(quarantined_so_far(storage, batch, stage))
    rate = quarantined / documents if documents else 0.0
    return AssetCheckResult(
        asset_key=asset,
        check_name=RATE_CHECK,
        passed=rate <= bound,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "documents": MetadataValue.int(documents),
            "quarantined": MetadataValue.int(quarantined),
            "quarantine_rate": readable(rate),
            "max_quarantine_rate": MetadataValue.float(bound),
            "quarantine_list": MetadataValue.path(storage.uri(layout.quarantine_prefix(batch))),
            "see": MetadataValue.text(f"pin quarantine {batch}"),
        },
    )


def rate_check_spec(asset: str) -> AssetCheckSpec:
    return AssetCheckSpec(
        RATE_CHECK, asset=asset, blocking=True,
        description="The share of the batch quarantined by this stage and those before it is at most "
        "processing.max_quarantine_rate; when it is not, this blocking check stops the run here and "
        "everything downstream (renders, signals, records, views) keeps its previous version.",
    )
