"""Building a training view of one batch from its stored records: shared by the `views` assets and `pin views`.

Records are read back from the batch's export (so a view holds exactly what `pin_records` published),
images from the store's canonical keys (content images by name, page renders under the batch), and the
``where`` filter runs over the batch's quality signals with the same validation as ``pin stats --where``.
Where the shards go is the caller's choice: the store (the asset) or a local folder (the CLI).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pin_assets import layout
from pin_assets.core.tokenizer import Tokenizer
from pin_assets.core.views import ViewManifest, ViewOptions, build_samples, write_view
from pin_assets.records import iter_records
from resources.storage import StorageResource

INDEX_NAME = "index.parquet"
MANIFEST_NAME = "manifest.json"

# (file name inside the view's folder, local path) and (file name, bytes)
PutFile = Callable[[str, Path], None]
PutBytes = Callable[[str, bytes], None]


def image_loader(storage: StorageResource, batch: str) -> Callable[[Mapping[str, Any], str], bytes | None]:
    """Resolve a record's ``content_image/NAME`` and ``overall_image/NAME`` to stored bytes (None if missing)."""

    def load(record: Mapping[str, Any], path: str) -> bytes | None:
        folder, name = PurePosixPath(path).parent.name, PurePosixPath(path).name
        key = layout.image(name) if folder == "content_image" else layout.render_page(batch, record["id"], name)
        try:
            return storage.get_bytes(key)
        except FileNotFoundError:
            return None

    return load


def selected_records(storage: StorageResource, batch: str, where: str | None) -> Iterator[dict[str, Any]]:
    """The batch's records, only those whose signals satisfy ``where`` when a filter is given."""
    if not where:
        yield from iter_records(storage, batch)
        return
    from pin_assets.assets.stats import signal_source  # the one place that knows where signal files are
    from pin_assets.core.stats import ids_where  # DuckDB and pyarrow.dataset: only when a filter is asked

    source = signal_source(storage)
    keep = ids_where(source, where, batch=batch) if source is not None else set()
    yield from (record for record in iter_records(storage, batch) if record["id"] in keep)


def build_view(
    storage: StorageResource,
    batch: str,
    view: str,
    tokenizer: Tokenizer,
    put_file: PutFile,
    put_bytes: PutBytes,
    *,
    where: str | None = None,
    options: ViewOptions | None = None,
    max_samples: int = 1000,
    max_bytes: int = 1 << 30,
) -> ViewManifest:
    """Write ``view`` of ``batch``: shards, ``index.parquet`` and ``manifest.json``, through the two sinks."""
    options = options or ViewOptions()
    manifest = ViewManifest(view=view, where=where, tokenizer=tokenizer.name, options={
        "token_budget": options.token_budget, "max_samples_per_shard": max_samples, "max_shard_bytes": max_bytes})
    tally: Counter = Counter()
    samples = build_samples(view, selected_records(storage, batch, where), image_loader(storage, batch),
                            tokenizer.count, options, tally)
    with tempfile.TemporaryDirectory(prefix=f"pin-view-{view}-") as scratch:
        index = write_view(samples, Path(scratch), put_file, manifest, tally,
                           max_samples=max_samples, max_bytes=max_bytes)
        index_path = Path(scratch) / INDEX_NAME
        pq.write_table(index if index.num_rows else pa.Table.from_pylist([], schema=index.schema), index_path)
        put_file(INDEX_NAME, index_path)
    put_bytes(MANIFEST_NAME, json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False).encode("utf-8"))
    return manifest


def storage_sinks(storage: StorageResource, view: str, batch: str, token: str) -> tuple[PutFile, PutBytes, str]:
    """Sinks writing a view into a staging prefix of the store, and that prefix: once the view is complete,
    ``storage.replace_prefix(staged, layout.view_prefix(view, batch))`` puts it in place of the previous one."""
    root = layout.staging(batch, view)
    storage.delete_prefix(root)  # what a killed run left behind
    staged = f"{root}/{token}"
    return (lambda name, path: storage.put_file(f"{staged}/{name}", path),
            lambda name, data: storage.put_bytes(f"{staged}/{name}", data), staged)


def folder_sinks(folder: Path) -> tuple[PutFile, PutBytes]:
    """Sinks writing into a local folder (``pin views -o DIR``); a previous run's shards there are removed."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("shard-*.tar"), folder / INDEX_NAME, folder / MANIFEST_NAME]:
        stale.unlink(missing_ok=True)
    return (lambda name, path: shutil.copyfile(path, folder / name),
            lambda name, data: (folder / name).write_bytes(data))
