"""trafilatura's text with the page's structure: its XML and the pruned DOM's Markdown, merged by text.

Two renderings of the same main content meet here. trafilatura's XML (its text is the text we keep) is
written by trafilatura's own Markdown serializer. The page's DOM, pruned to that text
(:func:`pin_assets.core.html.main_content.prune_to_text`), is written by the project's DOM walk, which keeps
what trafilatura flattens: tables without header cells, spanning cells, figures with their images, a page
trafilatura read as one run of lines.

Both are cut into blocks and compared on their words only (markup, escapes and spacing around
punctuation differ between the two writers, words do not). trafilatura's blocks are grouped at the positions no DOM
block straddles; a group whose text the DOM blocks cover exactly, with no gap and nothing extra, is
written from the DOM; every other group is written from trafilatura. So the text of the result is
trafilatura's, block for block, and the DOM adds only shape and images: a DOM block whose text trafilatura
did not keep is left out, and the images of the DOM blocks (which hold the images of the main content, see
:mod:`pin_assets.core.html.main_content`) stay where the DOM has them.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree

from pin_assets.core.html.dom import blocks as dom_blocks
from pin_assets.core.html.images import ImageContext
from pin_assets.core.html.main_content import MainContent
from pin_assets.core.markup.html import remove_keep_tail

_NEAR = 300  # a short DOM block must match within this many characters after the last match
_SHORT = 30  # characters of words: below this a DOM block is short
_WORD = re.compile(r"[^\W_]+")
# Characters that are no text: control characters (but tab and newline), soft hyphens, zero-width spaces,
# word joiners, invisible operators, BOMs. trafilatura drops them (and every other unprintable character);
# zero-width (non-)joiners stay, since Persian, Indic scripts and emoji need them.
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u180e\u200b\u2060-\u2064\ufeff]")
_INLINE_TAG = re.compile(r"</?(?:sub|sup|b|i|em|strong|code|u|s|del|span|a)\b[^>\n]*>", re.I)
_TAG = re.compile(r"<[^>\n]+>")
_LIST_NUMBER = re.compile(r"^\s*\d{1,9}[.)]\s", re.M)
_SEPARATE = frozenset({"lb", "cell", "row", "item", "list", "p", "head", "quote", "code", "table"})
_WRAPPERS = frozenset({"div", "body", "article", "section", "main"})


def merge_markdown(content: MainContent, ctx: ImageContext) -> str:
    """Markdown of the main content (and its comments, when extracted), with image placeholders."""
    from trafilatura.xml import xmltotxt

    _name_graphics(content.body, content, ctx)
    t_blocks = _xml_blocks(content.body)
    images = ctx.token_ref
    d_blocks = [_DomBlock(md, markdown_words(md, images), [m.group(0) for m in images.finditer(md)])
                for md in dom_blocks(content.pruned, ctx)]
    parts = _once(_merge(t_blocks, d_blocks, xmltotxt), images)
    if content.comments is not None:
        _name_graphics(content.comments, content, ctx)
        comments = _serialize(_xml_blocks(content.comments), xmltotxt)
        if comments:
            parts.append(comments)
    return "\n\n".join(p for p in parts if p.strip())


def words(text: str) -> str:
    """The words of ``text`` (runs of letters and digits, NFKC), one space apart: the common ground of two
    writers, whose markup, escapes and spacing around punctuation differ while their words may not."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", INVISIBLE.sub("", text))))


def markdown_words(markdown: str, images: re.Pattern[str]) -> str:
    """:func:`words` of Markdown: without ``images`` (a pattern), HTML tags, entities and ordered-list
    numbers. Inline tags (``<sub>``) join the words around them, others (cells, breaks) separate them."""
    plain = images.sub(" ", markdown)
    plain = _INLINE_TAG.sub("", plain)
    plain = _LIST_NUMBER.sub(" ", _TAG.sub(" ", plain))
    return words(html.unescape(plain))


@dataclass
class _DomBlock:
    markdown: str
    text: str  # its words
    images: list[str]  # its image placeholders


def _name_graphics(root: etree._Element, content: MainContent, ctx: ImageContext) -> None:
    """Point each ``<graphic>`` at its page image's placeholder; drop those that are no page image."""
    for graphic in list(root.iter("graphic")):
        # trafilatura sometimes files the text after an image inside it: it follows the image
        inner = "".join(graphic.itertext())
        for child in list(graphic):
            graphic.remove(child)
        graphic.text, graphic.tail = None, inner + (graphic.tail or "") if inner else graphic.tail
        img = content.graphics.get(graphic)
        token = ctx.token(img) if img is not None else None
        if token is None:
            remove_keep_tail(graphic)
            continue
        graphic.attrib.clear()
        graphic.set("src", token)


def _xml_blocks(body: etree._Element) -> list[etree._Element]:
    """trafilatura's top-level blocks, wrappers opened; loose text becomes a paragraph."""
    out: list[etree._Element] = []

    def loose(text: str | None) -> None:
        if text and text.strip():
            p = etree.Element("p")
            p.text = text
            out.append(p)

    def visit(el: etree._Element) -> None:
        loose(el.text)
        for child in el:
            if not isinstance(child.tag, str):
                loose(child.tail)
                continue
            if child.tag in _WRAPPERS and len(child):
                visit(child)
            else:
                out.append(child)
            loose(child.tail)
            child.tail = None

    visit(body)
    return out


