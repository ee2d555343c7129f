"""A batch mixing every source kind, with figures beside their documents and bad inputs among them: the built-in
kinds, EPUB books (one good, one DRM-locked, one zip bomb), and a kind the test registers (tests/toy_kind.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pin_assets.accounting import account_batch
from pin_assets.core.kinds import SourceKind
from pin_assets.core.sources.listing import SAMPLE_DIR
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.conftest import make_text_pdf
from tests.pipeline_support import read_records, run_batch
from tests.test_epub import ADEPT_AES, two_chapter_book
from tests.toy_kind import toy_file


@pytest.fixture
def mixed_batch(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    (folder / "pmc").mkdir(parents=True)
    (folder / "web" / "img").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "jats" / "pone.0234687.nxml", folder / "pmc" / "pone.0234687.nxml")
    (folder / "pmc" / "pone.0234687.pdf").write_bytes(make_text_pdf("The article's own pages", 3))
    shutil.copy(SAMPLE_DIR / "html" / "example_image_01.png", folder / "web" / "img" / "duck.png")
    page = (SAMPLE_DIR / "html" / "example_01.html").read_text().replace("example_image_01.png", "img/duck.png")
    (folder / "web" / "page.html").write_text(page)
    (folder / "notes.md").write_text("# Notes\n\nSome *emphasis* and a list:\n\n- one\n- two\n")
    prose = "Caf\u00e9 na\u00efve fa\u00e7ade, a long line of prose.\n\n"
    (folder / "book.txt").write_bytes(prose.encode("cp1252") * 40)
    (folder / "broken.xml").write_bytes(b'<?xml version="1.0"?><article><front><article-meta><title-group>')
    (folder / "bomb.xml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<article><body><p>&lol2;</p></body></article>"
    )
    (folder / "tagsoup.html").write_bytes(b"<html><body><div><p>Unclosed <b>bold <i>text</p><table><tr><td>cell")
    (folder / "zero.txt").write_bytes(b"")
    (folder / "site").mkdir()
    (folder / "site" / "ducks.html").write_text(  # a figure one folder up, beside another page
        "<html><body><article><h1>Ducks</h1><p>" + "A duck is a waterbird with a broad flat bill. " * 8
        + '</p><img src="../web/img/duck.png" alt="a duck"></article></body></html>')
    (folder / "book.epub").write_bytes(two_chapter_book())
    drm = ('<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
           'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
           f'Algorithm="{ADEPT_AES}"/><enc:CipherData><enc:CipherReference URI="OEBPS/text/two%20b.xhtml"/>'
           "</enc:CipherData></enc:EncryptedData></encryption>")
    (folder / "locked.epub").write_bytes(two_chapter_book({"META-INF/encryption.xml": drm}))
    (folder / "bomb.epub").write_bytes(two_chapter_book({"OEBPS/text/one.xhtml": b"\0" * (4 * 2**20)}))
    toy_file(folder)
    return folder


def test_every_kind_through_the_graph(tmp_path: Path, mixed_batch: Path, toy_kind: SourceKind) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "mixed", mixed_batch, max_quarantine_rate=1.0)
    assert result.success
    account = account_batch(storage, "mixed")
    assert account.balanced
    records = {r["meta"]["ori_meta"]["filename"]: r for r in read_records(storage)}
    quarantined = {row["source_uri"].rsplit("/", 1)[-1]: row for row in read_quarantine(storage, "mixed").to_pylist()}
    # The PDF beside the article is its pages, not a document of its own: 15 files, 1 image, 1 paired PDF.
    assert account.documents == 13 == len(records) + len(quarantined)
    assert set(records) == {"pone.0234687.nxml", "page.html", "notes.md", "book.txt", "tagsoup.html",
                            "ducks.html", "book.epub", "notes.toy"}
    reasons = {name: row["reason"] for name, row in quarantined.items()}
    assert reasons == {"broken.xml": "corrupt", "bomb.xml": "unsafe", "zero.txt": "empty",
                       "locked.epub": "encrypted", "bomb.epub": "unsafe"}
    article = records["pone.0234687.nxml"]
    assert article["meta"]["oi_source"] == "ori" and len(article["overall_image"]) == 3
    assert article["meta"]["ori_meta"].get("doi")
    web = records["page.html"]
    assert web["meta"]["oi_source"] == "compiling" and len(web["content_image"]) == 1
    assert web["md"].index("## Background") < web["md"].index("content_image/")
    assert len(records["ducks.html"]["content_image"]) == 1  # ../web/img/duck.png, inside the source
    epub = records["book.epub"]
    assert epub["meta"]["ori_meta"]["author"] == "Ann Author; Bo Second" and len(epub["content_image"]) == 2
    assert epub["meta"]["oi_source"] == "compiling" and epub["overall_image"]
    assert epub["md"].index("# Chapter One") < epub["md"].index("# Chapter Two")
    toy = records["notes.toy"]
    assert toy["md"].startswith("# Field Notes") and toy["meta"]["ori_meta"]["toy"] == "yes"
    book = records["book.txt"]
    assert "Caf\u00e9 na\u00efve fa\u00e7ade" in book["md"]
    assert len(book["overall_image"]) == len(book["meta"]["ori_meta"]["page_offsets"]) >= 1
