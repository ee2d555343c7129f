"""RealSyn (arXiv 2502.12513) without Dagster: extraction filters, dedup, retrieval, balancing and shard writing.

Nothing here imports Dagster or ``resources``; assets in ``pin_assets.assets.realsyn`` read and write through
resources and call these functions, so every step can be unit-tested and reused from scripts.
"""
