"""WebDataset tar shards: one sample = files sharing a key (``<key>.jpg``, ``<key>.json``, ``<key>.txt``).

Written with ``tarfile`` directly so shards are byte-for-byte reproducible (fixed mtime, owner and order)
and streamed: a shard is handed to ``on_shard`` (upload, then delete) as soon as it is full, so local disk
holds one shard at a time. open_clip reads these with ``--dataset-type webdataset`` (image from
``jpg``/``png``, caption from ``txt``).
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uname = info.gname = "pin"
    tar.addfile(info, io.BytesIO(data))


def write_shards(
    samples: Iterable[tuple[str, Mapping[str, bytes]]],
    folder: Path,
    on_shard: Callable[[int, Path], None],
    max_samples: int = 1000,
    max_bytes: int = 1 << 30,
) -> list[int]:
    """Write ``(key, {extension: bytes})`` samples into numbered shards; returns each sample's shard number.

    Keys must not contain dots (WebDataset splits a member name at its first dot into key and extension).
    """
    if max_samples < 1:
        raise ValueError("max_samples must be >= 1")
    shard_index = 0
    tar: tarfile.TarFile | None = None
    path = folder / "current.tar"
    count = size = 0
    placed: list[int] = []

    def finish() -> None:
        nonlocal tar, shard_index, count, size
        if tar is not None:
            tar.close()
            on_shard(shard_index, path)
            path.unlink(missing_ok=True)
            shard_index += 1
            tar, count, size = None, 0, 0

    for key, files in samples:
        if not _KEY.match(key):
            raise ValueError(f"invalid WebDataset key {key!r}: letters, digits, '_' and '-' only")
        sample_bytes = sum(len(data) for data in files.values())
        if tar is not None and (count >= max_samples or size + sample_bytes > max_bytes):
            finish()
        if tar is None:
            # Spans several loop iterations, so no ``with``: finish() closes it.
            tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
        for extension in sorted(files):
            _add(tar, f"{key}.{extension}", files[extension])
        count += 1
        size += sample_bytes
        placed.append(shard_index)
    finish()
    return placed
