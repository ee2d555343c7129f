"""Dagster project: assets, checks, partitions, jobs and the `pin` CLI."""
