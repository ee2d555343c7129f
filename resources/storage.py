"""Object storage addressed by one base URI: a local folder by default, ``s3://bucket/prefix`` in production.

Assets never touch paths directly; they read and write *keys* (``raw/sample/ab12.pdf``) through this
resource, so the same asset code runs on a laptop and against S3/MinIO. Every write is atomic: a local
file is written beside its target and renamed over it; an S3 object becomes visible only when its single
PUT or multipart upload completes. A killed run therefore never leaves a half file that a later run trusts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.fs as pafs
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from resources.s3 import S3Backend, S3Connection, s3_connection_or_default


class StorageBackend(Protocol):
    """What the pipeline needs from a store; local and S3 implement it."""

    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def list_keys(self, prefix: str) -> Iterator[str]: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def copy(self, src_key: str, dst_key: str) -> None: ...
    def replace_prefix(self, staged: str, final: str) -> None: ...
    def open_input(self, key: str) -> pa.NativeFile: ...
    def uri(self, key: str) -> str: ...
    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]: ...
    def check(self) -> None: ...


def _check_key(key: str) -> str:
    """Keys are relative, forward-slashed and never climb out of the base."""
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def _new_part_file(target: Path) -> Path:
    """Create an empty, uniquely named ``.part`` file beside ``target`` with the process umask's permissions.

    ``tempfile.mkstemp`` would create it 0600, and the rename would carry that mode onto the stored file, so
    another user, a container with another UID or a web server could not read the output. Opening with
    0666 lets the umask decide (0644 by default), like any other file the user's tools write.
    """
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {target}")


class LocalBackend:
    """A folder on the local disk. Atomic writes by write-then-rename in the target's folder."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    @contextlib.contextmanager
    def _atomic_target(self, key: str) -> Iterator[Path]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = _new_part_file(target)
        try:
            yield tmp_path
            os.replace(tmp_path, target)
        finally:
            tmp_path.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._atomic_target(key) as tmp:
            tmp.write_bytes(data)

    def put_file(self, key: str, path: Path) -> None:
        with self._atomic_target(key) as tmp:
            shutil.copyfile(path, tmp)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix.rstrip("/") if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(self.root).as_posix()

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix.rstrip("/"))
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file()) if base.is_dir() else 1
        if base.is_dir():
            shutil.rmtree(base)
        else:
            base.unlink()
        return count

    def copy(self, src_key: str, dst_key: str) -> None:
        self.put_file(dst_key, self._path(src_key))

    def replace_prefix(self, staged: str, final: str) -> None:
        """Swap the finished folder ``staged`` in for ``final`` by two renames; the old one is deleted last."""
        source, target = self._path(staged.rstrip("/")), self._path(final.rstrip("/"))
        if not source.is_dir():
            raise FileNotFoundError(f"{source}: nothing staged to put in place")
        target.parent.mkdir(parents=True, exist_ok=True)
        retired = source.with_name(f"{source.name}.retired")
        if target.exists():
            os.replace(target, retired)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)

    def open_input(self, key: str) -> pa.NativeFile:
        return pa.memory_map(str(self._path(key)), "r")

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.root)

    def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file, not a folder")


class StorageResource(ConfigurableResource):
    """Where every stage's data lives, chosen by ``base_uri``: a folder, ``file://`` or ``s3://bucket/prefix``.

    ``s3`` (an :class:`~resources.s3.S3Connection`: dagster-aws ``S3Resource``'s settings plus retry and
    multipart ones) is only read for ``s3://`` bases; left unset, boto3's default chain supplies endpoint and
    credentials.
    """

    base_uri: str = "pin_data"
    s3: S3Connection | None = Field(
        default=None, description="S3 endpoint, credentials and transfer settings (s3:// bases only)."
    )

    _backend: StorageBackend | None = PrivateAttr(default=None)

    @property
    def backend(self) -> StorageBackend:
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    def _make_backend(self) -> StorageBackend:
        uri = self.base_uri
        if uri.startswith("s3://"):
            return S3Backend(uri, s3_connection_or_default(self.s3), _check_key)
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        if "://" in uri:
            raise ValueError(
                f"unsupported storage URI {self.base_uri!r}: use a folder path, file:// or s3://bucket/prefix"
            )
        return LocalBackend(Path(uri).expanduser())

    def s3_client_factory(self) -> Callable[[], Any]:
        """Make boto3 S3 clients with this store's endpoint, credentials and retries.

        Sensors and S3 sources that live next to the store (an inbox bucket on the same MinIO) use it, so
        one set of settings reaches every S3 call.
        """
        return s3_connection_or_default(self.s3).get_client

    # Thin delegation keeps call sites short: ``storage.put_bytes(key, data)``.
    def put_bytes(self, key: str, data: bytes) -> None:
        self.backend.put_bytes(key, data)

    def put_file(self, key: str, path: Path) -> None:
        self.backend.put_file(key, path)

    def get_bytes(self, key: str) -> bytes:
        return self.backend.get_bytes(key)

    def exists(self, key: str) -> bool:
        return self.backend.exists(key)

    def size(self, key: str) -> int:
        return self.backend.size(key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        return self.backend.list_keys(prefix)

    def delete_prefix(self, prefix: str) -> int:
        return self.backend.delete_prefix(prefix)

    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object inside the store (server-side on S3)."""
        self.backend.copy(src_key, dst_key)

    def replace_prefix(self, staged: str, final: str) -> None:
        """Put a finished output in place of the previous one: written first under ``staged``, then switched.

        Used for outputs made of many objects (an export, a view), so a run that fails or is stopped halfway
        never leaves the previous version deleted or half replaced (locally two renames; on S3 copies over
        the old objects, then the stale ones deleted).
        """
        self.backend.replace_prefix(staged, final)

    def uri(self, key: str) -> str:
        return self.backend.uri(key)

    def open_input(self, key: str) -> pa.NativeFile:
        """A seekable pyarrow file for ``key``: Parquet readers fetch only the row groups they need."""
        return self.backend.open_input(key)

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the base path inside it, for DuckDB/pyarrow dataset scans."""
        return self.backend.arrow_filesystem()

    def check(self) -> None:
        """Fail fast, with one clear message, when the store cannot be used (no endpoint, no bucket).

        Commands call it before starting work, so a typo in an endpoint costs one failed request and a
        sentence, not a run that dies halfway with a botocore traceback.
        """
        self.backend.check()

    @contextlib.contextmanager
    def staged_file(self, key: str, suffix: str = "") -> Iterator[Path]:
        """Yield a local scratch path; on clean exit its content becomes the object ``key`` at once.

        Used for files built incrementally (Parquet written in row groups) so nothing half-written
        is ever visible under ``key``.
        """
        with tempfile.TemporaryDirectory(prefix="pin-stage-") as tmp:
            path = Path(tmp) / f"staged{suffix}"
            yield path
            self.put_file(key, path)
