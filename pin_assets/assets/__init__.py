"""Assets, one module per stage group; each body reads through a resource, calls core, writes through a resource."""

from pin_assets.assets.export import pin_records
from pin_assets.assets.ingest import raw_documents
from pin_assets.assets.nemo_export import interleaved_documents
from pin_assets.assets.parse import parsed_markdown
from pin_assets.assets.render import page_renders
from pin_assets.assets.signals import quality_signals
from pin_assets.assets.stats import signal_stats
from pin_assets.assets.views import VIEW_ASSETS

# The per-batch graph that `pin_job` materializes for one partition.
PIN_ASSETS = [raw_documents, parsed_markdown, page_renders, quality_signals, pin_records, interleaved_documents]

__all__ = [
    "PIN_ASSETS",
    "VIEW_ASSETS",
    "signal_stats",
    "interleaved_documents", "page_renders", "parsed_markdown", "pin_records", "quality_signals", "raw_documents"]
