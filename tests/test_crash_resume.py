"""kill -9 in the middle of a partition, run again: the result equals an uninterrupted run.

A real `pin materialize` process works through 30 distinct PDFs with one worker; it is SIGKILLed (with
its whole process group: pool workers, forkserver) as soon as the first page renders appear in the store,
so parse has finished and render is half-way. Then every object the store shows must be whole, and a
second run must give exactly the records of an uninterrupted run in another store.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image

from pin_assets.accounting import account_batch
from pin_assets.cli import main
from pin_assets.core.jsonl import read_jsonl
from resources import StorageResource
from tests.conftest import corpus_dir, write_distinct_copies
from tests.pipeline_support import read_records

BATCH = "crashy"
COPIES = 30
SETTINGS = ["--no-realsyn", "--set", "workers=1", "--set", "render_dpi=40"]


@pytest.fixture
def thirty_pdfs(tmp_path: Path) -> Path:
    """30 copies of a 5-page corpus PDF, each with different trailing bytes: 30 documents, 150 pages."""
    folder = tmp_path / "src"
    folder.mkdir()
    write_distinct_copies(folder, corpus_dir("pdf") / "multi_page.pdf", COPIES)
    return folder


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short private TMPDIR for the runs: the forkserver's socket path must stay under 108 bytes, which
    pytest's nested tmp paths (under xdist) exceed."""
    folder = Path(tempfile.mkdtemp(prefix="pin-kill-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _env(root: Path, scratch: Path) -> dict[str, str]:
    (scratch / root.name).mkdir()
    return {**os.environ, "DAGSTER_HOME": str(root / "home"), "PIN_STORAGE_URI": str(root / "store"),
            "TMPDIR": str(scratch / root.name)}


def _register(root: Path, source: Path, scratch: Path) -> dict[str, str]:
    env = _env(root, scratch)
    added = CliRunner().invoke(main, ["batch", "add", BATCH, str(source)], env=env)
    assert added.exit_code == 0, added.output
    return env


def _materialize(env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pin_assets.cli", "materialize", BATCH, *SETTINGS], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


def _assert_every_visible_object_is_whole(storage: StorageResource) -> int:
    """Each key the store lists opens as what its name says; returns how many were checked."""
    count = 0
    for key in storage.list_keys(""):
        assert not key.endswith(".part"), key
        path = Path(storage.uri(key))
        if key.endswith(".parquet"):
            pq.read_table(path)
        elif key.endswith(".jsonl"):
            read_jsonl(path.read_bytes())
        elif key.endswith((".webp", ".png", ".jpeg")):
            with Image.open(path) as image:
                image.load()
        count += 1
    return count


def _records(storage: StorageResource) -> list[tuple]:
    return sorted((r["id"], r["md"], r["content_image"], r["overall_image"]) for r in read_records(storage))


def test_kill_mid_partition_then_resume_equals_uninterrupted(
    tmp_path: Path, thirty_pdfs: Path, scratch: Path
) -> None:
    killed_env = _register(tmp_path / "killed", thirty_pdfs, scratch)
    clean_env = _register(tmp_path / "clean", thirty_pdfs, scratch)
    killed_store = StorageResource(base_uri=killed_env["PIN_STORAGE_URI"])
    clean = _materialize(clean_env)  # the reference run, alongside (it has its own store and instance)

    run = _materialize(killed_env)
    renders = Path(killed_env["PIN_STORAGE_URI"]) / "renders" / BATCH
    deadline = time.monotonic() + 90
    while not (renders.is_dir() and any(p.suffix == ".webp" for p in renders.rglob("*"))):
        assert run.poll() is None, run.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no render appeared"
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL

    rendered = [p for p in renders.rglob("*.webp")]
    assert 0 < len(rendered) < COPIES * 5, "the kill must land mid-render"
    assert not killed_store.exists(f"renders/{BATCH}/pages.parquet"), "the index only exists once render finished"
    assert not list(killed_store.list_keys("export")), "nothing exported before the kill"
    assert _assert_every_visible_object_is_whole(killed_store) > COPIES

    resumed = _materialize(killed_env)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out.decode()[-3000:]
    clean_out, _ = clean.communicate(timeout=300)
    assert clean.returncode == 0, clean_out.decode()[-3000:]

    clean_store = StorageResource(base_uri=clean_env["PIN_STORAGE_URI"])
    for storage in (killed_store, clean_store):
        account = account_batch(storage, BATCH)
        assert account.balanced and (account.documents, account.records) == (COPIES, COPIES), account
        assert account.pages_rendered == COPIES * 5 and not account.duplicated
        _assert_every_visible_object_is_whole(storage)
    assert _records(killed_store) == _records(clean_store)
    resumed_renders = sorted(k for k in killed_store.list_keys(f"renders/{BATCH}"))
    assert resumed_renders == sorted(k for k in clean_store.list_keys(f"renders/{BATCH}"))
