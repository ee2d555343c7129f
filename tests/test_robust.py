"""No document can fail a batch: odd names and code points, headerless PDFs, empty documents and hostile
inputs through the whole graph, `pin convert` and `pin materialize` exit statuses."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner
from dagster import DagsterInstance

from pin_assets.accounting import account_batch
from pin_assets.cli import main
from pin_assets.core.jsonl import read_jsonl
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.sources.listing import SAMPLE_PDF_DIR
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.conftest import make_text_pdf
from tests.hostile_corpus import form_bomb_pdf
from tests.pipeline_support import check_outcomes, read_records, run_batch

SEPARATORS = "Line\u2028Sep Para\u2029Sep Next\u0085Line"


def _pdf_with_metadata(text: str, title: str) -> bytes:
    doc = pymupdf.open(stream=make_text_pdf(text, 2), filetype="pdf")
    doc.set_metadata({"title": title, "author": "An\u2028Author", "subject": "Sub\u2029\u0085ject"})
    return doc.tobytes()


def _blank_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page()
    return doc.tobytes()


def _headerless(data: bytes) -> bytes:
    """The PDF without its ``%PDF-`` line, as a file whose first bytes were lost (it starts with the
    binary comment line and ``1 0 obj``); every viewer still opens it."""
    assert data.startswith(b"%PDF-")
    return data[data.index(b"\n") + 1 :]


def test_pdf_detection_like_pdf_readers() -> None:
    real = (SAMPLE_PDF_DIR / "multi_page.pdf").read_bytes()
    assert detect_kind(b"Mail gateway junk\r\n" * 40 + real, "a.txt") == "pdf"  # header at byte 760
    assert detect_kind(_headerless(real), "a.txt") == "pdf"
    assert detect_kind(_headerless(make_text_pdf("generated", 1)), "a.txt") == "pdf"
    assert detect_kind(b"Notes\n1 0 obj is how a PDF object starts.\nendobj\n", "notes.txt") == "text"
    assert detect_kind(b"x" * 1100 + real, "late.txt") == "pdf"  # header past 1 KiB: found by its objects


@pytest.fixture
def odd_batch(tmp_path: Path) -> Path:
    folder = tmp_path / "odd"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9-latin1-name.md")  # not UTF-8: decoded with a lone surrogate (U+DCE9)
    assert "\udce9" in name
    (folder / name).write_text("# Notes\n\nText with a next-line\u0085control and more words.\n\n- one\n- two\n")
    (folder / "separators.pdf").write_bytes(_pdf_with_metadata("Separators in the metadata", SEPARATORS))
    real = make_text_pdf("A generated paper whose header is lost", 2)
    (folder / "headerless.pdf").write_bytes(_headerless(real))
    (folder / "junk_first.pdf").write_bytes(b"HTTP/1.1 200 OK\r\nX-Junk: yes\r\n\r\n" * 8
                                             + make_text_pdf("A paper behind junk bytes", 1))
    (folder / "blank.pdf").write_bytes(_blank_pdf())
    return folder


def test_odd_names_separators_headers_and_empty_through_the_graph(tmp_path: Path, odd_batch: Path) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "odd", odd_batch, max_quarantine_rate=1.0)
        assert result.success
        checks = check_outcomes(result)
    assert checks and all(checks.values()), checks
    account = account_batch(storage, "odd")
    assert account.balanced and account.documents == 5 and not account.without_markdown
    records = {r["meta"]["ori_meta"]["filename"]: r for r in read_records(storage)}
    assert set(records) == {"caf\ufffd-latin1-name.md", "separators.pdf", "headerless.pdf", "junk_first.pdf"}
    assert "next-line\u0085control" in records["caf\ufffd-latin1-name.md"]["md"]
    meta = records["separators.pdf"]["meta"]["ori_meta"]
    assert (meta["title"], meta["author"], meta["subject"]) == (SEPARATORS, "An\u2028Author", "Sub\u2029\u0085ject")
    for name in ("headerless.pdf", "junk_first.pdf"):
        record = records[name]
        assert record["meta"]["oi_source"] == "ori" and len(record["overall_image"]) >= 1
        assert "generated paper whose header is lost" in record["md"] or "behind junk bytes" in record["md"]
        assert " obj" not in record["md"] and "endobj" not in record["md"]
    (jsonl,) = [k for k in storage.list_keys("export/pin") if k.endswith(".jsonl")]
    raw = storage.get_bytes(jsonl).decode()
    assert len(raw.splitlines()) == len(read_jsonl(raw)) == 4  # no separator left raw for a reader to split on
    (row,) = read_quarantine(storage, "odd").to_pylist()
    assert (row["source_uri"].rsplit("/", 1)[-1], row["stage"], row["reason"]) == ("blank.pdf", "parse", "empty")


def test_convert_goes_on_past_a_crashing_input(tmp_path: Path) -> None:
    """A good file, one whose worker is killed (a PDF "billion laughs" that spins past the timeout) and
    another good file: both good ones are converted, one line names the bad one, exit status 1."""
    good = tmp_path / "good.pdf"
    good.write_bytes(make_text_pdf("The first good document", 2))
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(form_bomb_pdf())
    other = tmp_path / "other.pdf"
    shutil.copy(SAMPLE_PDF_DIR / "2305.03393v1-pg9.pdf", other)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(good), str(bomb), str(other), "-o", str(out),
                                       "--format", "jpeg", "--dpi", "30", "--timeout", "20", "--workers", "2"])
    assert result.exit_code == 1, result.output
    errors = result.stderr.strip().split("\n")
    assert errors[0].startswith(f"pin convert: {bomb}: timeout: ") and "doc_timeout_s" in errors[0]
    assert errors[1] == "pin convert: 1 of 3 documents failed"
    for path in (good, other):
        record = json.loads((out / path.stem / f"{path.stem}.json").read_text())
        assert record["md"].strip() and (out / path.stem / f"{path.stem}.md").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["good", "other"]  # nothing half-written for the bomb


def test_materialize_exits_nonzero_when_an_error_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: `no_record_without_markdown` failed at ERROR severity and `pin materialize` still
    said ok and exited 0. The check is made to see one record as blank (the parse stage no longer lets a
    blank one through, so a real input cannot)."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(make_text_pdf("Zebra document", 1))
    (folder / "b.pdf").write_bytes(make_text_pdf("Another document", 1))
    monkeypatch.setattr("pin_assets.accounting.has_content", lambda md: "Zebra" not in md)
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}
    runner = CliRunner()
    assert runner.invoke(main, ["batch", "add", "checked", str(folder)], env=env).exit_code == 0
    run = runner.invoke(main, ["materialize", "checked", "--no-realsyn", "--set", "render_dpi=30"], env=env)
    assert run.exit_code == 1, run.output
    assert "conservation      ok: 2 = 2 + 0" in run.output
    assert "checks            FAILED pin_records/no_record_without_markdown" in run.output
    assert "asset check pin_records/no_record_without_markdown failed at ERROR severity" in run.stderr
