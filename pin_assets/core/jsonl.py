"""JSON Lines, written and read one way everywhere: one record per ``\\n``, nothing else splits a record.

``json.dumps(..., ensure_ascii=False)`` keeps U+2028, U+2029 and U+0085 raw inside strings, and
``str.splitlines()`` (and many readers in other languages) treat them as line ends, which cut records in
two. The writer escapes those three code points (inside JSON strings, the only place they can occur, so
the escapes decode back to the same text) and the reader splits on ``\\n`` only, in bytes, before
decoding, so files from older writers that kept them raw read correctly too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pin_assets.core.text import clean_value

_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def dumps_line(record: Any) -> str:
    """One JSON Lines record with its newline: UTF-8-safe strings, no code point a reader may split on."""
    text = json.dumps(clean_value(record), ensure_ascii=False)
    for raw, escaped in _LINE_BREAKERS.items():
        if raw in text:
            text = text.replace(raw, escaped)
    return text + "\n"


def write_jsonl(out: IO[str], records: Iterable[Any]) -> int:
    """Write records to a text stream opened with ``encoding="utf-8"``; return how many were written."""
    count = 0
    for record in records:
        out.write(dumps_line(record))
        count += 1
    return count


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Non-blank lines of a byte stream given in chunks, split on ``\\n`` only."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from (line for line in lines if line.strip())
    if rest.strip():
        yield rest


def iter_jsonl(source: bytes | str | IO[bytes], chunk_size: int = 1 << 20) -> Iterator[Any]:
    """The records of a JSON Lines document (bytes, text, or a binary file read in chunks); blank lines skipped."""
    if isinstance(source, str):
        chunks: Iterable[bytes] = [source.encode("utf-8")]
    elif isinstance(source, bytes | bytearray):
        chunks = [bytes(source)]
    else:
        chunks = iter(lambda: source.read(chunk_size), b"")
    for line in iter_lines(chunks):
        yield json.loads(line)


def read_jsonl(data: bytes | str) -> list[Any]:
    return list(iter_jsonl(data))
