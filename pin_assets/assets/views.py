"""Stage `views`: training views of each batch's PIN records, as WebDataset shards with an index.

One asset per view (``page_pairs``, ``doc_pairs``, ``interleaved``, ``pagination``), each downstream of
``pin_records`` so the UI shows which export a view was cut from. They are not in ``pin_job``: views are
chosen per training run (filters, shard sizes), so users materialize the ones they need, from the UI or
with ``pin views``.
"""

from dagster import AssetExecutionContext, AssetsDefinition, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from pin_assets import layout
from pin_assets.core.views import VIEWS, ViewOptions
from pin_assets.partitions import batches
from pin_assets.views_io import build_view, storage_sinks
from resources.storage import StorageResource
from resources.tokenizer import TokenizerResource

_DESCRIPTIONS = {
    "page_pairs": "One sample per page: page render + that page's Markdown (knowledge extraction, rendering).",
    "doc_pairs": "Overall images + Markdown, long documents split into whole pages by a token budget "
    "(contrastive learning).",
    "interleaved": "The Markdown with its content images as members, in order (interleaved next-token prediction).",
    "pagination": "The Markdown with the character offsets of its page breaks as labels (pagination prediction).",
}


class ViewConfig(Config):
    where: str | None = Field(
        default=None, description="Quality-signal filter, as for `pin stats --where`, e.g. 'total_token_count >= 50'."
    )
    max_samples_per_shard: int = Field(default=1000, ge=1, description="Samples per WebDataset shard.")
    max_shard_bytes: int = Field(default=1 << 30, ge=1, description="A shard is closed before it passes this size.")
    token_budget: int = Field(default=8192, ge=1, description="doc_pairs: most Markdown tokens in one sample.")


def _view_asset(view: str) -> AssetsDefinition:
    @asset(
        name=view,
        group_name="views",
        partitions_def=batches,
        deps=["pin_records"],
        description=_DESCRIPTIONS[view],
        kinds={"webdataset", "parquet"},
    )
    def _asset(
        context: AssetExecutionContext, config: ViewConfig, storage: StorageResource, tokenizer: TokenizerResource
    ) -> MaterializeResult:
        batch = context.partition_key
        put_file, put_bytes, staged = storage_sinks(storage, view, batch, context.run_id)
        manifest = build_view(
            storage, batch, view, tokenizer.get(), put_file, put_bytes, where=config.where,
            options=ViewOptions(token_budget=config.token_budget),
            max_samples=config.max_samples_per_shard, max_bytes=config.max_shard_bytes,
        )
        storage.replace_prefix(staged, layout.view_prefix(view, batch))  # the previous view stays until now
        context.log.info(f"{view} of {batch}: {manifest.samples} samples from {manifest.documents} documents "
                         f"in {len(manifest.shards)} shards")
        return MaterializeResult(metadata={
            "documents": manifest.documents,
            "samples": manifest.samples,
            "pages": manifest.pages,
            "md_tokens (Markdown as written)": MetadataValue.int(manifest.md_tokens),
            "bytes": manifest.bytes,
            "shards": len(manifest.shards),
            "flags": MetadataValue.json(manifest.flags),
            "gaps": MetadataValue.json(manifest.gaps),
            "where": config.where or "",
            "tokenizer": manifest.tokenizer,
            "path": MetadataValue.path(storage.uri(layout.view_prefix(view, batch))),
        })

    return _asset


VIEW_ASSETS = [_view_asset(view) for view in VIEWS]
