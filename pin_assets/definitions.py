"""The one Definitions object: assets, checks, jobs, resources, sensors, schedules and executor, wired."""

from dagster import AssetSelection, Definitions, define_asset_job, multiprocess_executor

from pin_assets.assets import PIN_ASSETS, signal_stats
from pin_assets.checks import ALL_CHECKS
from pin_assets.partitions import batches
from resources import build_resources
from sensors import build_schedules, build_sensors

pin_job = define_asset_job(
    "pin_job",
    selection=AssetSelection.assets(*PIN_ASSETS),
    partitions_def=batches,
    description="A batch from raw documents to PIN records: ingest, parse, render, signals, export.",
)

stats_job = define_asset_job(
    "stats_job",
    selection=AssetSelection.assets(signal_stats),
    description="Refresh the DuckDB statistics and dashboard over every batch's signals.",
)



def build_definitions() -> Definitions:
    """Definitions for the environment as configured now (``PIN_STORAGE_URI`` and friends).

    The `pin` CLI builds them at call time, so a command always runs against the store it was pointed at.
    """
    return Definitions(
        assets=[*PIN_ASSETS, signal_stats],
        asset_checks=ALL_CHECKS,
        jobs=[pin_job, stats_job],
        resources=build_resources(),
        sensors=build_sensors(),
        schedules=build_schedules(),
        # Each step already fans out over a process pool sized to the machine: run one step at a time.
        executor=multiprocess_executor.configured({"max_concurrent": 1}),
    )


defs = build_definitions()
