"""One sanitizer for every string that goes to storage.

Python strings may hold code points UTF-8 cannot encode: lone surrogates, which arrive from MuPDF
warnings, from file names decoded with ``surrogateescape`` and from broken UTF-16 in documents. pyarrow,
SQLite (Dagster's event log) and ``str.encode()`` all raise ``UnicodeEncodeError`` on them, so one such
string in one document's warning once failed a whole batch's Parquet write. Every writer (Parquet rows,
quarantine rows, JSON and JSON Lines, Markdown files, log lines) passes its strings through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """``text`` with every code point UTF-8 cannot encode replaced by U+FFFD.

    A surrogate pair that was split into two code points (UTF-16 read as UCS-2) is joined back into its
    character; only a lone half becomes U+FFFD. Valid strings, the common case, are returned as they are.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def clean_value(value: Any) -> Any:
    """:func:`clean_text` applied to every string inside lists, tuples and dicts (keys too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    return value
