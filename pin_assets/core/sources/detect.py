"""Decide which kind a raw document is, from its bytes first and its name last: the built-in kinds' sniffers.

File names in crawled corpora lie (a ``.txt`` that is really a PDF, an ``.xml`` that is an HTML page), so
the content decides: magic bytes for PDF and for binary formats we refuse, the XML root element for JATS,
HTML markers for HTML. The extension only breaks the one tie content cannot: Markdown versus plain text.

PDFs are recognised the way PDF readers recognise them: a ``%PDF-`` header anywhere in the first 1,024
bytes (Acrobat's rule; mail gateways and web servers put junk in front), and failing that, PDF object syntax
that MuPDF opens with at least one page (files whose header was cut off still open in every viewer).

The sniffers are registered with their kinds in :mod:`pin_assets.core.kinds`; :func:`detect_kind` runs them
in the registry's order, refusing binary content at :data:`~pin_assets.core.kinds.BINARY_GATE`.
"""

from __future__ import annotations

import re

from pin_assets.core import kinds
from pin_assets.core.document import ConversionError
from pin_assets.core.kinds import Probe

# Binary formats that are not documents we convert; checked before any text sniffing so that an image or
# archive never reaches a text decoder that would happily "decode" it with replacement characters.
_BINARY_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/XLSX)"),
    (b"PK\x05\x06", "empty ZIP archive"),
    (b"\x1f\x8b", "GZIP archive"),
    (b"BZh", "BZIP2 archive"),
    (b"\xfd7zXZ\x00", "XZ archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 file (old Office document)"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"%!PS", "PostScript file"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 image"),
    (b"BM", "BMP image"),
)

_SNIFF_BYTES = kinds.SNIFF_BYTES
PDF_HEADER = b"%PDF-"
_PDF_HEADER_WINDOW = 1024
_PDF_OBJECT = re.compile(rb"(?:^|[\r\n])\s*\d{1,10}\s+\d{1,5}\s+obj\b")
_JATS_NS = "http://jats.nlm.nih.gov"
_XML_START = re.compile(rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*|<\?.*?\?>\s*)*", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)([^>\[]*)", re.I)
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)([^>]*)>")
_HTML_MARKERS = re.compile(
    rb"<(html|head|body|meta|title|div|p|h[1-6]|table|ul|ol|span|a\s|img|script|style|section|article)\b",
    re.I,
)
_HTML_ONLY = re.compile(rb"<(div|span|h[1-6]|img|a\s+href|br|em|strong|script)\b", re.I)
_MARKDOWN_HINTS = re.compile(
    r"^(#{1,6}\s+\S|```|~~~|\s*[-*+]\s+\S|\s*\d+\.\s+\S|>\s|\|.*\|\s*$)|\[[^\]]+\]\([^)]+\)|!\[[^\]]*\]\(",
    re.M,
)


def detect_kind(data: bytes, filename: str | None = None) -> str:
    """The name of the registered kind whose sniffer first recognises ``data`` (``pdf``, ``jats``, ...).

    Raises :class:`ConversionError` (``empty``) for a file with no content and (``unsupported``) for
    binary formats and bytes that decode as no text, so the caller can quarantine with a reason.
    """
    if not data or not data.strip():
        raise ConversionError("empty", "the file is empty (zero bytes or only whitespace)")
    probe = Probe(data, filename)
    gated = False
    for kind in kinds.sniffed_kinds():
        if kind.priority >= kinds.BINARY_GATE and not gated:
            _refuse_binary(probe.head)
            gated = True
        if kind.sniff(probe):
            return kind.name
    if not gated:
        _refuse_binary(probe.head)
    if _text_sample(probe).lstrip("\ufeff \t\r\n").startswith("<?xml"):
        raise ConversionError("unsupported", "XML document that is neither JATS (<article>) nor XHTML")
    raise ConversionError("unsupported", "no registered kind recognises the file")


def sniff_pdf(probe: Probe) -> bool:
    """A ``%PDF-`` header in the first 1 KiB, or PDF object syntax MuPDF opens (see the module's docstring)."""
    return PDF_HEADER in probe.head[:_PDF_HEADER_WINDOW] or _is_headerless_pdf(probe.data, probe.head)


def sniff_jats(probe: Probe) -> bool:
    return _markup(probe) == "jats"


def sniff_html(probe: Probe) -> bool:
    return _markup(probe) == "html"


def sniff_markdown(probe: Probe) -> bool:
    """Markdown or text: a Markdown extension wins; without one, Markdown syntax in the text decides."""
    if _declares_xml(probe):
        return False
    if probe.extension.lstrip(".") in kinds.get("markdown").extensions:
        return True
    if probe.extension.lstrip(".") in kinds.get("text").extensions:
        return False
    sample = probe.data[:_SNIFF_BYTES].decode("utf-8", "replace")
    return len(_MARKDOWN_HINTS.findall(sample)) >= 3


