"""Registering a batch: where its raw documents come from, and the dynamic partition that names it.

The spec is stored beside the data (``batches/<batch>.json``) rather than in code, so a user adds a
batch from the CLI, the UI launchpad or a sensor without touching the project.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from dagster import DagsterInstance

from pin_assets import layout
from pin_assets.core.sources import SAMPLE_DIR
from pin_assets.partitions import SAMPLE_BATCH, batches
from resources.storage import StorageResource


@dataclass(frozen=True)
class BatchSpec:
    name: str
    source_uri: str
    source_dataset: str
    license: str = "unknown"
    registered_at: str = ""
    images_uri: str = ""  # OBELICS/MMC4 sources: a local folder or tar file(s) with the rows' images

    def __post_init__(self) -> None:
        layout.check_name(self.name)
        layout.check_name(self.source_dataset, "source dataset")


SAMPLE_SPEC = BatchSpec(
    name=SAMPLE_BATCH, source_uri=str(SAMPLE_DIR), source_dataset="sample", license="see PROVENANCE.md"
)


def save_spec(storage: StorageResource, spec: BatchSpec) -> BatchSpec:
    stamped = BatchSpec(**{**asdict(spec), "registered_at": spec.registered_at or _now()})
    storage.put_bytes(layout.batch_spec(spec.name), json.dumps(asdict(stamped), indent=2).encode())
    return stamped


def load_spec(storage: StorageResource, batch: str) -> BatchSpec | None:
    key = layout.batch_spec(batch)
    if storage.exists(key):
        return BatchSpec(**json.loads(storage.get_bytes(key)))
    return SAMPLE_SPEC if batch == SAMPLE_BATCH else None


def register_batch(instance: DagsterInstance, storage: StorageResource, spec: BatchSpec) -> BatchSpec:
    """Store the spec and add the partition; registering the same batch again is a no-op update."""
    saved = save_spec(storage, spec)
    if not instance.has_dynamic_partition(batches.name, spec.name):
        instance.add_dynamic_partitions(batches.name, [spec.name])
    return saved


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
