"""Main content of a web page: trafilatura decides which nodes it is, the page's own DOM keeps its shape.

trafilatura (2.x) is the best-measured main-content extractor we know of, but its output is a simplified
XML: it drops the page's ``<h1>`` into metadata, flattens some tables into paragraphs, loses row and column
spans, figure structure and code blocks next to loose text. So it is used only as the judge. Its extraction
runs on a copy of the page in which every ``<img>`` carries a numbered marker URL, so the images it keeps
are known exactly; its text, in order, tells which text blocks of the original DOM it kept. The original
DOM is then pruned to those blocks and images and converted by the project's own walk
(:mod:`pin_assets.core.html.dom`), keeping headings, tables, lists, code and figures as the page wrote them.

Matching is monotone: the blocks of the page are matched in reading order against trafilatura's text, so a
short boilerplate line ("Share", "Read more") that happens to occur somewhere inside the article is not
taken for content unless it sits where the article has it. The page's first ``<h1>`` stays when it
directly precedes the kept content (trafilatura treats it as metadata; PIN wants the title in the text).
A block trafilatura kept only part of (it drops
footnote markers and some inline widgets) is kept when most of its text is found.
"""

from __future__ import annotations

import copy
import re

import lxml.html
from lxml import etree

from pin_assets.core.html.images import image_candidates
from pin_assets.core.markup.html import remove_keep_tail, strip_invisible

INLINE_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "cite", "code", "data", "del", "dfn", "em",
        "font", "i", "img", "ins", "kbd", "label", "mark", "math", "q", "rp", "rt", "ruby", "s", "samp",
        "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
    }
)
_MARKER = "https://pin-image.invalid/{}.png"
_MARKER_INDEX = re.compile(r"^https://pin-image\.invalid/(\d+)\.png$")
_NEAR = 300  # characters of trafilatura's text a short block may be ahead of the last match
_SHORT = 30  # blocks shorter than this (without spaces) must be near the last match
_CHUNK = 16  # partial matching compares pieces of this many characters
_PARTIAL = 0.6  # share of a block's pieces trafilatura must have kept
# trafilatura files an article's <h1> under metadata; it stays when no more than this much text (page
# furniture: a date line, a byline) separates it from where the kept content starts
_TITLE_GAP = 200


def extract_main(doc: lxml.html.HtmlElement, url: str | None) -> etree._Element | None:
    """The page's ``<body>`` (a pruned copy) holding only what trafilatura takes for main content, or
    ``None`` when trafilatura finds none."""
    import trafilatura  # imported here: 0.5 s that loading the Dagster definitions should not pay

    body = copy.deepcopy(doc.find("body") if doc.find("body") is not None else doc)
    images = [img for img in body.iter("img") if image_candidates(img)]
    probe = copy.deepcopy(body)
    for index, img in enumerate(img for img in probe.iter("img") if image_candidates(img)):
        for attr in [a for a in img.attrib if a.startswith("data-src")]:
            del img.attrib[attr]
        img.set("data-src", _MARKER.format(index))
    page = lxml.html.Element("html")
    page.append(probe)
    result = trafilatura.bare_extraction(
        page, url=url, include_comments=False, include_tables=True, include_images=True,
        include_formatting=True, with_metadata=False,
    )
    if result is None or result.body is None:
        return None
    # Stripped only now: trafilatura judges the page as served (removing scripts first changes its verdict).
    strip_invisible(body)
    kept_images = set()
    for graphic in result.body.iter("graphic"):
        match = _MARKER_INDEX.match(graphic.get("src") or "")
        if match and int(match.group(1)) < len(images):
            kept_images.add(images[int(match.group(1))])
    text = _squash("".join(result.body.itertext()))
    if not text and not kept_images:
        return None
    kept_owners, dropped_owners = _prune_text(body, text)
    kept_images |= _images_among_content(images, kept_owners, dropped_owners)
    for img in list(body.iter("img")):
        if img not in kept_images:
            remove_keep_tail(img)
    _drop_empty(body)
    return body


def _images_among_content(
    images: list[etree._Element], kept_owners: list[etree._Element], dropped_owners: list[etree._Element]
) -> set[etree._Element]:
    """Images trafilatura passed over that stand inside pure main content: the nearest element around
    them that holds kept text holds no dropped text. trafilatura keeps an image mostly when it sits in a
    paragraph or figure; a picture standing between the paragraphs of an article is content all the same,
    while one in a region that also holds navigation or teasers stays out."""
    holds_kept = {a for el in kept_owners for a in el.iterancestors()} | set(kept_owners)
    holds_dropped = {a for el in dropped_owners for a in el.iterancestors()} | set(dropped_owners)
    chosen = set()
    for img in images:
        region = next((a for a in img.iterancestors() if a in holds_kept), None)
        if region is not None and region not in holds_dropped:
            chosen.add(img)
    return chosen


