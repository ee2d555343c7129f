"""Asset checks: the guarantees a user relies on, verified after every materialization."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from pin_assets.accounting import account_batch
from pin_assets.assets.export import pin_records
from resources.storage import StorageResource


@asset_check(asset=pin_records, description="Every raw document is exported once or quarantined with a reason.")
def every_document_accounted_for(
    context: AssetCheckExecutionContext, storage: StorageResource
) -> AssetCheckResult:
    account = account_batch(storage, context.partition_key)
    return AssetCheckResult(
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
