"""The one Definitions object: assets, checks, jobs, resources, sensors, schedules and executor, wired."""

from dagster import AssetSelection, Definitions, define_asset_job

from pin_assets.assets import PIN_ASSETS, VIEW_ASSETS, signal_stats
from pin_assets.assets.dedup import duplicate_clusters
from pin_assets.assets.realsyn import REALSYN_ASSETS, balanced_samples, realsyn_corpus
from pin_assets.assets.realsyn_index import image_text_pairs, text_centroids, text_index
from pin_assets.checks import ALL_CHECKS, STORE_CHECKS
from pin_assets.partitions import batches
from resources import build_resources, executor_from_env, step_retry_policy
from sensors import build_schedules, build_sensors

# A failed step runs again with PIN_STEP_RETRIES (on by default only across hosts: resources/executor.py).
STEP_RETRIES = step_retry_policy()

pin_job = define_asset_job(
    "pin_job",
    selection=AssetSelection.assets(*PIN_ASSETS, realsyn_corpus),
    op_retry_policy=STEP_RETRIES,
    partitions_def=batches,
    description="A batch from raw documents to PIN records (ingest, parse, render, signals, export) and its "
    "RealSyn corpus (filtered images and sentences).",
)

stats_job = define_asset_job(
    "stats_job",
    selection=AssetSelection.assets(duplicate_clusters, signal_stats),
    op_retry_policy=STEP_RETRIES,
    description="Refresh the duplicate clusters, then the DuckDB statistics and dashboard over every batch's signals.",
)


realsyn_centroids_job = define_asset_job(
    "realsyn_centroids_job",
    selection=AssetSelection.assets(text_centroids),
    op_retry_policy=STEP_RETRIES,
    description="Train the sentence index's centroids on a sample across batches (kept if a version exists; "
    "set retrain to train a new version).",
)

realsyn_batch_job = define_asset_job(
    "realsyn_batch_job",
    selection=AssetSelection.assets(text_index, image_text_pairs),
    op_retry_policy=STEP_RETRIES,
    partitions_def=batches,
    description="A batch's sentence index shard, then its images' top texts retrieved across every shard.",
)

realsyn_job = define_asset_job(
    "realsyn_job",
    selection=AssetSelection.assets(balanced_samples),
    op_retry_policy=STEP_RETRIES,
    description="Balance every batch's image-text pairs (two streaming passes) and write the WebDataset shards.",
)

views_job = define_asset_job(
    "views_job",
    selection=AssetSelection.assets(*VIEW_ASSETS),
    op_retry_policy=STEP_RETRIES,
    partitions_def=batches,
    description="Cut a batch's PIN records into training views (WebDataset shards with a Parquet index).",
)


def build_definitions() -> Definitions:
    """Definitions for the environment as configured now (``PIN_STORAGE_URI`` and friends).

    The `pin` CLI builds them at call time, so a command always runs against the store it was pointed at.
    """
    return Definitions(
        assets=[*PIN_ASSETS, duplicate_clusters, signal_stats, *REALSYN_ASSETS, *VIEW_ASSETS],
        asset_checks=[*ALL_CHECKS, *STORE_CHECKS],
        jobs=[pin_job, stats_job, realsyn_centroids_job, realsyn_batch_job, realsyn_job, views_job],
        resources=build_resources(),
        sensors=build_sensors(),
        schedules=build_schedules(),
        executor=executor_from_env(),  # steps forked from a warm forkserver (resources/executor.py)
    )


defs = build_definitions()
