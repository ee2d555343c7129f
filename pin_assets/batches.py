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

    def changes_from(self, other: BatchSpec) -> list[str]:
        """What registering this spec over ``other`` would change, e.g. ``license 'mixed' -> 'unknown'``.

        Every field that ends up in the batch's records or decides its documents counts: the source, the
        dataset name (the export folder), the license and the images folder. Only the timestamp does not.
        """
        return [
            f"{label} {getattr(other, name)!r} -> {getattr(self, name)!r}"
            for name, label in IDENTITY_FIELDS
            if getattr(other, name) != getattr(self, name)
        ]


IDENTITY_FIELDS = (("source_uri", "source"), ("source_dataset", "dataset"), ("license", "license"),
                   ("images_uri", "images"))


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
    """A batch of that name is registered with another source, dataset, license or images folder."""


def register_batch(
    instance: DagsterInstance, storage: StorageResource, spec: BatchSpec, *, replace: bool = False
) -> BatchSpec:
    """Store the spec and add the partition; registering the very same spec again changes nothing.

    A name already registered with any other field (source, dataset, license, images) is refused unless
    ``replace``: silently re-pointing or relabelling a batch would leave records of the old spec beside the
    new ones (another export folder, another license on the same ids). Callers that replace purge the old
    spec's outputs first (`pin batch add --replace`).
    """
    existing = _stored_spec(storage, spec.name)
    changes = spec.changes_from(existing) if existing is not None else []
    if changes and not replace:
        raise BatchExistsError(
            f"batch {spec.name!r} is already registered with another spec ({'; '.join(changes)}); "
            "use --replace to replace it (the old spec's stored outputs are deleted first), or pick another name"
        )
    if existing is not None and not changes:
        spec = existing  # same identity: keep the first registration time
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
        exported = []  # wherever the last export went, whatever the spec and manifest say now
        if storage.exists(layout.export_state(name)):
            exported = json.loads(storage.get_bytes(layout.export_state(name)))["prefixes"]
        prefixes = [*exported, *layout.batch_prefixes(name, sources),
                    *realsyn_layout.batch_prefixes(name, embedding_keys)]
    else:
        prefixes = [layout.batch_spec(name)]
    deleted = sum(storage.delete_prefix(prefix) for prefix in prefixes)
    had_partition = instance.has_dynamic_partition(batches.name, name)
    if had_partition:
        instance.delete_dynamic_partition(batches.name, name)
    return RemovedBatch(name, had_partition, deleted, purge)
