"""The fuzz corpus (tests/fuzz_corpus.py) as one batch through the whole graph.

The run succeeds, every document is accounted for, no document fails with an exception nothing expected
(quarantine reason "error"), and every variant from which plain PyMuPDF extracts text is converted.
The default corpus is sized for CI; ``PIN_FUZZ_SEED``, ``PIN_FUZZ_PDF`` and ``PIN_FUZZ_MARKUP`` raise it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pin_assets.accounting import account_batch
from pin_assets.core.convert import parse_document
from pin_assets.core.document import ConversionError
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.sources.detect import detect_kind
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.fuzz_corpus import PDF_MUTATIONS, SAMPLE, SHARED, fuzz_size, fuzz_variants, mupdf_has_text, write_variants
from tests.pipeline_support import read_records, run_batch


def test_fuzzed_batch_through_the_graph(tmp_path: Path) -> None:
    seed, pdf, markup = fuzz_size()
    variants = fuzz_variants(seed, pdf, markup)
    assert {v.kind for v in variants} >= set(PDF_MUTATIONS)
    source = tmp_path / "fuzz"
    write_variants(source, variants)
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "fuzz", source, max_quarantine_rate=1.0)
    assert result.success

    account = account_batch(storage, "fuzz")
    assert account.balanced and account.documents == len(variants), account
    quarantined = {r["source_uri"].rsplit("/", 1)[-1]: r for r in read_quarantine(storage, "fuzz").to_pylist()}
    records = {r["meta"]["ori_meta"]["filename"] for r in read_records(storage)}
    errors = {name: row["message"][:200] for name, row in quarantined.items() if row["reason"] == "error"}
    assert errors == {}, errors
    assert {v.name for v in variants} == set(quarantined) | records
    readable = [v.name for v in variants if v.name.endswith(".pdf") and mupdf_has_text(v.data)]
    lost = {name: (quarantined[name]["reason"], quarantined[name]["message"][:200])
            for name in readable if name not in records}
    assert lost == {}, lost
    assert readable and records


def test_stray_nul_bytes_leave_a_page_html() -> None:
    """Found by the fuzz run: one NUL byte made a web page "binary content" and unsupported, while
    browsers and the HTML converter read it; binary data still has far more control bytes."""
    page = (SHARED / "html" / "formatting.html").read_bytes() if (SHARED / "html").is_dir() else (
        SAMPLE / "html" / "formatting.html").read_bytes()
    damaged = page[:300] + b"\x00" + page[300:900] + b"\x00\x00" + page[900:]
    assert detect_kind(damaged, "page.html") == "html"
    markdown = parse_document(damaged, "html", DocumentLimits()).markdown
    assert "Sometimes we combine them like *italic + emphasis together*." in markdown
    with pytest.raises(ConversionError, match="binary content"):
        detect_kind(random.Random(1).randbytes(4096), "blob.html")
