"""Run the real asset graph in-process against a temp store: the helper the Dagster tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import DagsterInstance, materialize

from pin_assets.assets import PIN_ASSETS
from pin_assets.batches import BatchSpec, register_batch
from pin_assets.checks import ALL_CHECKS
from pin_assets.core.jsonl import read_jsonl
from resources import ProcessingResource, StorageResource, TokenizerResource


def run_batch(
    instance: DagsterInstance, storage: StorageResource, batch: str, source: Path, *, workers: int = 2,
    **processing: Any,
):
    """Register ``source`` as ``batch`` and materialize the whole graph plus its checks."""
    register_batch(instance, storage, BatchSpec(batch, str(source), "testset", "CC-BY-4.0"))
    return materialize(
        [*PIN_ASSETS, *ALL_CHECKS],
        partition_key=batch,
        instance=instance,
        resources={
            "storage": storage,
            "processing": ProcessingResource(workers=workers, render_dpi=50, **processing),
            "tokenizer": TokenizerResource(),
        },
    )


def check_outcomes(result) -> dict[str, bool]:
    """Each asset check of a run by name, and whether it passed."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def read_records(storage: StorageResource, prefix: str = "export/pin") -> list[dict]:
    records = []
    for key in storage.list_keys(prefix):
        if key.endswith(".jsonl"):
            records += read_jsonl(storage.get_bytes(key))
    return records
