"""A real S3-compatible HTTP server for tests: moto's threaded server on 127.0.0.1 and a free port.

The pipeline talks to it exactly as to MinIO or AWS (signed HTTP requests through boto3 and pyarrow), so
the tests exercise the network path, retries and multipart uploads rather than an in-process mock.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
from moto.server import ThreadedMotoServer

from resources import S3Connection, StorageResource

ACCESS_KEY = "testing-key"
SECRET_KEY = "testing-secret"
REGION = "us-east-1"


@dataclass
class S3Server:
    """A running server, its endpoint, and helpers to make buckets, clients and stores on it."""

    endpoint: str
    server: ThreadedMotoServer | None = None  # None: a server this process does not run (another host's)
    buckets: list[str] = field(default_factory=list)

    def connection(self, **overrides) -> S3Connection:
        settings = dict(endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, max_attempts=3)
        return S3Connection(**{**settings, **overrides})

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_bucket(self) -> str:
        name = f"pin-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def storage(self, prefix: str = "factory", **overrides) -> StorageResource:
        return StorageResource(base_uri=f"s3://{self.new_bucket()}/{prefix}", s3=self.connection(**overrides))


def count_calls(client) -> Counter:
    """Count the S3 operations a boto3 client makes (HeadObject, GetObject, UploadPart, ...)."""
    calls: Counter = Counter()

    def record(event_name: str, **_) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-call.s3", record)
    return calls


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint=f"http://{host}:{port}", server=server)
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_s3: S3Server) -> S3Server:
    """The standard AWS variables pointing at the test server, as a deployment would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.endpoint)
    return moto_s3
