"""The local store: atomic writes, keys that cannot escape the base, listing and copies."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.storage import StorageResource


def test_roundtrip_list_copy_delete(tmp_path: Path) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    storage.put_bytes("a/b/one.txt", b"1")
    storage.put_bytes("a/two.txt", b"22")
    storage.copy("a/two.txt", "c/two.txt")
    assert storage.get_bytes("c/two.txt") == b"22"
    assert storage.exists("a/b/one.txt") and not storage.exists("a/b/none.txt")
    assert storage.size("a/two.txt") == 2
    assert list(storage.list_keys("a")) == ["a/b/one.txt", "a/two.txt"]
    assert storage.delete_prefix("a") == 2
    assert list(storage.list_keys("a")) == []
    assert not list((tmp_path / "store").rglob("*.part"))


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "a//b", "a\\b", ""])
def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    storage = StorageResource(base_uri=str(tmp_path))
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.put_bytes(key, b"x")


def test_staged_file_is_invisible_until_complete(tmp_path: Path) -> None:
    storage = StorageResource(base_uri=f"file://{tmp_path}")
    with pytest.raises(RuntimeError), storage.staged_file("t/table.parquet") as path:
        pq.write_table(pa.table({"x": [1]}), path)
        assert not storage.exists("t/table.parquet")
        raise RuntimeError("killed mid-write")
    assert not storage.exists("t/table.parquet")
    with storage.staged_file("t/table.parquet") as path:
        pq.write_table(pa.table({"x": [1, 2]}), path)
    assert pq.read_table(storage.open_input("t/table.parquet"))["x"].to_pylist() == [1, 2]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_stored_files_get_the_process_umask(tmp_path: Path, umask: int) -> None:
    """Atomic writes go through temporary files; the stored file still gets 0666 & ~umask, not 0600."""
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    source = tmp_path / "src.bin"
    source.write_bytes(b"x")
    previous = os.umask(umask)
    try:
        storage.put_bytes("a/one.bin", b"1")
        storage.put_file("a/two.bin", source)
        with storage.staged_file("a/three.parquet", ".parquet") as path:
            pq.write_table(pa.table({"x": [1]}), path)
        storage.copy("a/one.bin", "b/four.bin")
    finally:
        os.umask(previous)
    modes = {key: stat.S_IMODE((tmp_path / "store" / key).stat().st_mode) for key in storage.list_keys("")}
    assert modes == dict.fromkeys(["a/one.bin", "a/three.parquet", "a/two.bin", "b/four.bin"], 0o666 & ~umask)