def sniff_text(probe: Probe) -> bool:
    """Any text that no kind before claimed, except XML (an XML vocabulary we do not convert is refused)."""
    return not _declares_xml(probe)


def _text_sample(probe: Probe) -> str:
    if "sample" not in probe.memo:
        probe.memo["sample"] = _decode_sample(probe.head)
    return probe.memo["sample"]


def _markup(probe: Probe) -> str | None:
    if "markup" not in probe.memo:
        probe.memo["markup"] = _markup_kind(_text_sample(probe).encode("utf-8", "replace"))
    return probe.memo["markup"]


def _declares_xml(probe: Probe) -> bool:
    return _text_sample(probe).lstrip("\ufeff \t\r\n").startswith("<?xml")


def _is_headerless_pdf(data: bytes, head: bytes) -> bool:
    """PDF object syntax near the start (``1 0 obj``) in a file MuPDF opens with at least one page.

    MuPDF is only asked when the syntax is there, so ordinary text pays a regular-expression search.
    """
    if not _PDF_OBJECT.search(head):
        return False
    import pymupdf

    try:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            return doc.needs_pass or doc.page_count > 0
    except Exception:  # MuPDF's own classes or RuntimeError: either way, not a PDF it can read
        return False


def with_pdf_header(data: bytes) -> bytes:
    """The bytes of a detected PDF as the converter opens them: with a ``%PDF-`` header in the first 1 KiB.

    A headerless PDF (see :func:`detect_kind`) gets one in front; MuPDF rebuilds the object offsets, as it
    must for such a file anyway. Every other file is returned as it is.
    """
    if PDF_HEADER in data[:_PDF_HEADER_WINDOW]:
        return data
    return b"%PDF-1.7\n" + data


def _refuse_binary(head: bytes) -> None:
    """Raise ``unsupported`` for known binary magics and for bytes that look like no text at all."""
    stripped = head.lstrip(b"\xef\xbb\xbf")
    for magic, what in _BINARY_MAGICS:
        if stripped.startswith(magic):
            raise ConversionError("unsupported", f"{what} is not a supported document format")
    if stripped[:4] == b"RIFF" and stripped[8:12] == b"WEBP":
        raise ConversionError("unsupported", "WebP image is not a supported document format")
    if _looks_binary(stripped):
        raise ConversionError("unsupported", "binary content that is not text, PDF, XML or HTML")


def _looks_binary(head: bytes) -> bool:
    """Many control characters (NUL among them) mean binary, unless the text is UTF-16 (BOM present).

    A few stray NUL bytes do not: crawled HTML carries them, and browsers (and the converters) read such a
    page. Binary data has NUL and other controls in about a tenth of its bytes, far above the threshold.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > max(8, len(head) // 20)


def _decode_sample(head: bytes) -> str:
    """Decode the sniffed prefix loosely; only markers are looked for, so replacement is harmless."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace").lstrip("\ufeff")
    return head.decode("utf-8", "replace").lstrip("\ufeff")


def _markup_kind(head: bytes) -> str | None:
    """``jats`` for an XML document whose root is ``article``, ``html`` for HTML, else ``None``."""
    body = head[_XML_START.match(head).end() :]
    doctype = _DOCTYPE.match(body)
    if doctype:
        name = doctype.group(1).lower()
        if name == b"html":
            return "html"
        if name == b"article":
            return "jats"
        body = body[_doctype_end(body, doctype.end()) :].lstrip()
        body = body[_XML_START.match(body).end() :]
    root = _ROOT_TAG.match(body)
    if root:
        tag = root.group(1).lower().split(b":")[-1]
        if tag == b"article":
            return "html" if _is_html_fragment(head) else "jats"
        if tag == b"html":
            return "html"
    if _HTML_MARKERS.search(head) and head.lstrip().startswith(b"<"):
        return "html"
    if len(_HTML_MARKERS.findall(head)) >= 3 and re.search(rb"</(p|div|body|html|table)>", head, re.I):
        return "html"
    return None


def _doctype_end(body: bytes, start: int) -> int:
    """Index just past a DOCTYPE, skipping an internal subset ``[...]`` whose declarations hold '>' too."""
    bracket, close = body.find(b"[", start), body.find(b">", start)
    if bracket != -1 and (close == -1 or bracket < close):
        end = body.find(b"]", bracket)
        close = body.find(b">", end) if end != -1 else -1
    return close + 1 if close != -1 else len(body)


def _is_html_fragment(head: bytes) -> bool:
    """An ``<article>`` root is JATS unless it carries HTML-only tags and none of JATS' front matter."""
    if _JATS_NS.encode() in head or b"xlink" in head or b"<front" in head or b"article-type" in head:
        return False
    return bool(_HTML_ONLY.search(head))
