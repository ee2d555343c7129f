"""JSON Lines, read and written one way: a record per ``\\n``-terminated line, UTF-8, nothing else.

``json.dumps(..., ensure_ascii=False)`` keeps U+2028, U+2029 and U+0085 raw inside strings, and
``str.splitlines()`` splits on them, so a reader that uses it cuts such a record in two. Lines are
therefore split on ``\\n`` only, in bytes, before decoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any


def dumps_line(record: Any) -> str:
    """One JSON Lines line (with its ``\\n``): compact, non-ASCII kept as UTF-8."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Non-blank lines of a byte stream given in chunks, split on ``\\n`` only."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from (line for line in lines if line.strip())
    if rest.strip():
        yield rest


def iter_jsonl(source: bytes | IO[bytes], chunk_size: int = 1 << 20) -> Iterator[Any]:
    """Decode each line of a JSON Lines file (whole bytes, or a binary file object read in chunks)."""
    if isinstance(source, bytes | bytearray):
        chunks: Iterable[bytes] = [bytes(source)]
    else:
        chunks = iter(lambda: source.read(chunk_size), b"")
    for line in iter_lines(chunks):
        yield json.loads(line)
