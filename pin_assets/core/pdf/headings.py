"""Which paragraphs are headings, and at what level.

Bold is not enough: legal captions ("Plaintiff/Respondent", "and"), labels and emphasized lines are
bold too. A paragraph is a heading when it is set bigger than the body text (its level is the rank of
its size among the document's heading sizes), or, at body size, when it is a short line fully in bold
(or italic in title case) that is either numbered like a section ("3.2 Results", level from the depth
of the number) or followed by body text. Headings start with a capital or a digit (or a letter of a
script without case), carry letters, are not dates, and are not figure or table captions.
"""

from __future__ import annotations

import re
from collections import Counter

from pin_assets.core.pdf.model import CAPTION_RE, Element, Style

_SECTION_RE = re.compile(r"^((\d{1,2}\.){1,4}\d{0,2}|\d{1,2}|[IVXLC]{1,6}\.|[A-Z]\.)\s+(?=\S)")
DATE_RE = re.compile(
    r"^\W*((\d{1,2}(st|nd|rd|th)?\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r"(\s+\d{1,2}(st|nd|rd|th)?,?)?\s+\d{4}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\W*$",
    re.IGNORECASE,
)


def classify_headings(elements: list[Element], style: Style) -> None:
    """Mark heading elements in place: size-ranked headings first, then body-size bold lines, which
    need to know what follows them."""
    for element in elements:
        _size_heading(element, style)
    for index, element in enumerate(elements):
        _bold_heading(element, elements[index + 1:], style)


def _text(element: Element) -> str:
    return " ".join(" ".join(r.text.split()) for r in element.rows)


def _candidate(element: Element) -> bool:
    """A paragraph or numbered list item short enough to be a title and shaped like one."""
    numbered = element.kind == "list" and element.marker != "-"
    if element.kind != "para" and not numbered:
        return False
    if not element.rows or any(r.rotated for r in element.rows):
        return False
    text = _text(element)
    if not text or len(text) > 200 or len(element.rows) > 4 or CAPTION_RE.match(text):
        return False
    first = next((c for c in text if c.isalpha()), "")
    return bool(first) and not first.islower() and not DATE_RE.match(text)


def _size_heading(element: Element, style: Style) -> None:
    """Bigger than the body text: a heading at the rank of its size."""
    if not _candidate(element):
        return
    size = Counter(r.size for r in element.rows).most_common(1)[0][0]
    if size in style.levels:
        element.kind, element.level = "heading", style.levels[size]
        element.marker = element.marker.removeprefix("- ")


def _bold_heading(element: Element, following: list[Element], style: Style) -> None:
    """A body-size line fully in bold (or italic in title case): a heading when numbered as a section
    or when body text follows it."""
    if element.kind == "heading" or not _candidate(element) or len(element.rows) != 1:
        return
    text = _text(element)
    row = element.rows[0]
    if len(text) > 100 or text.endswith((".", ",", ";", ":")) or row.size < style.body - 0.6:
        return
    words = text.split()
    title_case = len(words) <= 8 and all(w[0].isupper() or not w[0].isalpha() for w in words if len(w) > 3)
    if not (row.all("bold") or (row.all("italic") and title_case and text[0].isupper())):
        return
    depth = _section_depth(element, text)
    if depth and element.kind == "list" and following and following[0].kind == "list":
        return  # a bold numbered list, not a numbered section
    if depth:
        level = len(style.levels) + depth
    elif len(words) <= 12 and _body_follows(following):
        level = len(style.levels) + 1
    else:
        return
    element.kind, element.level = "heading", min(level, 6)
    element.marker = element.marker.removeprefix("- ")


def _section_depth(element: Element, text: str) -> int:
    """How deep a section number goes ("3" 1, "3.2" 2, "IV." 1), 0 when the line is not numbered."""
    if element.kind == "list":
        return 1 if element.marker[:1].isdigit() else 0
    match = _SECTION_RE.match(text)
    if not match or not re.match(r"[^\W\d_]", text[match.end():]):
        return 0
    number = match.group(1).rstrip(".")
    return number.count(".") + 1 if number[:1].isdigit() else 1


def _body_follows(following: list[Element]) -> bool:
    """Whether the next block is body text (a plain paragraph of some length, a list, a table or code)
    rather than another short line: captions and title blocks stack short bold lines."""
    for element in following:
        if element.kind == "image":
            continue
        if element.kind in ("list", "table", "code", "heading"):
            return True
        if element.kind != "para" or all(r.all("bold") for r in element.rows):
            return False
        return len(element.rows) >= 2 or len(_text(element)) >= 50
    return False