def _prune_text(body: etree._Element, kept: str) -> tuple[list[etree._Element], list[etree._Element]]:
    """Blank every run of text trafilatura did not keep (images stay where they are, for now); return the
    elements that hold kept runs and those that held dropped ones.

    A run is the loose text between two block boundaries: a block's text with the inline elements after
    it, or the tail of a nested block with the inline elements after that. Runs are visited in reading
    order, so matching can move forward through trafilatura's text."""
    kept_owners: list[etree._Element] = []
    dropped: list[list[tuple[str, etree._Element]]] = []
    cursor = 0
    title: list[tuple[str, etree._Element]] | None = None  # the first <h1>, while no run is kept yet
    skipped = 0  # text dropped between that <h1> and the first kept run
    started = False
    for run in list(_runs(body)):
        own = _squash("".join(_part_text(kind, el) for kind, el in run))
        if not own:
            continue
        position = kept.find(own, cursor)
        if position >= 0 and (len(own) >= _SHORT or position - cursor <= _NEAR):
            cursor = position + len(own)
        elif (len(own) >= 2 * _CHUNK and _mostly_kept(own, kept)) or (len(own) >= _SHORT and own in kept):
            pass
        elif not started and title is None and run[0] == ("text", run[0][1]) and run[0][1].tag == "h1":
            title, skipped = run, 0  # decided when the content starts
            continue
        else:
            skipped += len(own)
            dropped.append(run)
            continue
        kept_owners.append(_owner(run))
        if not started and title is not None:
            if skipped > _TITLE_GAP:
                dropped.append(title)
            else:
                kept_owners.append(_owner(title))
        started = True
    if not started and title is not None:
        dropped.append(title)
    rescued = {id(run): run for run in _list_items_of_kept_lists(dropped, kept_owners)}
    kept_owners += [_owner(run) for run in rescued.values()]
    dropped = [run for run in dropped if id(run) not in rescued]
    for run in dropped:
        _blank(run)
    return kept_owners, [_owner(run) for run in dropped]


def _list_items_of_kept_lists(
    dropped: list[list[tuple[str, etree._Element]]], kept_owners: list[etree._Element]
) -> list[list[tuple[str, etree._Element]]]:
    """Dropped runs in the items of a list that trafilatura kept in part, unless they are mostly link text.

    trafilatura flattens a list item that holds a code block and may then drop its sibling items (a
    list of install steps loses all but its commands); an article's list is kept or dropped whole, while
    link lists (related stories, tags) stay out by their link density."""
    kept_lists = {item.getparent() for el in kept_owners if (item := _list_item(el)) is not None}
    rescued = []
    for run in dropped:
        item = _list_item(_owner(run))
        if item is not None and item.getparent() in kept_lists and not _mostly_links(run):
            rescued.append(run)
    return rescued


def _list_item(el: etree._Element) -> etree._Element | None:
    """The nearest ``<li>`` of a ``<ul>``/``<ol>`` at or around ``el``."""
    for candidate in (el, *el.iterancestors()):
        parent = candidate.getparent()
        if candidate.tag == "li" and parent is not None and parent.tag in {"ul", "ol"}:
            return candidate
    return None


def _mostly_links(run: list[tuple[str, etree._Element]]) -> bool:
    total = sum(len(_squash(_part_text(kind, el))) for kind, el in run)
    links = sum(
        len(_squash("".join(a.itertext())))
        for kind, el in run if kind == "inline" and isinstance(el.tag, str)
        for a in el.iter("a")
    )
    return total > 0 and links >= 0.5 * total


def _owner(run: list[tuple[str, etree._Element]]) -> etree._Element:
    """The element whose loose text a run is."""
    kind, el = run[0]
    return el if kind == "text" else el.getparent()


def _runs(block: etree._Element):
    """Runs of loose text in reading order, as lists of ``(kind, element)`` parts, kind being ``text``
    (the element's ``.text``), ``inline`` (an inline child, whole) or ``tail`` (an element's ``.tail``)."""
    run: list[tuple[str, etree._Element]] = [("text", block)]
    for child in block:
        if not isinstance(child.tag, str) or child.tag in INLINE_TAGS:
            run += [("inline", child), ("tail", child)]
            continue
        yield run
        yield from _runs(child)
        run = [("tail", child)]
    yield run


def _part_text(kind: str, el: etree._Element) -> str:
    if kind == "text":
        return el.text or ""
    if kind == "tail":
        return el.tail or ""
    return "".join(el.itertext()) if isinstance(el.tag, str) else ""


def _mostly_kept(own: str, kept: str) -> bool:
    pieces = [own[i : i + _CHUNK] for i in range(0, len(own) - _CHUNK + 1, _CHUNK)]
    return sum(piece in kept for piece in pieces) >= _PARTIAL * len(pieces)


def _blank(run: list[tuple[str, etree._Element]]) -> None:
    """Remove a run's text and inline elements, lifting out the images they hold (decided later)."""
    for kind, el in run:
        if kind == "text":
            el.text = None
        elif kind == "tail":
            el.tail = None
    for kind, el in run:
        if kind != "inline" or el.tag == "img":
            continue
        if isinstance(el.tag, str):
            for img in list(el.iter("img")):
                img.tail = None
                el.addprevious(img)
        el.getparent().remove(el)


def _drop_empty(body: etree._Element) -> None:
    """Remove elements left with neither text nor images, innermost first."""
    for el in reversed(list(body.iter())):
        if el is body or not isinstance(el.tag, str) or el.tag in {"img", "source", "br", "td", "th"}:
            continue
        if not "".join(el.itertext()).strip() and next(el.iter("img"), None) is None:
            remove_keep_tail(el)


def _squash(text: str) -> str:
    """Text without any whitespace: trafilatura moves spaces around inline elements, never letters."""
    return re.sub(r"\s+", "", text)
