"""Strings MuPDF, file systems and broken documents hand us reach storage as valid UTF-8, and JSON Lines
records survive every code point that some reader treats as a line end."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq

from pin_assets.core.isolation import TaskFailure
from pin_assets.core.jsonl import dumps_line, read_jsonl, write_jsonl
from pin_assets.core.tables import MARKDOWN, RowGroupWriter
from pin_assets.core.text import clean_text, clean_value
from pin_assets.quarantine import quarantine_row, read_quarantine, write_quarantine
from resources import StorageResource

SEPARATORS = "line\u2028sep para\u2029sep next\u0085line"


def test_clean_text_replaces_only_what_utf8_cannot_hold() -> None:
    assert clean_text("warning \udcb1 from MuPDF") == "warning \ufffd from MuPDF"
    assert clean_text("split pair \ud83d\ude00 joined") == "split pair \U0001f600 joined"
    assert clean_text(SEPARATORS) == SEPARATORS  # valid characters stay
    assert clean_value({"k\udcb1": ["\ud800", ("x", 3)]}) == {"k\ufffd": ["\ufffd", ("x", 3)]}


def test_quarantine_with_a_lone_surrogate_is_written_and_read(tmp_path) -> None:
    """The batch-killing case: a MuPDF warning holding U+DCB1 in a quarantine message and a file name."""
    storage = StorageResource(base_uri=str(tmp_path))
    doc = {"doc_id": "d1", "source_uri": "file:///in/bad\udcb1name.pdf"}
    failure = TaskFailure("corrupt", "FzErrorFormat", "MuPDF warning: bad glyph \udcb1 in font")
    assert write_quarantine(storage, "b", "parse", [quarantine_row(doc, "parse", failure)]) == 1
    (row,) = read_quarantine(storage, "b").to_pylist()
    assert row["message"] == "MuPDF warning: bad glyph \ufffd in font"
    assert row["source_uri"] == "file:///in/bad\ufffdname.pdf"


def test_markdown_rows_with_surrogates_are_written(tmp_path) -> None:
    path = tmp_path / "md.parquet"
    row = {"doc_id": "d", "kind": "pdf", "markdown": "text \udcb1", "images": [], "page_offsets": [0],
           "page_count": 1, "scanned_pages": [], "title": "t\udcb1", "language": None,
           "metadata_json": "{}", "warnings": ["MuPDF: \udcb1 glyph"]}
    with RowGroupWriter(path, MARKDOWN) as out:
        out.add(row)
    (back,) = pq.read_table(path).to_pylist()
    assert (back["markdown"], back["title"], back["warnings"]) == ("text \ufffd", "t\ufffd", ["MuPDF: \ufffd glyph"])


def test_jsonl_keeps_records_whole() -> None:
    records = [{"id": 1, "md": SEPARATORS}, {"id": 2, "md": "plain\nnewline", "bad": "\udcb1"}]
    out = io.StringIO()
    assert write_jsonl(out, records) == 2
    text = out.getvalue()
    assert len(text.splitlines()) == 2  # no raw separator left for splitlines to cut at
    back = read_jsonl(text.encode())
    assert back[0] == records[0] and back[1]["bad"] == "\ufffd"
    # Files from writers that kept the separators raw read correctly too.
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:1]) * 2
    assert len(raw.splitlines()) > 2 and read_jsonl(raw) == [records[0]] * 2
    assert dumps_line({"a": "\u2028"}) == '{"a": "\\u2028"}\n'
