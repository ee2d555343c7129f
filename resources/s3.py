"""The S3 backend of the storage resource: any S3-compatible store (AWS, MinIO, Ceph, R2) through boto3.

Connection settings live in :class:`S3Connection`: dagster-aws ``S3Resource``'s settings, under the same
names, plus the knobs the pipeline needs on top (retry mode, timeouts, multipart sizes). Credentials are
never part of the code: ``resources.build_resources`` binds them to ``EnvVar``s, and when they are left
unset boto3's own chain (environment, profile, instance role) applies.

Behaviour that matters at scale:

* existence and size are answered by ``HeadObject``, never by reading the object;
* large objects go up in parts (s3transfer's ``TransferConfig``), so a multi-GB shard neither sits in
  memory nor restarts from zero on a dropped connection;
* throttling (503 SlowDown) and transient network errors are retried with botocore's ``standard`` or
  ``adaptive`` mode and exponential backoff; when the endpoint stays unreachable the error names it and
  says how often it was tried, instead of a bare ``EndpointConnectionError``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
import pyarrow as pa
import pyarrow.fs as pafs
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from dagster import ConfigurableResource
from pydantic import Field

MiB = 2**20
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


class StorageUnavailableError(OSError):
    """The object store could not be reached even after the configured retries."""


class S3Connection(ConfigurableResource):
    """dagster-aws's ``S3Resource`` settings (same names and defaults) plus retry mode, timeouts and parts.

    Not a subclass of it: importing ``dagster_aws`` loads its components and Dagster's test utilities,
    about as long as Dagster itself, in every process that imports the definitions. Its ``get_client``
    would not do either: it builds the botocore ``Config`` with only ``max_attempts``, and production needs
    the adaptive mode against throttling and bounded connect timeouts so a dead endpoint fails in seconds.
    """

    region_name: str | None = Field(default=None, description="Region of the S3 session.")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO); unset: AWS.")
    max_attempts: int = Field(default=5, ge=1, le=100, description="Attempts per request, the first included.")
    profile_name: str | None = Field(default=None, description="AWS profile of the session.")
    use_ssl: bool = Field(default=True, description="Talk to the endpoint over TLS.")
    verify: bool | None = Field(default=None, description="Verify TLS certificates (unset: botocore's default).")
    aws_access_key_id: str | None = Field(default=None, description="Access key; unset: boto3's chain.")
    aws_secret_access_key: str | None = Field(default=None, description="Secret key; unset: boto3's chain.")
    aws_session_token: str | None = Field(default=None, description="Session token of temporary credentials.")
    use_unsigned_session: bool = Field(default=False, description="Anonymous requests (public buckets).")

    retry_mode: Literal["standard", "adaptive", "legacy"] = Field(
        default="standard",
        description="botocore retry mode: 'standard' or 'adaptive' (adds client-side rate limiting).",
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=3600, allow_inf_nan=False,
                                     description="Seconds to wait for a TCP connection.")
    read_timeout_s: float = Field(default=60.0, gt=0, le=86_400, allow_inf_nan=False,
                                  description="Seconds to wait for a response to a request.")
    multipart_threshold_bytes: int = Field(
        default=64 * MiB, ge=5 * MiB, le=5 * 2**40,
        description="Objects at least this large are uploaded and copied in parts."
    )
    multipart_chunksize_bytes: int = Field(
        default=16 * MiB, ge=5 * MiB, le=5 * 2**30,
        description="Part size of multipart transfers (S3 requires at least 5 MiB)."
    )
    transfer_concurrency: int = Field(default=4, ge=1, le=256, description="Parallel part transfers per object.")

    def botocore_config(self) -> Config:
        return Config(
            # total_max_attempts counts the first try, as max_attempts does (and S3Resource's);
            # botocore's own "max_attempts" key would add one more.
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            max_pool_connections=max(10, self.transfer_concurrency * 2),
        )

    def get_client(self) -> Any:
        session = boto3.session.Session(profile_name=self.profile_name)
        client = session.client(
            "s3",
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=self.botocore_config(),
        )
        if self.use_unsigned_session:
            from botocore import UNSIGNED

            client.meta.events.register("choose-signer.s3.*", lambda **_: UNSIGNED)
        return client

    def transfer_config(self) -> TransferConfig:
        return TransferConfig(
            multipart_threshold=self.multipart_threshold_bytes,
            multipart_chunksize=self.multipart_chunksize_bytes,
            max_concurrency=self.transfer_concurrency,
        )

    def arrow_filesystem(self) -> pafs.S3FileSystem:
        """pyarrow's own S3 client with the same endpoint, credentials and retry budget.

        DuckDB and Parquet readers use it for ranged reads; it never goes through boto3.
        """
        kwargs: dict[str, Any] = {
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=self.max_attempts),
            "connect_timeout": self.connect_timeout_s,
            "request_timeout": self.read_timeout_s,
        }
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            kwargs["endpoint_override"] = parts.netloc or parts.path
            kwargs["scheme"] = parts.scheme or ("https" if self.use_ssl else "http")
        if self.region_name:
            kwargs["region"] = self.region_name
        if self.aws_access_key_id and self.aws_secret_access_key:
            kwargs.update(access_key=self.aws_access_key_id, secret_key=self.aws_secret_access_key,
                          session_token=self.aws_session_token)
        if self.use_unsigned_session:
            kwargs["anonymous"] = True
        return pafs.S3FileSystem(**kwargs)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket[/prefix] URI: {uri!r}")
    return parts.netloc, parts.path.strip("/")


class S3Backend:
    """Objects under ``s3://bucket/prefix``: one key of the pipeline is one S3 object."""

    def __init__(self, base_uri: str, connection: S3Connection, check_key):
        self.bucket, self.prefix = parse_s3_uri(base_uri)
        self.connection = connection
        self.client = connection.get_client()
        self.transfer = connection.transfer_config()
        self._check_key = check_key

    def _key(self, key: str) -> str:
        key = self._check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list_prefix(self, prefix: str) -> str:
        """Listing ``raw/b`` must not match ``raw/b2/...``: a non-empty prefix is a folder."""
        prefix = prefix.strip("/")
        full = self._key(prefix) if prefix else self.prefix
        return f"{full}/" if full else ""

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn botocore's network errors (raised after the retries ran out) into one clear message."""
        try:
            yield
        except _UNREACHABLE as exc:
            raise StorageUnavailableError(
                f"S3 endpoint {self.client.meta.endpoint_url} unreachable during {what} "
                f"after {self.connection.max_attempts} attempts ({self.connection.retry_mode} retries): {exc}"
            ) from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                raise FileNotFoundError(f"{what}: no such object") from exc
            if code == "NoSuchBucket":
                raise FileNotFoundError(f"bucket {self.bucket!r} does not exist ({what})") from exc
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(f"put s3://{self.bucket}/{self._key(key)}"):
            if len(data) < self.transfer.multipart_threshold:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
            else:
                self.client.upload_fileobj(
                    io.BytesIO(data), self.bucket, self._key(key), Config=self.transfer
                )

    def put_file(self, key: str, path: Path) -> None:
        with self._errors(f"upload s3://{self.bucket}/{self._key(key)}"):
            self.client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer)

    def get_bytes(self, key: str) -> bytes:
        with self._errors(f"get s3://{self.bucket}/{self._key(key)}"):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def open_input(self, key: str) -> pa.NativeFile:
        """Download through boto3 (retries, clear errors) to a scratch file and memory-map it.

        pyarrow's own S3 reads neither share these retries nor say which endpoint failed; a memory map
        keeps memory flat (pages are read from disk on demand) and the unlinked file vanishes on close.
        """
        fd, tmp = tempfile.mkstemp(prefix="pin-s3-", suffix=".bin")
        os.close(fd)
        try:
            with self._errors(f"download s3://{self.bucket}/{self._key(key)}"):
                self.client.download_file(self.bucket, self._key(key), tmp, Config=self.transfer)
            return pa.memory_map(tmp, "r")
        finally:
            os.unlink(tmp)

    def _head(self, key: str) -> dict | None:
        with self._errors(f"head s3://{self.bucket}/{self._key(key)}"):
            try:
                return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") in _NOT_FOUND:
                    return None
                raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(f"s3://{self.bucket}/{self._key(key)}: no such object")
        return int(head["ContentLength"])

    def _iter_objects(self, full_prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors(f"list s3://{self.bucket}/{full_prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"]

    def list_keys(self, prefix: str) -> Iterator[str]:
        strip = len(f"{self.prefix}/") if self.prefix else 0
        for full in self._iter_objects(self._list_prefix(prefix)):
            if not full.endswith("/"):  # folder markers some tools create
                yield full[strip:]

    def delete_prefix(self, prefix: str) -> int:
        """Delete ``prefix`` as an object and everything under ``prefix/``, 1,000 keys per request."""
        own = prefix.strip("/")
        targets = [self._key(own)] if own and self.exists(own) else []
        return self._delete_full([*targets, *self._iter_objects(self._list_prefix(prefix))], prefix)

    def _delete_full(self, keys: Iterable[str], what: str) -> int:
        """Delete objects by their full keys, 1,000 per request; the number deleted."""
        deleted = 0
        batch: list[str] = []
        for key in [*keys, None]:
            if key is not None:
                batch.append(key)
            if batch and (key is None or len(batch) == 1000):
                with self._errors(f"delete under s3://{self.bucket}/{what}"):
                    reply = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                    )
                if reply.get("Errors"):
                    first = reply["Errors"][0]
                    raise OSError(
                        f"S3 refused to delete {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                    )
                deleted += len(batch)
                batch = []
        return deleted

    def replace_prefix(self, staged: str, final: str) -> None:
        """Make ``final/`` hold exactly what ``staged/`` holds: copy every staged object over, then delete the
        final objects the new version does not have, then the staged copies. ``final/`` is never empty or
        partly deleted while this runs; a reader may briefly see new objects beside old ones of other names."""
        strip = len(staged.rstrip("/")) + 1
        names = [key[strip:] for key in self.list_keys(staged)]
        for name in names:
            self.copy(f"{staged.rstrip('/')}/{name}", f"{final.rstrip('/')}/{name}")
        keep = set(names)
        final_strip = len(final.rstrip("/")) + 1
        stale = [self._key(key) for key in self.list_keys(final) if key[final_strip:] not in keep]
        self._delete_full(stale, final)
        self.delete_prefix(staged)

    def copy(self, src_key: str, dst_key: str) -> None:
        """Server-side copy; objects above the multipart threshold are copied in parts (no 5 GB limit)."""
        source = {"Bucket": self.bucket, "Key": self._key(src_key)}
        with self._errors(f"copy s3://{self.bucket}/{self._key(src_key)}"):
            self.client.copy(source, self.bucket, self._key(dst_key), Config=self.transfer)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def check(self) -> None:
        """One HeadBucket: the endpoint answers (after the configured retries) and the bucket exists."""
        with self._errors(f"head bucket s3://{self.bucket}"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") in (*_NOT_FOUND, "NoSuchBucket"):
                    raise FileNotFoundError(
                        f"bucket {self.bucket!r} does not exist at {self.client.meta.endpoint_url}"
                    ) from exc
                raise

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        base = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return self.connection.arrow_filesystem(), base


def s3_connection_or_default(connection: S3Connection | None) -> S3Connection:
    """With no explicit connection, boto3's default chain decides (env vars, profile, instance role)."""
    return connection if connection is not None else S3Connection()


__all__ = [
    "MiB", "S3Backend", "S3Connection", "StorageUnavailableError", "parse_s3_uri", "s3_connection_or_default",
]
