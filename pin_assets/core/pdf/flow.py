"""Paragraphs that run on from one page to the next: the page-joining step.

A page's last paragraph carries on at the top of the next page when the text says so (see
:func:`~pin_assets.core.pdf.blocks.flows_on`). The two halves are then written as one paragraph: the
next page's Markdown starts with the rest of the sentence, joined to the previous page's by a space (or
by nothing, with the line-end hyphen dropped, for a word hyphenated across the break). The page boundary
stays where the page breaks: ``page_offsets`` points at the first character of the continuation, so
slicing the Markdown at the offsets gives each page exactly the text it shows (see docs/pdf.md).

A page whose body is followed by footnotes, a figure or a table ends with those, not with the
paragraph, so its last paragraph is not joined across the break.
"""

from __future__ import annotations

from pin_assets.core.pdf.blocks import flows_on, line_width
from pin_assets.core.pdf.inline import line_join
from pin_assets.core.pdf.model import Element, Style

Join = tuple[str, bool]  # what stands between two pages' Markdown, and whether the first ends hyphenated


def join_pages(page_elements: list[list[Element]], style: Style) -> list[Join | None]:
    """For each page break, how the two pages' Markdown joins: ``(joiner, drop_hyphen)`` where a
    paragraph runs on across it, else None (a blank line). The next page's continuing paragraph is
    marked ``continued`` and moved before any figure or table set above it."""
    joins: list[Join | None] = []
    for before, after in zip(page_elements, page_elements[1:], strict=False):
        joins.append(_join(before, after, style))
    return joins


def _join(before: list[Element], after: list[Element], style: Style) -> Join | None:
    if not before or before[-1].kind != "para" or not before[-1].rows:
        return None
    first = next((i for i, e in enumerate(after) if e.kind not in ("image", "table")), None)
    if first is None or after[first].kind != "para":
        return None
    paragraph, following = before[-1], after[first]
    rows = [r for e in before if e.kind == "para" for r in e.rows]
    if not flows_on(paragraph, following.rows[0], style, line_width(rows, style)):
        return None
    following.continued = True
    after.insert(0, after.pop(first))  # the rest of the sentence first, then what was set above it
    return line_join(paragraph.rows[-1].text.rstrip(), following.rows[0].text.lstrip(), style)


def joined_markdown(page_mds: list[str], joins: list[Join | None]) -> tuple[str, list[int]]:
    """Concatenate page Markdown, with blank lines or the joins, and record where each page starts."""
    markdown = ""
    offsets: list[int] = []
    for index, md in enumerate(page_mds):
        join = joins[index - 1] if 0 < index <= len(joins) else None
        if join is not None and markdown and md:
            joiner, drop_hyphen = join
            if drop_hyphen and markdown[-1:] in "-\u2010\u00ad":
                markdown = markdown[:-1]
            separator = joiner
        else:
            separator = "\n\n" if markdown and md else ""
        offsets.append(len(markdown) + len(separator))
        markdown += separator + md
    return (markdown + "\n" if markdown else markdown), offsets
