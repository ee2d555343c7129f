"""Shared fixtures: the real corpus, generated bad documents, and resources pointed at temp folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest

from pin_assets.core import kinds
from pin_assets.core.kinds import SourceKind
from pin_assets.core.sources.listing import SAMPLE_PDF_DIR
from tests.toy_kind import TOY

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"


def corpus_dir(kind: str) -> Path:
    """The shared corpus folder of a kind, or the bundled copy of the PDFs when shared/ is absent."""
    shared = SHARED_CORPUS / kind
    if shared.is_dir():
        return shared
    if kind == "pdf":
        return SAMPLE_PDF_DIR
    pytest.skip(f"shared corpus folder {shared} not present")


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exported encoder graphs go to a folder of this test run, never the user's cache, and the text encoder's
    ``auto`` runtime is pinned to PyTorch for runs built from the environment (the CLI, the definitions):
    exporting the ONNX graph costs tens of seconds, so the tests that use the exported runtimes
    (tests/test_embeddings.py, the bench smoke run) share one export per test run."""
    folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one folder for all workers of the run: one export, not one each
        folder = folder.parent
    folder = folder / "model-cache"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIN_MODEL_CACHE", str(folder))
        patch.setenv("PIN_EMBEDDINGS_RUNTIME", "torch")
        yield folder


@pytest.fixture
def toy_kind() -> Iterator[SourceKind]:
    """The toy kind of :mod:`tests.toy_kind`, registered for one test: no other edit makes it a kind."""
    kinds.register(TOY)
    try:
        yield TOY
    finally:
        kinds.unregister(TOY.name)


@pytest.fixture
def small_pdf_batch(tmp_path: Path) -> Path:
    """Three real PDFs (multi-page, pictures, a 2-column paper page) as a batch source folder."""
    folder = tmp_path / "batch-src"
    folder.mkdir()
    for name in ("multi_page.pdf", "picture_classification.pdf", "2305.03393v1-pg9.pdf"):
        shutil.copy(SAMPLE_PDF_DIR / name, folder / name)
    return folder


WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar",
]


def write_distinct_copies(folder: Path, pdf: Path, count: int) -> None:
    """``count`` copies of a PDF with different trailing comments: distinct documents, identical pages."""
    data = pdf.read_bytes()
    for index in range(count):
        (folder / f"copy{index:02d}.pdf").write_bytes(data + b"\n%% copy %d\n" % index)


def make_text_pdf(text: str = "Hello world", pages: int = 1) -> bytes:
    """A PDF whose pages carry different body text in mid-page (so none of it looks like a running header)."""
    doc = pymupdf.open()
    for index in range(pages):
        page = doc.new_page()
        words = " ".join(WORDS[(index + i) % len(WORDS)] for i in range(12))
        page.insert_textbox(pymupdf.Rect(72, 300, 520, 500), f"{text}. Section {index + 1}: {words}.", fontsize=11)
    return doc.tobytes()


def make_encrypted_pdf() -> bytes:
    doc = pymupdf.open(stream=make_text_pdf("secret"), filetype="pdf")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")


@pytest.fixture
def bad_batch(tmp_path: Path) -> Path:
    """Good PDFs mixed with a truncated one, an encrypted one, an empty file and a non-PDF binary."""
    folder = tmp_path / "bad-src"
    folder.mkdir()
    shutil.copy(SAMPLE_PDF_DIR / "multi_page.pdf", folder / "good.pdf")
    (folder / "good2.pdf").write_bytes(make_text_pdf("A second good document with enough words to detect", 2))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.5\n" + bytes(range(7, 250)) * 40)
    (folder / "encrypted.pdf").write_bytes(make_encrypted_pdf())
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "image.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return folder
