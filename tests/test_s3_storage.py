"""The S3 store against a real S3 HTTP server (moto): semantics, request economy, multipart, retries,
and the whole asset graph with every object under an S3 prefix."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, asset, materialize

from pin_assets import layout
from pin_assets.core.sources.listing import iter_source
from resources import StorageResource, StorageUnavailableError, build_resources
from resources.s3 import MiB
from tests import s3_server as s3_helpers
from tests.s3_server import S3Server, count_calls

moto_s3 = s3_helpers.moto_s3  # fixtures shared through the helper module
aws_env = s3_helpers.aws_env


def _pdf_pipeline_available() -> bool:
    try:
        import pin_assets.core.pdf  # noqa: F401
    except ImportError:
        return False
    return True


def test_put_get_exists_size_copy_delete(moto_s3: S3Server) -> None:
    storage = moto_s3.storage()
    storage.put_bytes("a/b/one.txt", b"1")
    storage.put_bytes("a/two.txt", b"22")
    storage.put_bytes("a2/other.txt", b"x")
    storage.copy("a/two.txt", "c/two.txt")
    assert storage.get_bytes("c/two.txt") == b"22"
    assert storage.size("a/two.txt") == 2
    assert storage.exists("a/b/one.txt") and not storage.exists("a/b/none.txt")
    assert list(storage.list_keys("a")) == ["a/b/one.txt", "a/two.txt"]  # not a2/...
    assert storage.uri("a/two.txt").endswith("/factory/a/two.txt")
    assert storage.delete_prefix("a") == 2
    assert list(storage.list_keys("a")) == [] and storage.exists("a2/other.txt")
    with pytest.raises(FileNotFoundError):
        storage.get_bytes("a/two.txt")
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.put_bytes("../escape", b"x")


def test_objects_land_under_the_prefix(moto_s3: S3Server) -> None:
    storage = moto_s3.storage(prefix="deep/prefix")
    storage.put_bytes("k.txt", b"v")
    bucket = storage.uri("k.txt").split("/")[2]
    keys = [o["Key"] for o in moto_s3.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["deep/prefix/k.txt"]


def test_exists_and_size_use_head_never_get(moto_s3: S3Server) -> None:
    storage = moto_s3.storage()
    storage.put_bytes("big.bin", b"x" * 100_000)
    calls = count_calls(storage.backend.client)
    assert storage.exists("big.bin") and not storage.exists("missing.bin")
    assert storage.size("big.bin") == 100_000
    assert calls["HeadObject"] == 3 and calls["GetObject"] == 0, calls


def test_list_keys_paginates(moto_s3: S3Server) -> None:
    storage = moto_s3.storage()
    client = storage.backend.client
    bucket = storage.backend.bucket
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:  # past S3's 1,000 keys per page
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"factory/many/{i:05d}", Body=b""),
                      range(1105)))
    calls = count_calls(client)
    keys = list(storage.list_keys("many"))
    assert len(keys) == 1105 and keys[0] == "many/00000" and keys[-1] == "many/01104"
    assert calls["ListObjectsV2"] == 2
    assert storage.delete_prefix("many") == 1105


def test_large_objects_go_up_in_parts(moto_s3: S3Server, tmp_path: Path) -> None:
    storage = moto_s3.storage(multipart_threshold_bytes=5 * MiB, multipart_chunksize_bytes=5 * MiB)
    calls = count_calls(storage.backend.client)
    data = os.urandom(11 * MiB)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    storage.put_file("shards/big.bin", big)
    storage.put_bytes("shards/big2.bin", data)
    assert calls["CreateMultipartUpload"] == 2 and calls["UploadPart"] == 6 and calls["PutObject"] == 0
    assert storage.get_bytes("shards/big.bin") == data and storage.size("shards/big2.bin") == len(data)
    storage.put_bytes("shards/small.bin", b"tiny")
    assert calls["PutObject"] == 1


def test_retry_config_is_present(moto_s3: S3Server) -> None:
    storage = moto_s3.storage(max_attempts=7, retry_mode="adaptive")
    config = storage.backend.client.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert config.connect_timeout == 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dead_endpoint_fails_clearly_after_retries() -> None:
    storage = StorageResource(
        base_uri="s3://nobucket/p",
        s3=S3Server(endpoint=f"http://127.0.0.1:{_free_port()}", server=None).connection(
            max_attempts=3, connect_timeout_s=1.0
        ),
    )
    attempts: list[str] = []
    storage.backend.client.meta.events.register("before-send.s3", lambda **_: attempts.append("try"))
    start = time.monotonic()
    with pytest.raises(StorageUnavailableError, match=r"unreachable during put .* after 3 attempts"):
        storage.put_bytes("k", b"v")
    assert len(attempts) == 3
    assert time.monotonic() - start < 30


def test_arrow_filesystem_reads_parquet_for_duckdb(moto_s3: S3Server) -> None:
    import pyarrow as pa

    storage = moto_s3.storage()
    for batch, values in (("b1", [1.0, 2.0]), ("b2", [3.0])):
        with storage.staged_file(layout.signals(batch), ".parquet") as path:
            ids = [f"{batch}-{i}" for i in range(len(values))]
            pq.write_table(pa.table({"doc_id": ids, "v": values}), path)
    fs, base = storage.arrow_filesystem()
    assert base == f"{storage.backend.bucket}/factory"
    dataset = pads.dataset(f"{base}/{layout.SIGNALS_PREFIX}", filesystem=fs, format="parquet")
    con = duckdb.connect()
    con.register("signals", dataset)
    assert con.sql("SELECT count(*), sum(v) FROM signals").fetchall() == [(3, 6.0)]
    assert pq.read_table(storage.open_input(layout.signals("b2")))["v"].to_pylist() == [3.0]


def test_build_resources_picks_s3_from_env(aws_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = aws_env.new_bucket()
    monkeypatch.setenv("PIN_STORAGE_URI", f"s3://{bucket}/env")
    monkeypatch.setenv("PIN_S3_RETRY_MODE", "adaptive")
    storage = build_resources()["storage"]
    dumped = json.dumps(storage.s3.model_dump(), default=str)
    assert "testing-secret" not in dumped  # the secret stays an EnvVar reference until run time
    seen: dict[str, str] = {}

    @asset
    def probe(storage: StorageResource) -> None:
        storage.put_bytes("probe.txt", b"ok")
        seen["uri"] = storage.uri("probe.txt")

    assert materialize([probe], resources={"storage": storage}).success
    assert seen["uri"] == f"s3://{bucket}/env/probe.txt"
    assert aws_env.client().get_object(Bucket=bucket, Key="env/probe.txt")["Body"].read() == b"ok"
    monkeypatch.setenv("PIN_STORAGE_URI", "some/folder")
    assert build_resources()["storage"].s3 is None


def test_s3_prefix_source_streams_sorted_files(aws_env: S3Server) -> None:
    client = aws_env.client()
    bucket = aws_env.new_bucket()
    for key in ("drop/b.txt", "drop/a/c.md", "drop/.hidden", "drop/_READY", "drop/README.md", "dropx/no.txt"):
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    files = list(iter_source(f"s3://{bucket}/drop/"))
    assert [f.uri for f in files] == [f"s3://{bucket}/drop/a/c.md", f"s3://{bucket}/drop/b.txt"]
    assert files[1].read() == b"drop/b.txt" and files[1].name == "b.txt"
    single = list(iter_source(f"s3://{bucket}/drop/b.txt"))
    assert [f.name for f in single] == ["b.txt"]
    with pytest.raises(FileNotFoundError, match="no objects"):
        list(iter_source(f"s3://{bucket}/nothing/"))


@pytest.mark.skipif(not _pdf_pipeline_available(), reason="PDF converter not written yet")
def test_whole_graph_on_s3_is_idempotent(moto_s3: S3Server, small_pdf_batch: Path) -> None:
    """Every stage writes under the S3 prefix; a second run gives the same records; stats read from S3."""
    from tests.pipeline_support import read_records, run_batch

    storage = moto_s3.storage(prefix="prod")
    with DagsterInstance.ephemeral() as instance:
        first = run_batch(instance, storage, "s3batch", small_pdf_batch, workers=2)
        assert first.success
        records = read_records(storage)
        second = run_batch(instance, storage, "s3batch", small_pdf_batch, workers=2)
        assert second.success
        again = read_records(storage)
    assert len(records) == 3
    assert sorted(json.dumps(r, sort_keys=True) for r in records) == sorted(
        json.dumps(r, sort_keys=True) for r in again
    )
    bucket = storage.backend.bucket
    keys = [k for page in moto_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for k in (o["Key"] for o in page.get("Contents", []))]
    assert keys and all(k.startswith("prod/") for k in keys)
    stages = {k.split("/")[1] for k in keys}
    assert {"raw", "markdown", "renders", "signals", "export", "batches"} <= stages
    record = records[0]
    part = layout.export_part(record["meta"]["source_dataset"], "s3batch", 0)
    for image in record["overall_image"]:
        assert storage.exists(f"{part}/{image}")
    fs, base = storage.arrow_filesystem()
    signals = pads.dataset(f"{base}/{layout.SIGNALS_PREFIX}", filesystem=fs, format="parquet")
    con = duckdb.connect()
    con.register("signals", signals)
    [(count, mean_tokens)] = con.sql(
        "SELECT count(*), avg(total_token_count) FROM signals WHERE batch = 's3batch'"
    ).fetchall()
    assert count == 3 and mean_tokens > 0


@pytest.fixture
def http_folder(tmp_path: Path):
    """A plain HTTP server on 127.0.0.1 serving a temp folder, like a document host a manifest names."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_manifest_local_and_on_s3(http_folder, aws_env: S3Server, tmp_path: Path) -> None:
    from pin_assets.core.sources.listing import SourceError

    root, base = http_folder
    (root / "a.md").write_text("# A\n\ntext")
    (root / "big.bin").write_bytes(b"x" * 5000)
    manifest = tmp_path / "batch.urls"
    manifest.write_text(f"# two documents\n{base}/a.md\n\n{base}/big.bin\n")
    files = list(iter_source(str(manifest)))
    assert [(f.uri, f.name) for f in files] == [(f"{base}/a.md", "a.md"), (f"{base}/big.bin", "big.bin")]
    assert files[0].read() == b"# A\n\ntext"
    limited = list(iter_source(str(manifest), http_max_bytes=1000))
    assert limited[0].read().startswith(b"# A")
    with pytest.raises(SourceError, match="limit of 1000"):
        limited[1].read()
    with pytest.raises(SourceError, match="HTTP 404"):
        next(iter_url_manifest_of([f"{base}/missing.pdf"])).read()
    with pytest.raises(SourceError, match="only http"):
        list(iter_url_manifest_of(["file:///etc/passwd"]))

    bucket = aws_env.new_bucket()
    aws_env.client().put_object(Bucket=bucket, Key="lists/day.urls", Body=f"{base}/a.md\n".encode())
    [remote] = list(iter_source(f"s3://{bucket}/lists/day.urls"))
    assert remote.read() == b"# A\n\ntext"


def iter_url_manifest_of(lines: list[str]):
    from pin_assets.core.sources.listing import iter_url_manifest

    return iter_url_manifest(lines, "test.urls", timeout_s=5)
