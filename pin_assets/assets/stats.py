"""Stage `stats`: DuckDB aggregates over every batch's signals, as metadata and an HTML dashboard."""

import json
from typing import TYPE_CHECKING

import pyarrow.fs as pafs
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pin_assets import layout
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.metadata import readable
from resources.storage import StorageResource

if TYPE_CHECKING:
    from pin_assets.core.stats import Source

PLOTTED = ("image_text_interleaving_count", "avg_tokens_per_text_block", "total_token_count", "image_count")


def signal_source(storage: StorageResource) -> "Source | None":
    """Every batch's signal Parquet: paths for DuckDB's own reader locally, a pyarrow dataset on S3.

    The duplicate flags of ``duplicate_clusters`` are joined on as columns once it has run.
    """
    keys = [k for k in storage.list_keys(layout.SIGNALS_PREFIX) if k.endswith(".parquet")]
    if not keys:
        return None
    from pin_assets.dedup_io import with_duplicate_flags  # pyarrow.dataset: for the stats step only

    fs, base = storage.arrow_filesystem()
    paths = [f"{base}/{key}" for key in keys]
    if isinstance(fs, pafs.LocalFileSystem):
        return with_duplicate_flags(storage, paths)
    import pyarrow.dataset as pads  # with pandas: 0.5 s, for the stats step only

    return with_duplicate_flags(storage, pads.dataset(paths, filesystem=fs, format="parquet"))


@asset(
    group_name="stats",
    deps=["quality_signals", "duplicate_clusters"],
    automation_condition=AFTER_UPSTREAM,
    description="Per-source counts, means, quantiles, histograms and filter shares over all batches (DuckDB).",
    kinds={"duckdb", "html"},
)
def signal_stats(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
    # DuckDB and the dashboard load in the step, not in every process that imports the definitions.
    from pin_assets.core.dashboard import render_dashboard, stats_markdown
    from pin_assets.core.stats import compute_stats

    source = signal_source(storage)
    if source is None:
        context.log.warning("no signal files yet: materialize quality_signals for a batch first")
        return MaterializeResult(metadata={"documents": 0})
    stats = compute_stats(source)
    tokenizers = _tokenizers(source)
    storage.put_bytes(layout.STATS_DASHBOARD, render_dashboard(stats, tokenizer=", ".join(tokenizers)).encode())
    storage.put_bytes(layout.STATS_JSON, json.dumps(stats.to_dict(), indent=1).encode())
    means = {
        f"{source_name}/mean_{signal}": readable(float(group.signals[signal].mean or 0.0))
        for source_name, group in stats.per_source.items()
        for signal in PLOTTED
        if signal in group.signals
    }
    return MaterializeResult(
        metadata={
            "documents": stats.overall.documents,
            "sources": len(stats.per_source),
            "dropped_by_any_filter": readable(stats.overall.any_filter_drop_share),
            **means,
            "stats": MetadataValue.md(stats_markdown(stats)),
            "dashboard": MetadataValue.path(storage.uri(layout.STATS_DASHBOARD)),
        }
    )


def _tokenizers(source: "Source") -> list[str]:
    """Token counts from different tokenizers are not comparable: the dashboard names them."""
    from pin_assets.core.stats import connect

    con = connect(source)
    try:
        return sorted(row[0] for row in con.execute("SELECT DISTINCT tokenizer FROM signals").fetchall())
    finally:
        con.close()
