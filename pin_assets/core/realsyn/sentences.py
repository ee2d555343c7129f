"""Plain sentences, with their character offsets, out of PIN Markdown; and where each image sits in it.

Markup is blanked *in place* (every removed character becomes a space, newlines stay), so an offset into the
stripped text is the same offset into the original Markdown: lineage points at the exact span a sentence or
image came from without keeping an offset map.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pin_assets.core.realsyn.filters import clean_sentence

IMAGE_REF = re.compile(r"!\[([^\]\n]*)\]\(\s*(?:content_image/)?([^)\s]+)[^)\n]*\)")
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)
_TABLE_LINE = re.compile(r"^[ \t]*\|.*$|^.*\|.*\|.*$", re.MULTILINE)
_LINK = re.compile(r"(\[)([^\]\n]*)(\]\([^)\n]*\))")
_HTML = re.compile(r"<[^>\n]{1,200}>")
_LINE_MARKUP = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>+[ \t]?|[-*+][ \t]+|\d{1,3}[.)][ \t]+)|^[ \t]*(?:[-*_][ \t]*){3,}$", re.MULTILINE
)
_EMPHASIS = re.compile(r"\*+|~~|(?<![^\W_])_+|_+(?![^\W_])|`+")
_ESCAPE = re.compile(r"\\(?=[\\`*_{}\[\]()#+\-.!|])")
_BLOCK = re.compile(r"\n[ \t]*\n")
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and anything but an ASCII
# lower-case letter (so scripts without case split too), or at a CJK full stop.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[^\sa-z])|[。！？]+")
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "al", "fig", "figs", "eq", "eqs", "ref", "refs", "dr", "mr", "mrs", "ms", "prof", "no",
    "nos", "vs", "cf", "approx", "sec", "vol", "pp", "st", "jr", "sr", "inc", "ltd",
})


@dataclass(frozen=True)
class Segment:
    """One sentence candidate: its span in the Markdown and its cleaned text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ImageRef:
    """One inline image reference: its content-image name, alt text and span in the Markdown."""

    name: str
    start: int
    end: int
    alt: str = ""


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _keep_link_text(match: re.Match[str]) -> str:
    return " " + match.group(2) + " " * len(match.group(3))


def strip_markdown(markdown: str) -> str:
    """The Markdown with markup, code, tables, images and HTML replaced by spaces; same length as the input."""
    steps: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
        (_FENCE, _blank), (IMAGE_REF, _blank), (_TABLE_LINE, _blank), (_LINK, _keep_link_text),
        (_HTML, _blank), (_LINE_MARKUP, _blank), (_ESCAPE, _blank), (_EMPHASIS, _blank),
    ]
    text = markdown
    for pattern, replace in steps:
        text = pattern.sub(replace, text)
    assert len(text) == len(markdown), "stripping must preserve offsets"
    return text


def _ends_with_abbreviation(text: str, end: int) -> bool:
    """True when the period at ``end`` closes an abbreviation ("Fig.", "e.g.") or an initial ("J.")."""
    head = text[:end].rstrip(".!?\"'”’)]")
    token = re.split(r"\s", head)[-1].lower() if head else ""
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(markdown: str) -> list[Segment]:
    """Sentence candidates in reading order; blocks (paragraphs, headings, list items) never run together."""
    stripped = strip_markdown(markdown)
    segments: list[Segment] = []
    block_start = 0
    for block_end in [m.start() for m in _BLOCK.finditer(stripped)] + [len(stripped)]:
        start = block_start
        for boundary in _BOUNDARY.finditer(stripped, block_start, block_end):
            if stripped[boundary.start()] == "." and _ends_with_abbreviation(stripped, boundary.end()):
                continue
            _add(segments, stripped, start, boundary.end())
            start = boundary.end()
        _add(segments, stripped, start, block_end)
        block_start = block_end
    return segments


def _add(segments: list[Segment], stripped: str, start: int, end: int) -> None:
    """Trim the span to its non-space characters and keep it when any text is left."""
    raw = stripped[start:end]
    lead = len(raw) - len(raw.lstrip())
    trail = len(raw.rstrip())
    text = clean_sentence(raw)
    if text:
        segments.append(Segment(start + lead, start + trail, text))


def image_refs(markdown: str) -> list[ImageRef]:
    """Every inline image reference in reading order."""
    return [ImageRef(m.group(2), m.start(), m.end(), m.group(1).strip()) for m in IMAGE_REF.finditer(markdown)]


def locate_images(names: list[str], refs: list[ImageRef]) -> list[ImageRef | None]:
    """The reference of each listed image (the parser lists images in reading order), None if not found.

    The i-th listed image normally is the i-th reference; when the two disagree (a reference the parser
    dropped), fall back to the first unused reference with the same name.
    """
    used: set[int] = set()
    found: list[ImageRef | None] = []
    for index, name in enumerate(names):
        if index < len(refs) and refs[index].name == name and index not in used:
            chosen = index
        else:
            chosen = next((i for i, ref in enumerate(refs) if ref.name == name and i not in used), -1)
        if chosen >= 0:
            used.add(chosen)
        found.append(refs[chosen] if chosen >= 0 else None)
    return found
