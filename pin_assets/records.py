"""Reading a batch's exported PIN records back, in export order, one record at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pin_assets import layout
from pin_assets.core.jsonl import iter_jsonl
from pin_assets.core.tables import iter_rows
from resources.storage import StorageResource


def batch_sources(storage: StorageResource, batch: str) -> list[str]:
    """The source datasets a batch's records are exported under (its manifest's ``source_dataset``s)."""
    rows = iter_rows(storage.open_input(layout.manifest(batch)), ["source_dataset"])
    return sorted({row["source_dataset"] for row in rows})


def record_keys(storage: StorageResource, batch: str) -> list[str]:
    """Every exported JSONL object of ``batch``, in part order, in whichever export layout it was written."""
    keys: list[str] = []
    for source in batch_sources(storage, batch):
        for prefix in layout.record_prefixes(source, batch):
            keys += sorted(k for k in storage.list_keys(prefix) if k.endswith(".jsonl"))
    return keys


def iter_records(storage: StorageResource, batch: str) -> Iterator[dict[str, Any]]:
    """The batch's PIN records, read with the project's one JSON Lines reader."""
    for key in record_keys(storage, batch):
        yield from iter_jsonl(storage.get_bytes(key))
