"""Which paragraphs are headings, and at what level, from size relative to the body and emphasis."""

from __future__ import annotations

from collections import Counter

from pin_assets.core.pdf.model import CAPTION_RE, Element, Style


def classify_heading(element: Element, style: Style) -> None:
    """Mark paragraphs as headings: bigger than body text, or a short line fully in bold (or italic in
    title case), the way section titles are set at body size in many documents."""
    numbered = element.kind == "list" and element.marker != "-"
    if element.kind != "para" and not numbered:
        return
    text = " ".join(" ".join(r.text.split()) for r in element.rows)
    if not text or len(text) > 200 or len(element.rows) > 4 or CAPTION_RE.match(text):
        return
    size = Counter(r.size for r in element.rows).most_common(1)[0][0]
    if size in style.levels:
        element.kind, element.level = "heading", style.levels[size]
        element.marker = element.marker.removeprefix("- ")
        return
    if numbered:
        return
    if len(element.rows) != 1 or len(text) > 100 or text.endswith((".", ",", ";", ":")):
        return
    if size < style.body - 0.6:
        return
    row = element.rows[0]
    words = text.split()
    title_case = len(words) <= 8 and all(w[0].isupper() or not w[0].isalpha() for w in words if len(w) > 3)
    if row.all("bold") or (row.all("italic") and title_case and text[0].isupper()):
        element.kind, element.level = "heading", min(len(style.levels) + 1, 6)
