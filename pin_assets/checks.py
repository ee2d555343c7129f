"""Asset checks: the guarantees a user relies on, verified after every materialization."""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from pin_assets import layout
from pin_assets.accounting import account_batch
from pin_assets.assets.export import pin_records
from pin_assets.assets.signals import quality_signals
from pin_assets.assets.stats import signal_stats
from pin_assets.core.signals import SIGNAL_NAMES, validate_signal_row
from pin_assets.core.tables import iter_rows
from pin_assets.records import duplicate_record_ids
from resources.storage import StorageResource

RECORD_CHECKS = (
    AssetCheckSpec("every_document_accounted_for", asset=pin_records,
                   description="Every raw document is exported once or quarantined with a reason."),
    AssetCheckSpec("no_record_without_markdown", asset=pin_records,
                   description="No exported record has empty Markdown (core.document.has_content, the rule the "
                               "parse stage quarantines empty documents by)."),
)
# The quarantine rate is checked where documents are dropped, by the blocking checks of parsed_markdown and
# page_renders (pin_assets.quarantine.quarantine_rate_check), so a bad run stops before it replaces the export.


@multi_asset_check(specs=RECORD_CHECKS, name="pin_records_checks")
def pin_records_checks(context: AssetCheckExecutionContext, storage: StorageResource) -> Iterator[AssetCheckResult]:
    """The record checks from one reading of the batch's manifest, JSONL and quarantine."""
    account = account_batch(storage, context.partition_key)
    yield AssetCheckResult(
        check_name="every_document_accounted_for",
        passed=account.balanced,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "documents": account.documents,
            "records": account.records,
            "quarantined": account.quarantined,
            "unaccounted": len(account.unaccounted),
            "duplicated": len(account.duplicated),
            "unaccounted_ids": ", ".join(account.unaccounted[:20]),
        },
    )
    yield AssetCheckResult(
        check_name="no_record_without_markdown",
        passed=not account.without_markdown,
        severity=AssetCheckSeverity.ERROR,
        metadata={"records": account.records, "without_markdown": len(account.without_markdown),
                  "ids": ", ".join(account.without_markdown[:20])},
    )


@asset_check(asset=quality_signals, description="Every signal value is present and inside its documented range.")
def signals_within_valid_ranges(
    context: AssetCheckExecutionContext, storage: StorageResource
) -> AssetCheckResult:
    problems: list[str] = []
    rows = 0
    for row in iter_rows(storage.open_input(layout.signals(context.partition_key)), ["doc_id", *SIGNAL_NAMES]):
        rows += 1
        doc_id = row.pop("doc_id")
        problems += [f"{doc_id[:12]}: {problem}" for problem in validate_signal_row(row)]
    return AssetCheckResult(
        passed=not problems,
        metadata={"rows": rows, "violations": len(problems), "first_violations": "\n".join(problems[:20])},
    )


@asset_check(
    asset=signal_stats,
    description="No record id is in more than one export of the store (another source folder or layout of a batch, "
    "or two batches holding the same document): a loader reading every export would train on it twice.",
)
def record_ids_unique_in_store(storage: StorageResource) -> AssetCheckResult:
    total, examples = duplicate_record_ids(storage)
    listing = "\n".join(f"- `{doc_id[:16]}` in {', '.join(roots)}" for doc_id, roots in examples)
    return AssetCheckResult(
        passed=total == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={"duplicate ids (in store)": MetadataValue.int(total),
                  "first duplicates": MetadataValue.md(listing or "none")},
    )


ALL_CHECKS = [pin_records_checks, signals_within_valid_ranges]  # per batch, with the assets of pin_job
STORE_CHECKS = [record_ids_unique_in_store]  # over the whole store, with signal_stats
