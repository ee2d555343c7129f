"""Writing a view: WebDataset shards, a Parquet index with one row per sample, and a manifest of counts.

The shards are written by the same reproducible tar writer as RealSyn's (fixed mtime and owner, members
in a fixed order), streamed one shard at a time. The index lets a data loader pick samples (by source,
flag or page) without opening a tar; the manifest is what a person reads first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pin_assets.core.realsyn.webdataset_writer import write_shards
from pin_assets.core.views.samples import Sample

INDEX_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("shard", pa.string()),
    ("record_id", pa.string()),
    ("source_dataset", pa.string()),
    ("pages", pa.list_(pa.int32())),
    ("md_tokens", pa.int64()),  # tokens of the sample's Markdown as written, markup and image tags included
    ("bytes", pa.int64()),
    ("flags", pa.list_(pa.string())),
])


def shard_name(number: int) -> str:
    return f"shard-{number:05d}.tar"


@dataclass
class ViewManifest:
    """What a view holds, counted while it was written."""

    view: str
    where: str | None
    documents: int = 0  # records that passed the filter and reached the builder
    samples: int = 0
    pages: int = 0  # pages covered, summed over samples
    md_tokens: int = 0  # Markdown as written; not the signals' total_token_count (visible text only)
    bytes: int = 0  # member bytes in the shards (tar headers not counted)
    shards: list[str] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)  # samples per flag ("missing_image" counted once)
    gaps: dict[str, int] = field(default_factory=dict)  # pages without image, missing images...
    tokenizer: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_view(
    samples: Iterable[Sample],
    folder: Path,
    on_shard: Callable[[str, Path], None],
    manifest: ViewManifest,
    tally: Counter,
    *,
    max_samples: int = 1000,
    max_bytes: int = 1 << 30,
) -> pa.Table:
    """Stream ``samples`` into shards handed to ``on_shard(name, path)``; fill ``manifest``; return the index.

    ``tally`` is the counter the sample builders wrote into; it is read after the last sample, when it is
    complete.
    """
    rows: list[dict[str, Any]] = []
    flags: Counter = Counter()

    def described() -> Iterable[tuple[str, dict[str, bytes]]]:
        for sample in samples:
            rows.append({
                "key": sample.key, "record_id": sample.record_id, "source_dataset": sample.source_dataset,
                "pages": sample.pages, "md_tokens": sample.md_tokens, "bytes": sample.size, "flags": sample.flags,
            })
            flags.update({flag.split(":", 1)[0] for flag in sample.flags})
            yield sample.key, sample.files

    def upload(number: int, path: Path) -> None:
        name = shard_name(number)
        on_shard(name, path)
        manifest.shards.append(name)

    placed = write_shards(described(), folder, upload, max_samples=max_samples, max_bytes=max_bytes)
    for row, number in zip(rows, placed, strict=True):
        row["shard"] = shard_name(number)
    manifest.documents = tally.get("documents", 0)
    manifest.samples = len(rows)
    manifest.pages = sum(len(row["pages"]) for row in rows)
    manifest.md_tokens = sum(row["md_tokens"] for row in rows)
    manifest.bytes = sum(row["bytes"] for row in rows)
    manifest.flags = dict(sorted(flags.items()))
    manifest.gaps = {k: v for k, v in sorted(tally.items()) if k != "documents"}
    return pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
