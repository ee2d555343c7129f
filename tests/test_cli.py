"""`pin` as a user runs it: convert files, register a folder as a batch, materialize, read quarantine."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pin_assets.cli import main
from pin_assets.core.image_refs import write_image_refs
from pin_assets.core.record import validate_record
from tests.conftest import corpus_dir, make_encrypted_pdf


def test_convert_writes_record_folder_and_fails_loudly(tmp_path: Path) -> None:
    pdf = corpus_dir("pdf") / "picture_classification.pdf"
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(make_encrypted_pdf())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(pdf), str(locked), "-o", str(out), "--format", "png"])
    assert result.exit_code == 1
    assert "locked.pdf: encrypted" in result.stderr and "password" in result.stderr
    folder = out / pdf.stem
    record = json.loads((folder / f"{pdf.stem}.json").read_text())
    validate_record(record)
    markdown = (folder / f"{pdf.stem}.md").read_text()
    assert "<img src='content_image/" in record["md"] and "<img" not in markdown, "tags in the record, ![]() in .md"
    assert write_image_refs(markdown, "html") == record["md"]
    assert record["content_image"], "the pictures are extracted"
    for path in record["content_image"] + record["overall_image"]:
        assert (folder / path).is_file(), path
    assert all(p.endswith(".png") for p in record["overall_image"])
    assert not (out / "locked").exists() or not any((out / "locked").rglob("*.json"))

    alone = CliRunner().invoke(main, ["convert", str(locked), "-o", str(tmp_path / "nothing")])
    assert alone.exit_code == 1 and not (tmp_path / "nothing").exists()  # no empty folder left behind

    tags = CliRunner().invoke(main, ["convert", str(pdf), "-o", str(tmp_path / "tags"), "--image-syntax", "html"])
    assert tags.exit_code == 0, tags.output
    assert (tmp_path / "tags" / pdf.stem / f"{pdf.stem}.md").read_text() == record["md"]


def test_batch_add_materialize_and_quarantine(tmp_path: Path, bad_batch: Path) -> None:
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}
    runner = CliRunner()
    added = runner.invoke(main, ["batch", "add", "mine", str(bad_batch), "--dataset", "reports"], env=env)
    assert added.exit_code == 0, added.output
    assert runner.invoke(main, ["batch", "list"], env=env).output.split() == ["mine"]
    # 4 of the 6 are broken on purpose: a bound above 2/3 lets the run through its blocking checks
    run = runner.invoke(main, ["materialize", "mine", "--no-realsyn", "--set", "max_quarantine_rate=0.7"], env=env)
    assert run.exit_code == 0, run.output
    assert "documents in      6" in run.output and "records out       2" in run.output
    assert "conservation      ok: 6 = 2 + 4" in run.output
    listed = runner.invoke(main, ["quarantine", "mine", "--json"], env=env)
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert sorted(r["reason"] for r in rows) == ["corrupt", "empty", "encrypted", "unsupported"]
    assert runner.invoke(main, ["materialize", "nope"], env=env).exit_code == 2
