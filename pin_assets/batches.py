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
from pin_assets.core.sources.listing import SAMPLE_DIR
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
    """The batch's stored spec; the bundled sample's own spec when "sample" was never registered."""
    stored = _stored_spec(storage, batch)
    if stored is not None:
        return stored
    return SAMPLE_SPEC if batch == SAMPLE_BATCH else None


def _stored_spec(storage: StorageResource, batch: str) -> BatchSpec | None:
    key = layout.batch_spec(batch)
    return BatchSpec(**json.loads(storage.get_bytes(key))) if storage.exists(key) else None


class BatchExistsError(ValueError):
    """A batch of that name is registered with another source; replacing it must be asked for."""


def register_batch(
    instance: DagsterInstance, storage: StorageResource, spec: BatchSpec, *, replace: bool = False
) -> BatchSpec:
    """Store the spec and add the partition; registering the same batch again is a no-op update.

    A name already registered with a *different* source is refused unless ``replace``: silently pointing a
    batch at other documents would mix two sources' outputs under one partition.
    """
    existing = _stored_spec(storage, spec.name)
    if existing is not None and existing.source_uri != spec.source_uri and not replace:
        raise BatchExistsError(
            f"batch {spec.name!r} is already registered from {existing.source_uri}; "
            "use --replace to point it at the new source (its stored outputs are deleted), or pick another name"
        )
    saved = save_spec(storage, spec)
    if not instance.has_dynamic_partition(batches.name, spec.name):
        instance.add_dynamic_partitions(batches.name, [spec.name])
    return saved


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RemovedBatch:
    name: str
    partition_removed: bool
    objects_deleted: int
    purged: bool


def remove_batch(instance: DagsterInstance, storage: StorageResource, name: str, *, purge: bool) -> RemovedBatch:
    """Delete a batch's partition and stored spec and, with ``purge``, everything stored for it alone.

    Without ``purge`` the outputs stay (a batch can be registered again and keeps its records); with it,
    every per-batch prefix of ``layout`` and ``realsyn_layout`` is deleted. Shared content images and the
    corpus-wide stats and RealSyn outputs are not: they are rebuilt from the remaining batches.
    """
    from pin_assets import realsyn_layout
    from pin_assets.core.tables import iter_rows

    spec = load_spec(storage, name)
    if purge:
        sources = {spec.source_dataset} if spec else set()
        if storage.exists(layout.manifest(name)):  # a UI run may have overridden the spec's dataset
            sources |= {r["source_dataset"] for r in iter_rows(storage.open_input(layout.manifest(name)),
                                                               ["source_dataset"])}
        embedding_keys = list(storage.list_keys(realsyn_layout.EMBEDDINGS_PREFIX))
        prefixes = [*layout.batch_prefixes(name, sources), *realsyn_layout.batch_prefixes(name, embedding_keys)]
    else:
        prefixes = [layout.batch_spec(name)]
    deleted = sum(storage.delete_prefix(prefix) for prefix in prefixes)
    had_partition = instance.has_dynamic_partition(batches.name, name)
    if had_partition:
        instance.delete_dynamic_partition(batches.name, name)
    return RemovedBatch(name, had_partition, deleted, purge)
