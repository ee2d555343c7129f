"""The kind registry: a kind registered from a test goes through `pin convert` with no other edit (and through
the asset graph: tests/test_mixed_batch.py); every list of kinds is the registry's; ingest and the door check
triage files alike."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pin_assets.cli import main
from pin_assets.core import kinds
from pin_assets.core.kinds import SourceKind
from pin_assets.core.sources.check import SourceProblem, check_source
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.core.sources.triage import FileBytes, triage
from tests.test_epub import two_chapter_book
from tests.toy_kind import toy_file

README = Path(__file__).resolve().parents[1] / "README.md"


def test_a_kind_registered_here_converts_through_pin_convert(tmp_path: Path, toy_kind: SourceKind) -> None:
    source = toy_file(tmp_path)
    result = CliRunner().invoke(main, ["convert", "-o", str(tmp_path / "out"), "--workers", "1", str(source)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "notes" / "notes.json").read_text())
    assert record["md"].startswith("# Field Notes\n\nThe heron waited")
    assert record["meta"]["ori_meta"]["toy"] == "yes" and record["meta"]["oi_source"] == "compiling"
    assert len(record["overall_image"]) == 1
    assert "toy notes" in kinds.accepted_labels()


def test_readme_kinds_table_is_the_registry() -> None:
    assert kinds.kinds_table() in README.read_text(encoding="utf-8"), "regenerate with kinds.kinds_table()"


def tar_of_images() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        png = (SAMPLE_DIR / "html" / "example_image_01.png").read_bytes()
        info = tarfile.TarInfo("00000/0001.png")
        info.size = len(png)
        tar.addfile(info, io.BytesIO(png))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "role", "kind"),
    [
        ("paper.pdf", (SAMPLE_DIR / "pdf" / "multi_page.pdf").read_bytes(), "document", "pdf"),
        ("book.epub", two_chapter_book(), "document", "epub"),
        ("duck.png", (SAMPLE_DIR / "html" / "example_image_01.png").read_bytes(), "image", None),
        ("images.tar", tar_of_images(), "image_archive", None),
        ("crawl.warc", b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n", "container", "warc"),
        ("rows.jsonl", b'{"texts": ["a", null], "images": [null, "http://x/1.png"]}\n' + b" " * 70_000,
         "container", "dataset"),
        ("blob.bin", bytes(range(256)) * 300, "document", "unknown"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "",
)
def test_one_triage_for_ingest_and_the_door(tmp_path: Path, name, data, role, kind) -> None:
    """Ingest holds a file's bytes; the door reads its first 64 KiB and the rest only when a sniffer asks."""
    path = tmp_path / name
    path.write_bytes(data)
    held, lazy = triage(FileBytes.of(name, data)), triage(FileBytes.at(path))
    assert held == lazy and (held.role, held.kind) == (role, kind)


def test_door_message_names_every_registered_kind(tmp_path: Path, toy_kind: SourceKind) -> None:
    (tmp_path / "duck.png").write_bytes((SAMPLE_DIR / "html" / "example_image_01.png").read_bytes())
    with pytest.raises(SourceProblem) as caught:
        check_source(str(tmp_path))
    for entry in (*kinds.sniffed_kinds(), *kinds.containers()):
        assert entry.label in str(caught.value)
    toy_file(tmp_path)
    assert check_source(str(tmp_path)).first_kind == "toy"
