"""Plain text and Markdown sources (PG19 books, Leetcode, Linux-CN) to normalized Markdown.

Text corpora arrive in every encoding and newline convention; the PIN record wants one clean Markdown
string. Markdown is kept as written (it is already the target format) apart from whitespace normalization
outside code blocks, which markdown-it-py locates so that code indentation and blank lines survive.
Plain text becomes paragraphs, with the characters Markdown would misread escaped.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from charset_normalizer import from_bytes
from markdown_it import MarkdownIt

from pin_assets.core.document import ConversionError, ParsedDocument

if TYPE_CHECKING:
    from pin_assets.core.kinds import ConvertJob

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUN = re.compile(r"\n{3,}")
_HARD_BREAK = re.compile(r"[ \t]{2,}$")
_TEXT_ESCAPE = re.compile(r"([\\`*_<>\[\]])")
_LINE_START_MARK = re.compile(r"^(\s*)(#{1,6}\s|[-+]\s|=+\s*$|-{3,}\s*$|(\d{1,9})([.)])\s|\|)")
_WRAPPED_MIN_MEDIAN = 40
_TITLE_MAX_CHARS = 120
_TIE_CHAOS = 0.1
_WIDE_TIE_CHAOS = 0.2
_CP1252_MARKS = frozenset("\u20ac\u201a\u201e\u2026\u2020\u2021\u2030\u2039\u203a\u2018\u2019\u201c\u201d"
                          "\u2022\u2013\u2014\u2122\u00a0\u00a9\u00ae\u00b0\u00ab\u00bb\u00a7\u00b7\u0152\u0153")


def convert_markdown(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``markdown`` kind's converter."""
    return text_to_markdown(data, is_markdown=True)


def convert_text(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``text`` kind's converter."""
    return text_to_markdown(data, is_markdown=False)


def text_to_markdown(data: bytes, *, is_markdown: bool) -> ParsedDocument:
    """Decode, normalize and (for plain text) paragraph a text document.

    Raises ``ConversionError("empty")`` when nothing but whitespace remains.
    """
    text, warnings = decode_text(data)
    text = _normalize_unicode(text)
    if not text.strip():
        raise ConversionError("empty", "the text file has no content after decoding")
    markdown = _normalize_markdown(text) if is_markdown else _paragraphs_from_text(text)
    title = _markdown_title(markdown) if is_markdown else _text_title(text)
    return ParsedDocument(markdown=markdown, title=title, warnings=warnings)


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else charset-normalizer's guess with a warning.

    A wrong guess is better than a lost document, so the last resort is cp1252 with replacement,
    which never fails; every fallback is named in the warnings so signals can flag it.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    encoding = _guess_encoding(data)
    if encoding is not None:
        note = f"text is not UTF-8; decoded as {encoding} (charset-normalizer guess)"
        return data.decode(encoding, "replace"), [note]
    return data.decode("cp1252", "replace"), ["text is not UTF-8 and no charset was detected; cp1252 used"]


def _guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess, except that cp1252 wins (near) ties.

    Single-byte Western text is about equally "valid" in cp1250/cp1252/cp775, and on short texts the
    language-coherence score that orders such ties is noise; cp1252 is by far the most common legacy
    encoding of the corpora we ingest.
    """
    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    window = _WIDE_TIE_CHAOS if _western_in_cp1252(data) else _TIE_CHAOS
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + window:
            return "cp1252"
    return best.encoding


def _western_in_cp1252(data: bytes) -> bool:
    """Every non-ASCII byte decodes in cp1252 to a Western accented letter or typographic mark.

    charset-normalizer rates Latin-1 French (``naïve``, ``déjà``) as cp1257 with less "chaos" than
    cp1252 and turns it into ``naļve``; text that reads as clean Western European in cp1252 gets a wider
    tie window. Polish or Baltic text in its own code page decodes to symbols (``³``, ``¹``) here and
    keeps the narrow window.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    high = {c for c in text if ord(c) > 127}
    return bool(high) and all(
        ("\u00c0" <= c <= "\u00ff" and c not in "\u00d7\u00f7") or c in _CP1252_MARKS for c in high
    )


def _normalize_unicode(text: str) -> str:
    """NFC, LF newlines, no control characters: the same text always gives the same Markdown."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return _CONTROL.sub("", unicodedata.normalize("NFC", text))


def _code_lines(markdown: str) -> set[int]:
    """Line numbers inside fenced or indented code blocks and HTML blocks, which must stay verbatim."""
    parser = MarkdownIt("commonmark").enable("table")
    lines: set[int] = set()
    for token in parser.parse(markdown):
        if token.type in {"fence", "code_block", "html_block"} and token.map:
            lines.update(range(token.map[0], token.map[1]))
    return lines


def _normalize_markdown(text: str) -> str:
    """Strip trailing spaces (hard breaks become ``\\``), expand nothing inside code, squeeze blank runs."""
    verbatim = _code_lines(text)
    out: list[str] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if number in verbatim:
            out.append(line)
        elif _HARD_BREAK.search(line) and following.strip() and not line.lstrip().startswith("#"):
            out.append(line.rstrip() + "\\")
        else:
            out.append(line.rstrip())
    joined = "\n".join(out).strip("\n")
    if verbatim:
        return _squeeze_blank_runs_outside(joined, _code_lines(joined))
    return _BLANK_RUN.sub("\n\n", joined)


def _squeeze_blank_runs_outside(markdown: str, verbatim: set[int]) -> str:
    """Collapse runs of blank lines to one, except inside code blocks where blank lines are content."""
    out: list[str] = []
    for number, line in enumerate(markdown.split("\n")):
        if not line and out and not out[-1] and number not in verbatim:
            continue
        out.append(line)
    return "\n".join(out)


def _paragraphs_from_text(text: str) -> str:
    """Blank-line separated paragraphs; hard-wrapped lines are joined, short lines keep their breaks.

    Books (PG19) are wrapped at ~70 columns, so joining restores paragraphs; verse, addresses and lists
    have short lines whose breaks carry meaning, so those become Markdown hard breaks instead.
    """
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "\n\n".join(_paragraph(block) for block in blocks)


def _paragraph(block: str) -> str:
    lines = [_escape_text_line(" ".join(line.split())) for line in block.split("\n") if line.strip()]
    lengths = sorted(len(line) for line in lines)
    if len(lines) == 1 or lengths[len(lengths) // 2] >= _WRAPPED_MIN_MEDIAN:
        return " ".join(lines)
    return "\\\n".join(lines)


def _escape_text_line(line: str) -> str:
    """Backslash-escape what Markdown would turn into markup, so plain text renders as written."""
    line = _TEXT_ESCAPE.sub(r"\\\1", line)
    match = _LINE_START_MARK.match(line)
    if not match:
        return line
    if match.group(3):
        start = match.start(4)
        return line[:start] + "\\" + line[start:]
    start = match.start(2)
    return line[:start] + "\\" + line[start:]


def _markdown_title(markdown: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", markdown, re.M)
    return match.group(1) if match else None


def _text_title(text: str) -> str | None:
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return first if 0 < len(first) <= _TITLE_MAX_CHARS else None
