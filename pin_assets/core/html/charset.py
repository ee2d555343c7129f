"""Which character set an HTML page is in, decided the way browsers do, in the same order.

A byte-order mark wins; then the HTTP ``Content-Type`` header (a WARC record carries it); then an XML
declaration's encoding, a ``<meta charset>`` or ``<meta http-equiv="Content-Type" content="...;
charset=...">`` in the first bytes;
then UTF-8 if the bytes are valid UTF-8; last a statistical guess (charset-normalizer), with a warning,
because a crawl holds many legacy pages that declare nothing.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from pin_assets.core.document import ConversionError

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_SNIFF = 4096
_MIN_GUESS_BYTES = 2048  # below this a statistical guess is a coin toss: windows-1252, the web's default
# WHATWG: a page labelled as Latin-1 or ASCII is decoded as windows-1252, which Latin-1 pages really are.
_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, list[str]]:
    """The page's text and warnings about its decoding; ``empty`` for a page of only whitespace."""
    if not data.strip():
        raise ConversionError("empty", "the HTML file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, "replace"), []
    declared = []
    if content_type and (match := _HEADER_CHARSET.search(content_type)):
        declared.append(match.group(1))
    if match := _XML_ENCODING.match(data[:_SNIFF]):
        declared.append(match.group(1).decode("ascii"))
    declared += [m.group(1).decode("ascii", "replace") for m in _META_CHARSET.finditer(data[:_SNIFF])]
    for name in declared:
        encoding = _codec(name)
        if encoding is None:
            continue
        try:
            return data.decode(encoding), []
        except UnicodeDecodeError:
            return data.decode(encoding, "replace"), [f"bytes invalid in the declared charset {name}; replaced"]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[: 2**20]).best() if len(data) >= _MIN_GUESS_BYTES else None
    if best is not None and best.encoding:
        guess = f"HTML declares no charset and is not UTF-8; guessed {best.encoding}"
        return data.decode(best.encoding, "replace"), [guess]
    return data.decode("cp1252", "replace"), ["HTML is not valid UTF-8 and declares no charset; read as windows-1252"]


def _codec(name: str) -> str | None:
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
