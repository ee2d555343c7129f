"""Existing interleaved datasets (OBELICS rows, MMC4 documents) as a source kind: shards, rows, images, Markdown."""
