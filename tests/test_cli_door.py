"""A new user's mistakes get one line and a non-zero exit; a batch can be removed; runs say what failed."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, RunsFilter

from pin_assets.cli import main
from pin_assets.core.sources.check import SourceProblem, check_source
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.partitions import batches
from resources.s3 import S3Connection
from tests.conftest import make_text_pdf


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def batch_keys(store: Path, batch: str) -> list[str]:
    """Stored files of one batch: under a ``<batch>`` folder anywhere, or its spec ``batches/<batch>.json``."""
    keys = [p.relative_to(store) for p in store.rglob("*") if p.is_file()]
    return sorted(k.as_posix() for k in keys if batch in k.parts or k.as_posix() == f"batches/{batch}.json")


def pin(env: dict[str, str], *args: str):
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pin: "), result.stderr
    assert "Traceback" not in result.output and "Usage:" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_batch_sources_are_checked_at_the_door(tmp_path: Path, env: dict[str, str]) -> None:
    images = tmp_path / "only-images"
    images.mkdir()
    shutil.copy(SAMPLE_DIR / "html" / "example_image_01.png", images / "figure.png")
    (images / "archive.zip").write_bytes(b"PK\x03\x04" + bytes(64))
    (tmp_path / "empty").mkdir()

    assert_one_line_error(pin(env, "batch", "add", "ghost", "/no/such/folder"), "'/no/such/folder' does not exist")
    assert_one_line_error(pin(env, "batch", "add", "pics", str(images)), "no supported document", "2 files",
                          "image", "ZIP archive")
    assert_one_line_error(pin(env, "batch", "add", "none", str(tmp_path / "empty")), "holds no files")
    assert_one_line_error(pin(env, "batch", "add", "bad/name", str(images)), "invalid batch name")
    assert_one_line_error(pin(env, "materialize", "ghost"), "unknown batch 'ghost'", "pin batch add ghost")
    assert_one_line_error(pin(env, "quarantine", "ghost"), "unknown batch 'ghost'")
    assert_one_line_error(pin(env, "batch", "remove", "ghost"), "unknown batch 'ghost'")
    assert pin(env, "batch", "list").output == ""


def test_malformed_set_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.pdf").write_bytes(make_text_pdf("A small document for the door checks", 1))
    assert pin(env, "batch", "add", "b", str(source)).exit_code == 0
    assert_one_line_error(pin(env, "materialize", "b", "--set", "max_pages=many"), "max_pages", "valid integer")
    assert_one_line_error(pin(env, "materialize", "b", "--set", "max_pages"), "NAME=VALUE")
    assert_one_line_error(pin(env, "materialize", "b", "--set", "colour=blue"), "'colour=blue'", "doc_timeout_s")
    assert_one_line_error(pin(env, "quarantine", "b", "--set", "max_pages=9"), "--set only applies with --retry")


def test_unreachable_s3_store_is_one_line(tmp_path: Path) -> None:
    port = closed_port()
    env = {
        "DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": "s3://pin-bucket/base",
        "PIN_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "PIN_S3_MAX_ATTEMPTS": "1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
    }
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.md").write_text("# Title\n\nSome text that is a document.\n")
    for args in (("batch", "add", "b", str(source)), ("stats",), ("demo", "--no-realsyn")):
        assert_one_line_error(pin(env, *args), f"127.0.0.1:{port}", "unreachable")


def test_unreachable_s3_source_is_a_source_problem() -> None:
    port = closed_port()
    connection = S3Connection(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
    with pytest.raises(SourceProblem, match=rf"s3://drops/2026.*(127\.0\.0\.1:{port}|connect)"):
        check_source("s3://drops/2026/", s3_client_factory=connection.get_client)


def test_failed_run_names_step_cause_and_log(tmp_path: Path, env: dict[str, str]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.pdf").write_bytes(make_text_pdf("Soon gone", 1))
    assert pin(env, "batch", "add", "gone", str(source)).exit_code == 0
    shutil.rmtree(source)  # the folder disappears between registering and running
    result = pin(env, "materialize", "gone", "--no-realsyn")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"pin: pin_job: step raw_documents failed: FileNotFoundError: source {str(source)!r} " \
                       "is neither a folder nor a file", result.stderr
    assert len(lines) == 2 and lines[1].startswith("pin: full log: "), result.stderr
    log = Path(lines[1].removeprefix("pin: full log: ").split(" (")[0])
    assert log.parent == Path(env["DAGSTER_HOME"]) / "logs"
    text = log.read_text()
    assert "Stack Trace:" in text and f"FileNotFoundError: source {str(source)!r}" in text  # the whole error


def test_batch_lifecycle_replace_remove_purge_and_permissions(tmp_path: Path, env: dict[str, str]) -> None:
    """Add, refuse a silent re-point, materialize (progress in the run log, 0644 files), remove, purge."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.pdf").write_bytes(make_text_pdf("The first source of this batch", 2))
    (second / "b.md").write_text("# Second\n\nA different source with its own words.\n")
    store = Path(env["PIN_STORAGE_URI"])

    assert pin(env, "batch", "add", "mine", str(first)).exit_code == 0
    assert pin(env, "batch", "add", "mine", str(first)).exit_code == 0  # the same source again: a no-op
    assert_one_line_error(pin(env, "batch", "add", "mine", str(second)), "already registered from", "--replace")

    previous = os.umask(0o022)
    try:
        run = pin({**env, "PIN_PROGRESS_EVERY": "1"}, "materialize", "mine", "--no-realsyn", "--set", "workers=1")
    finally:
        os.umask(previous)
    assert run.exit_code == 0, run.output
    assert "\r" not in run.output and "%|" not in run.output  # no live lines or bars when not a terminal
    files = [p for p in store.rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}

    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    (record,) = instance.get_run_records(filters=RunsFilter(job_name="pin_job"))
    messages = [e.user_message for e in instance.all_logs(record.dagster_run.run_id)]
    assert any(m.startswith("parse: 1/1 documents, ") and m.endswith(" left") for m in messages), messages
    assert any(m.startswith("parse: 1/1 documents in ") for m in messages)
    assert any(m.startswith("export: 1/1 documents in ") for m in messages)
    assert any(m.startswith("ingest: 1 files in ") for m in messages)
    instance.dispose()

    stages = {"batches", "raw", "markdown", "renders", "signals", "export", "realsyn"}
    assert {k.split("/")[0] for k in batch_keys(store, "mine")} >= stages
    kept = pin(env, "batch", "remove", "mine")
    assert kept.exit_code == 0 and "stored outputs kept" in kept.output
    assert pin(env, "batch", "list").output == ""
    assert (store / "markdown" / "mine").is_dir() and not (store / "batches" / "mine.json").exists()

    assert pin(env, "batch", "add", "mine", str(first)).exit_code == 0
    replaced = pin(env, "batch", "add", "mine", str(second), "--replace")
    assert replaced.exit_code == 0 and "replacing batch 'mine'" in replaced.output
    assert not (store / "markdown" / "mine").exists() and not (store / "raw" / "mine").exists()
    assert pin(env, "batch", "list").output.split() == ["mine"]

    purged = pin(env, "batch", "remove", "mine", "--purge")
    assert purged.exit_code == 0, purged.output
    assert batch_keys(store, "mine") == []
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert not instance.has_dynamic_partition(batches.name, "mine")
    instance.dispose()
