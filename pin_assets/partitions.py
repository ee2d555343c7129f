"""Batches: one dynamic partition per registered drop of raw documents.

Partitions stay coarse (thousands of documents each): Dagster advises at most about 100,000
partitions per asset, and a corpus of hundreds of millions of documents is still only thousands of
batches.
"""

from dagster import DynamicPartitionsDefinition

batches = DynamicPartitionsDefinition(name="batches")
SAMPLE_BATCH = "sample"
