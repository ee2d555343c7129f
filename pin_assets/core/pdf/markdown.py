"""Markdown text of each element: headings, paragraphs, nested list items, code fences, tables and images."""

from __future__ import annotations

import statistics

from pin_assets.core.markup.math import script_text
from pin_assets.core.pdf.images import ImageStore, caption_for
from pin_assets.core.pdf.inline import escape_start, inline_text, plain_text
from pin_assets.core.pdf.model import Element, Row, Style, cluster


def render_element(element: Element, elements: list[Element], style: Style, images: ImageStore) -> str:
    """Markdown text of one element."""
    if element.kind == "table":
        return element.unit.markdown
    if element.kind == "image":
        caption = caption_for(element, elements, style)
        image = images.get(element.unit.image, caption)
        return f"![](content_image/{image.name})" if image else ""
    if element.kind == "code":
        return _render_code(element.rows)
    if element.kind == "footnote":  # the mark written as the marks in the text are
        mark = script_text("sup", element.marker)
        return f"{mark} {inline_text(element.rows, style)}"
    if element.kind == "heading":
        text = " ".join([element.marker, *plain_text(element.rows, style).split()]).strip()
        return "#" * element.level + " " + escape_start(text)
    body = inline_text(element.rows, style)
    if element.kind == "list":
        indent = "  " * _list_depth(element, elements)
        return f"{indent}{element.marker} {body}"
    return body if element.continued else escape_start(body)  # a continuation stands mid-paragraph


def _list_depth(element: Element, elements: list[Element]) -> int:
    """Nesting depth from how far right this item's marker sits compared with earlier items."""
    lefts: list[float] = []
    for other in elements:
        if other is element:
            break
        if other.kind == "list":
            lefts.append(other.start_x)
        else:
            lefts = []
    x0 = element.start_x
    return min(3, len(cluster(sorted({x for x in lefts if x < x0 - 4}), 4)))


def _render_code(rows: list[Row]) -> str:
    """A fenced block that keeps line breaks and rebuilds indentation from x positions."""
    widths = [(s.x1 - s.x0) / len(s.text) for r in rows for s in r.spans if s.text.strip() and s.x1 > s.x0]
    char = statistics.median(widths) if widths else 5.0
    left = min(r.x0 for r in rows)
    lines = [" " * round((r.x0 - left) / char) + r.text.rstrip() for r in rows]
    fence = "````" if any("```" in line for line in lines) else "```"
    return "\n".join([fence, *lines, fence])
