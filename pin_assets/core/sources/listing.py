"""Where a batch's raw documents come from: listing a source URI as a stream of files.

A source is one of:

* a local folder (walked recursively, hidden files skipped), a single file, or the bundled sample;
* an S3 prefix ``s3://bucket/prefix/`` (listed page by page with a paginator) or one object
  ``s3://bucket/key``;
* a URL manifest: a local or S3 text file whose name ends in ``.urls`` or ``.urls.txt``, one http(s)
  URL per line (blank lines and ``#`` comments ignored). Only the listed URLs are fetched (no link
  following), each with a timeout and a size limit; redirects may only lead to other http(s) URLs.

Each file is read only when the ingest loop reaches it, so a batch of any size streams through constant
memory. S3 clients come from a caller's factory (the storage resource passes its own, with endpoint,
credentials and retries) or else from boto3's standard environment (``AWS_ENDPOINT_URL_S3``,
``AWS_ACCESS_KEY_ID``, ...).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
SAMPLE_PDF_DIR = SAMPLE_DIR / "pdf"
READY_MARKER = "_READY"
SKIPPED_NAMES = frozenset({"PROVENANCE.md", "README.md", "batch.json", READY_MARKER})
MANIFEST_SUFFIXES = (".urls", ".urls.txt")
HTTP_TIMEOUT_S = 60.0
HTTP_MAX_BYTES = 512 * 2**20
HTTP_MAX_REDIRECTS = 5
_CHUNK = 2**20

S3ClientFactory = Callable[[], Any]


class SourceError(OSError):
    """A source file could not be listed or fetched; the message names the URI and the reason."""


@dataclass(frozen=True)
class SourceFile:
    """One raw file of a source: where it came from, and how to read it (lazily)."""

    uri: str
    name: str
    path: Path | None = None
    fetch: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)

    def read(self) -> bytes:
        if self.fetch is not None:
            return self.fetch()
        if self.path is None:
            raise SourceError(f"{self.uri}: nothing to read")
        return self.path.read_bytes()


def default_s3_client() -> Any:
    """A boto3 S3 client from the standard AWS environment, with retries against throttling."""
    import boto3
    from botocore.config import Config

    retries = {"mode": "standard", "total_max_attempts": 5}
    return boto3.client("s3", config=Config(retries=retries, connect_timeout=10))


def is_url_manifest(uri: str) -> bool:
    return uri.lower().endswith(MANIFEST_SUFFIXES)


def iter_source(
    source_uri: str,
    *,
    s3_client_factory: S3ClientFactory | None = None,
    http_timeout_s: float = HTTP_TIMEOUT_S,
    http_max_bytes: int = HTTP_MAX_BYTES,
) -> Iterator[SourceFile]:
    """Files of a source in a stable (sorted) order, so ingest is deterministic."""
    factory = s3_client_factory or default_s3_client
    if is_url_manifest(source_uri):
        lines = _manifest_lines(source_uri, factory)
        yield from iter_url_manifest(lines, source_uri, timeout_s=http_timeout_s, max_bytes=http_max_bytes)
    elif source_uri.startswith("s3://"):
        yield from _iter_s3(source_uri, factory())
    elif source_uri.startswith(("http://", "https://")):
        yield _url_file(source_uri, http_timeout_s, http_max_bytes)
    else:
        yield from _iter_local(Path(source_uri.removeprefix("file://")).expanduser())


def _skipped(relative: PurePosixPath) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.name in SKIPPED_NAMES


def _iter_local(path: Path) -> Iterator[SourceFile]:
    if path.is_file():
        yield SourceFile(path.resolve().as_uri(), path.name, path)
        return
    if not path.is_dir():
        raise FileNotFoundError(f"source {str(path)!r} is neither a folder nor a file")
    for file in sorted(path.rglob("*")):
        if not _skipped(PurePosixPath(file.relative_to(path).as_posix())) and file.is_file():
            yield SourceFile(file.resolve().as_uri(), file.name, file)


def _split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
    return parts.netloc, parts.path.lstrip("/")


def _s3_reader(client: Any, bucket: str, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    return read


def _iter_s3(uri: str, client: Any) -> Iterator[SourceFile]:
    """One object, or every object under a prefix, in key order, one listing page at a time."""
    bucket, key = _split_s3(uri)
    if key and not key.endswith("/"):
        try:
            client.head_object(Bucket=bucket, Key=key)
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        else:
            name = PurePosixPath(key).name
            yield SourceFile(f"s3://{bucket}/{key}", name, fetch=_s3_reader(client, bucket, key))
            return
        key += "/"
    found = False
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for obj in page.get("Contents", []):
            full = obj["Key"]
            if full.endswith("/") or _skipped(PurePosixPath(full[len(key):])):
                continue
            found = True
            name = PurePosixPath(full).name
            yield SourceFile(f"s3://{bucket}/{full}", name, fetch=_s3_reader(client, bucket, full))
    if not found:
        raise FileNotFoundError(f"source {uri!r}: no objects under s3://{bucket}/{key}")


def _manifest_lines(uri: str, factory: S3ClientFactory) -> Iterator[str]:
    """The manifest's lines, streamed: a manifest of millions of URLs is never held in memory."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        body = factory().get_object(Bucket=bucket, Key=key)["Body"]
        for raw in body.iter_lines():
            yield raw.decode("utf-8")
        return
    with open(Path(uri.removeprefix("file://")).expanduser(), encoding="utf-8") as handle:
        yield from handle


def iter_url_manifest(
    lines: Iterable[str],
    manifest_uri: str,
    *,
    timeout_s: float = HTTP_TIMEOUT_S,
    max_bytes: int = HTTP_MAX_BYTES,
) -> Iterator[SourceFile]:
    """One lazily fetched file per http(s) URL; anything else in the manifest is an error, not a fetch."""
    for number, line in enumerate(lines, start=1):
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SourceError(
                f"{manifest_uri} line {number}: only http(s) URLs are fetched, got {url[:200]!r}"
            )
        yield _url_file(url, timeout_s, max_bytes)


def _url_file(url: str, timeout_s: float, max_bytes: int) -> SourceFile:
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "index.html"
    return SourceFile(url, name, fetch=lambda: fetch_url(url, timeout_s=timeout_s, max_bytes=max_bytes))


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow at most a few redirects, and only to http(s): never to file:, ftp: or data: URLs."""

    max_redirections = HTTP_MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise SourceError(f"{req.full_url}: refusing redirect to {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects())


def fetch_url(url: str, *, timeout_s: float = HTTP_TIMEOUT_S, max_bytes: int = HTTP_MAX_BYTES) -> bytes:
    """GET one URL with a socket timeout and a byte limit checked before and while reading."""
    request = urllib.request.Request(url, headers={"User-Agent": "pin-factory/0.1 (+batch ingest)"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(f"{url}: {declared} bytes exceeds the limit of {max_bytes}")
            chunks, total = [], 0
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise SourceError(f"{url}: more than the limit of {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{url}: fetch failed ({reason}); timeout {timeout_s}s") from exc
