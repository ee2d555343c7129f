"""The kind registry: a kind registered from here goes through `pin convert` and the asset graph with no other
edit; every list of kinds is the registry's; ingest and the door check triage files alike."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance

from pin_assets.accounting import account_batch
from pin_assets.cli import main
from pin_assets.core import kinds
from pin_assets.core.document import ParsedDocument
from pin_assets.core.kinds import ConvertJob, Probe, SourceKind
from pin_assets.core.sources.check import SourceProblem, check_source
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.core.sources.triage import FileBytes, triage
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.pipeline_support import read_records, run_batch
from tests.test_epub import ADEPT_AES, two_chapter_book

README = Path(__file__).resolve().parents[1] / "README.md"
TOY_MAGIC = b"TOYDOC 1\n"


def sniff_toy(probe: Probe) -> bool:
    return probe.data.startswith(TOY_MAGIC)


def convert_toy(data: bytes, job: ConvertJob) -> ParsedDocument:
    """``TOYDOC 1`` then ``title: ...`` then paragraphs: the title as a heading, each paragraph kept."""
    head, _, body = data[len(TOY_MAGIC):].decode().partition("\n")
    title = head.removeprefix("title: ").strip()
    return ParsedDocument(markdown=f"# {title}\n\n{body.strip()}\n", title=title, metadata={"toy": "yes"})


TOY = SourceKind(name="toy", label="toy notes", mime="text/x-toy", extensions=("toy",), sniffer=sniff_toy,
                 converter=convert_toy, priority=105, description="toy notes (registered by a test)")


@pytest.fixture
def toy_kind() -> Iterator[SourceKind]:
    kinds.register(TOY)
    try:
        yield TOY
    finally:
        kinds.unregister("toy")


def toy_file(folder: Path, name: str = "notes.toy") -> Path:
    path = folder / name
    path.write_bytes(TOY_MAGIC + b"title: Field Notes\nThe heron waited in the reeds until dusk.\n")
    return path


def test_a_kind_registered_here_converts_through_pin_convert(tmp_path: Path, toy_kind: SourceKind) -> None:
    source = toy_file(tmp_path)
    result = CliRunner().invoke(main, ["convert", "-o", str(tmp_path / "out"), "--workers", "1", str(source)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "notes" / "notes.json").read_text())
    assert record["md"].startswith("# Field Notes\n\nThe heron waited")
    assert record["meta"]["ori_meta"]["toy"] == "yes" and record["meta"]["oi_source"] == "compiling"
    assert len(record["overall_image"]) == 1
    assert "toy notes" in kinds.accepted_labels()


def test_kinds_toy_epub_and_dotdot_references_through_the_graph(tmp_path: Path, toy_kind: SourceKind) -> None:
    """A toy document, EPUBs (a good one, a DRM one, a bomb) and a page that shows ``../img/duck.png``:
    every document is a record or quarantined with its reason, and the counts balance."""
    folder = tmp_path / "src"
    (folder / "img").mkdir(parents=True)
    (folder / "site").mkdir()
    toy_file(folder)
    (folder / "book.epub").write_bytes(two_chapter_book())
    drm = ('<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
           'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
           f'Algorithm="{ADEPT_AES}"/><enc:CipherData><enc:CipherReference URI="OEBPS/text/two%20b.xhtml"/>'
           "</enc:CipherData></enc:EncryptedData></encryption>")
    (folder / "locked.epub").write_bytes(two_chapter_book({"META-INF/encryption.xml": drm}))
    (folder / "bomb.epub").write_bytes(two_chapter_book({"OEBPS/text/one.xhtml": b"\0" * (4 * 2**20)}))
    (folder / "img" / "duck.png").write_bytes((SAMPLE_DIR / "html" / "example_image_01.png").read_bytes())
    (folder / "site" / "page.html").write_text(
        "<html><body><article><h1>Ducks</h1><p>" + "A duck is a waterbird with a broad flat bill. " * 8
        + '</p><img src="../img/duck.png" alt="a duck"></article></body></html>')
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "kinds", folder, max_quarantine_rate=1.0)
    assert result.success
    account = account_batch(storage, "kinds")
    assert account.balanced and account.documents == 5
    records = {r["meta"]["ori_meta"]["filename"]: r for r in read_records(storage)}
    reasons = {row["source_uri"].rsplit("/", 1)[-1]: row["reason"]
               for row in read_quarantine(storage, "kinds").to_pylist()}
    assert set(records) == {"notes.toy", "book.epub", "page.html"}
    assert reasons == {"locked.epub": "encrypted", "bomb.epub": "unsafe"}
    assert records["notes.toy"]["md"].startswith("# Field Notes")
    book = records["book.epub"]
    assert book["meta"]["ori_meta"]["author"] == "Ann Author; Bo Second" and len(book["content_image"]) == 2
    assert book["meta"]["oi_source"] == "compiling" and book["overall_image"]
    assert len(records["page.html"]["content_image"]) == 1  # ../img/duck.png, resolved inside the source


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
