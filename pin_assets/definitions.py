"""The one Definitions object: assets, checks, jobs, resources and executor, wired and nothing more."""

from dagster import AssetSelection, Definitions, define_asset_job, multiprocess_executor

from pin_assets.assets import PIN_ASSETS
from pin_assets.checks import ALL_CHECKS
from pin_assets.partitions import batches
from resources import build_resources

pin_job = define_asset_job(
    "pin_job",
    selection=AssetSelection.assets(*PIN_ASSETS),
    partitions_def=batches,
    description="A batch from raw documents to PIN records: ingest, parse, render, signals, export.",
)

defs = Definitions(
    assets=PIN_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[pin_job],
    resources=build_resources(),
    # Each step already fans out over a process pool sized to the machine: run one step at a time.
    executor=multiprocess_executor.configured({"max_concurrent": 1}),
)