def _xml_text(block: etree._Element) -> str:
    """The text of one of trafilatura's blocks, with line breaks, cells and items apart."""
    parts: list[str] = []
    for event, el in etree.iterwalk(block, events=("start", "end")):
        if event == "start":
            if el.tag in _SEPARATE:
                parts.append(" ")
            parts.append(el.text or "")
        else:
            if el.tag in _SEPARATE:
                parts.append(" ")
            if el is not block:
                parts.append(el.tail or "")
    return "".join(parts)


def _serialize(blocks: list[etree._Element], xmltotxt) -> str:  # noqa: ANN001 - trafilatura's function
    if not blocks:
        return ""
    wrapper = etree.Element("body")
    for block in blocks:
        wrapper.append(block)  # moved: each block is written once
    return xmltotxt(wrapper, True).strip()


def _merge(t_blocks: list[etree._Element], d_blocks: list[_DomBlock], xmltotxt) -> list[str]:  # noqa: ANN001
    # each block's words with a trailing space, so positions in the whole are block boundaries
    texts = [w + " " if (w := words(_xml_text(b))) else "" for b in t_blocks]
    starts, ends, position = [], [], 0
    for text in texts:
        starts.append(position)
        position += len(text)
        ends.append(position)
    full = "".join(texts)
    # match the DOM blocks in order against trafilatura's text
    ranges: list[tuple[int, int] | None] = []
    after: list[int] = []  # where trafilatura's text stood when each DOM block came
    cursor = 0
    for block in d_blocks:
        after.append(cursor)
        text = block.text + " " if block.text else ""
        found = _find_words(full, text, cursor) if text else -1
        if found >= 0 and (len(text) >= _SHORT or found - cursor <= _NEAR):
            ranges.append((found, found + len(text)))
            cursor = found + len(text)
        else:
            ranges.append(None)
    # group trafilatura's blocks at the boundaries no matched DOM block straddles
    crossed = [False] * len(ends)
    for span in ranges:
        if span is not None:  # the block ends strictly inside the span (ends only grow)
            for index in range(bisect.bisect_right(ends, span[0]), bisect.bisect_left(ends, span[1])):
                crossed[index] = True
    groups: list[list[int]] = []
    current: list[int] = []
    for index in range(len(ends)):
        current.append(index)
        if not crossed[index]:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    spans = [(starts[g[0]], ends[g[-1]]) for g in groups]
    group_ends = [end for _, end in spans]
    members: dict[int | None, list[int]] = {}
    for j in range(len(d_blocks)):
        members.setdefault(_home(ranges[j], after[j], group_ends), []).append(j)
    parts: list[str] = []
    for number, group in enumerate(groups):
        start, end = spans[number]
        mine = members.get(number, [])
        matched = [ranges[j] for j in mine if ranges[j] is not None]
        if end > start and _tiles(matched, start, end):
            for j in mine:
                parts.append(d_blocks[j].markdown if ranges[j] is not None else "\n\n".join(d_blocks[j].images))
            continue
        before = [j for j in mine if ranges[j] is None and after[j] <= start]
        later = [j for j in mine if not (ranges[j] is None and after[j] <= start)]
        parts += ["\n\n".join(d_blocks[j].images) for j in before]
        parts.append(_serialize([t_blocks[i] for i in group], xmltotxt))
        parts += ["\n\n".join(d_blocks[j].images) for j in later]
    # DOM images after all of trafilatura's text (or on a page where it kept images only)
    parts += ["\n\n".join(d_blocks[j].images) for j in members.get(None, [])]
    return [p for p in parts if p.strip()]


def _once(parts: list[str], images: re.Pattern[str]) -> list[str]:
    """The parts without repeats of an image already shown: both writers may place the same image (one
    standing between paragraphs is a block of its own in each), and it stays where it first came."""
    seen: set[str] = set()
    out = []
    for part in parts:
        found = [m.group(0) for m in images.finditer(part)]
        if found and not images.sub("", part).strip():
            part = "\n\n".join(ref for ref in dict.fromkeys(found) if ref not in seen)
        seen.update(found)
        if part.strip():
            out.append(part)
    return out


def _find_words(full: str, text: str, start: int) -> int:
    """Where ``text`` (whole words) next occurs in ``full`` from ``start``, or -1."""
    found = full.find(text, start)
    while found > 0 and full[found - 1] != " ":
        found = full.find(text, found + 1)
    return found


def _home(span: tuple[int, int] | None, cursor: int, group_ends: list[int]) -> int | None:
    """The group a DOM block belongs to: the one holding its text, or for a block without matched text
    (images, text trafilatura did not keep), the one where the text before it ended (the first group
    when none came before it); ``None`` after all of trafilatura's text."""
    if span is None and cursor == 0:
        return 0 if group_ends else None
    where = span[0] if span is not None else cursor - 1
    number = bisect.bisect_right(group_ends, where)  # the first group ending after it
    return number if number < len(group_ends) else None


def _tiles(matched: list[tuple[int, int] | None], start: int, end: int) -> bool:
    """Whether the ranges cover ``[start, end)`` exactly, one after the other."""
    position = start
    for span in matched:
        if span is None or span[0] != position:
            return False
        position = span[1]
    return position == end
