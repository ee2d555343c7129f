"""Main content of a web page: trafilatura decides it, and its text is the text we keep.

trafilatura (2.x) is the best-measured main-content extractor we know of; its choice of text wins. Its
output is a simplified XML (paragraphs, headings with levels, lists, tables, quotes, code, images), which
:mod:`pin_assets.core.html.merge` writes as Markdown. Where trafilatura flattened the page's structure (a
table without header cells, a page it read through its baseline extractor as one paragraph, a figure
whose image it could not name), the page's own DOM gives the structure back: a copy of the DOM is pruned
to the text trafilatura kept (:func:`prune_to_text`) and written by the project's DOM walk
(:mod:`pin_assets.core.html.dom`); the merge takes that rendering only where its text equals
trafilatura's, so the DOM never adds or drops text, only shape and images.

trafilatura runs on the page as served (so it decides as it does for anyone calling it), with one change
that cannot move its decisions: each ``<img>`` whose address trafilatura would accept gets a numbered
marker address (same address, same marker) in the very attribute trafilatura reads, so each image in its
output is known exactly. The original attributes are put back afterwards.

Pruning is monotone: the blocks of the page are matched in reading order against trafilatura's text, so a
short boilerplate line ("Share", "Read more") that happens to occur somewhere inside the article is not
taken for content unless it sits where the article has it. A block trafilatura kept only part of (it drops
footnote markers and some inline widgets) is kept when most of its text is found.
"""

from __future__ import annotations

import copy
import re
import urllib.parse
from dataclasses import dataclass

import lxml.html
from lxml import etree

from pin_assets.core.html.images import image_candidates
from pin_assets.core.markup.html import INVISIBLE_TAGS, remove_keep_tail, strip_invisible

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


@dataclass
class MainContent:
    """What trafilatura kept, and the page's DOM pruned to it."""

    body: etree._Element  # trafilatura's XML: p, head, list, table, quote, code, graphic...
    comments: etree._Element | None  # its comments section, when comments were asked for
    pruned: etree._Element  # a copy of the page's <body> holding only trafilatura's text and the images
    graphics: dict[etree._Element, etree._Element]  # each <graphic> of body/comments -> its <img> (in pruned
    # when the pruned region holds it)


def extract_main(doc: lxml.html.HtmlElement, url: str | None, *, comments: bool = False) -> MainContent | None:
    """trafilatura's main content of the page (and its comments when ``comments``), or ``None`` when it
    finds none."""
    import trafilatura  # imported here: 0.5 s that loading the Dagster definitions should not pay

    marked = _mark_images(doc)
    try:
        result = trafilatura.bare_extraction(
            doc, url=url, include_comments=comments, include_tables=True, include_images=True,
            include_formatting=True, with_metadata=False, output_format="markdown",
        )
    finally:
        for img, attr, value, _index in marked:
            img.set(attr, value)
    if result is None or result.body is None:
        return None
    comments_body = result.commentsbody if comments and result.commentsbody is not None else None
    if not "".join(result.body.itertext()).strip() and next(result.body.iter("graphic"), None) is None:
        return None
    body = doc.find("body") if doc.find("body") is not None else doc
    source = _content_region(body, result.body)
    pruned = etree.Element("div")  # a wrapper, so the DOM walk writes the region itself (a table, a list)
    pruned.append(copy.deepcopy(source))
    pruned[0].tail = None
    twin = dict(zip(source.iter("img"), pruned.iter("img"), strict=True))
    by_marker: dict[int, list[etree._Element]] = {}
    for img, _attr, _value, index in marked:  # the pruned copy's image where it has one, else the page's
        by_marker.setdefault(index, []).append(twin.get(img, img))
    graphics = {}
    roots = [result.body] + ([comments_body] if comments_body is not None else [])
    for root in roots:
        used: dict[int, int] = {}
        for graphic in root.iter("graphic"):
            match = _MARKER_INDEX.match(graphic.get("src") or "")
            imgs = by_marker.get(int(match.group(1))) if match else None
            if imgs:
                n = used.get(int(match.group(1)), 0)
                graphics[graphic] = imgs[min(n, len(imgs) - 1)]
                used[int(match.group(1))] = n + 1
    # Stripped only now: trafilatura judges the page as served (removing scripts first changes its verdict).
    strip_invisible(pruned)
    kept_images = {img for graphic, img in graphics.items() if graphic.getroottree().getroot() is result.body}
    prune_to_text(pruned, _squash("".join(result.body.itertext())), kept_images)
    return MainContent(result.body, comments_body, pruned, graphics)


# trafilatura's test of an image address (utils.is_image_file: "[^\s]+\.(ext)(\b|$)", at most 8,192
# characters), written so that it runs in linear time: its own pattern takes milliseconds on a long data: URI
_IMAGE_ADDRESS = re.compile(r"(?<=\S)\.(avif|bmp|gif|hei[cf]|jpe?g|png|webp)(\b|$)", re.IGNORECASE)
_TEXT_AT = etree.XPath("(.//text()[contains(normalize-space(.), $probe)])[1]")
_LAST_TEXT_AT = etree.XPath("(.//text()[contains(normalize-space(.), $probe)])[last()]")
_PROBE = 40  # characters of a text node of trafilatura's output searched for in the page
_PROBES = 3  # text nodes tried at each end


def _content_region(body: etree._Element, kept: etree._Element) -> etree._Element:
    """The smallest element of the page that holds all the text trafilatura kept, widened over ancestors
    that add no text of their own (so a picture beside the article's text, in the same wrapper, stays in).

    Only this region is pruned and walked: on a page whose navigation, teasers and footer outweigh its
    article, that is most of the work saved. trafilatura's text follows the page's order, so the first
    place its first words occur and the last place its last words occur bound it; when either cannot be
    found (text trafilatura rewrote), the region is the whole body."""
    texts = [t for t in (" ".join(t.split()) for t in kept.itertext()) if t]
    # the first place the first words occur is at or before where they came from, the last place the last
    # words occur at or after: a short or common probe only widens the region, never cuts it short
    first = next((hit for t in texts[:_PROBES] if (hit := _TEXT_AT(body, probe=t[:_PROBE]))), None)
    last = next((hit for t in reversed(texts[-_PROBES:]) if (hit := _LAST_TEXT_AT(body, probe=t[-_PROBE:]))), None)
    if not first or not last:
        return body
    above = {id(el): el for el in _holders(first[0])}
    region = next((el for el in _holders(last[0]) if id(el) in above), body)
    while region is not body and (parent := region.getparent()) is not None and not _adds_text(parent, region):
        region = parent
    return region


def first_words(content: MainContent) -> str | None:
    """The start of the first sizeable run of text trafilatura kept, whitespace collapsed."""
    texts = (" ".join(t.split()) for t in content.body.itertext())
    return next((t[:_PROBE] for t in texts if len(t) >= 12), None)


def _holders(text) -> list[etree._Element]:  # noqa: ANN001 - lxml's smart string
    """The element a text node of lxml belongs to (the parent of a tail), and its ancestors."""
    owner = text.getparent()
    if owner is None:
        return []
    if text.is_tail:
        owner = owner.getparent()
    return [owner, *owner.iterancestors()] if owner is not None else []


def _adds_text(parent: etree._Element, child: etree._Element) -> bool:
    """Whether ``parent`` holds visible text besides ``child``'s (a title or a figure's caption aside, as in
    :func:`_images_among_content`)."""
    if parent.text and parent.text.strip():
        return True
    for other in parent:
        if other.tail and other.tail.strip():
            return True
        if other is child or other.tag in INVISIBLE_TAGS or other.tag in ("h1", "figure", "figcaption"):
            continue
        if any(t.strip() for t in other.itertext()):
            return True
    return False


def _mark_images(doc: etree._Element) -> list[tuple[etree._Element, str, str, int]]:
    """Put a marker address into the attribute trafilatura takes each image's address from.

    Returns ``(img, attribute, original value, marker)`` for each marked image; one marker per distinct address,
    as trafilatura de-duplicates images by address."""
    def accepted(value: str | None) -> bool:
        return bool(value) and len(value) <= 8192 and _IMAGE_ADDRESS.search(value) is not None

    marked = []
    markers: dict[str, int] = {}
    for img in doc.iter("img"):
        attr = next((a for a in ("data-src", "src") if accepted(img.get(a))), None)
        if attr is None:
            attr = next((a for a, v in img.attrib.items() if a.startswith("data-src") and accepted(v)), None)
        if attr is None:
            continue
        value = img.get(attr)
        index = markers.setdefault(value, len(markers))
        marked.append((img, attr, value, index))
        img.set(attr, _MARKER.format(index))
    return marked


def prune_to_text(body: etree._Element, text: str, kept_images: set[etree._Element]) -> None:
    """Prune ``body`` in place to the runs of text found in ``text`` (trafilatura's, without whitespace),
    the images trafilatura kept, and the images standing inside pure main content."""
    images = [img for img in body.iter("img") if image_candidates(img)]
    kept_owners, dropped_owners = _prune_text(body, text)
    keep = set(kept_images) | _images_among_content(images, kept_owners, dropped_owners)
    for img in list(body.iter("img")):
        if img not in keep:
            remove_keep_tail(img)
    _drop_empty(body)


def _images_among_content(
    images: list[etree._Element], kept_owners: list[etree._Element], dropped_owners: list[etree._Element]
) -> set[etree._Element]:
    """Images trafilatura passed over that stand inside pure main content: the nearest element around
    them that holds kept text holds no dropped text but captions and the title. trafilatura keeps an image
    mostly when it sits in a paragraph or figure whose address it accepts; a picture standing between the
    paragraphs of an article is content all the same (trafilatura often drops figure captions: those do
    not count), while one in a region that also holds navigation or teasers stays out."""
    holds_kept = {a for el in kept_owners for a in el.iterancestors()} | set(kept_owners)
    # an article's title and its figures' captions are what trafilatura drops from pure content too
    holds_dropped = {a for el in dropped_owners if el.tag != "h1" and not _in_caption(el)
                     for a in (el, *el.iterancestors())}
    chosen = set()
    for img in images:
        region = next((a for a in img.iterancestors() if a in holds_kept), None)
        if region is not None and region not in holds_dropped and _pictures_something(img):
            chosen.add(img)
    return chosen


_DECORATION = re.compile(r"smil(e|ie)|emoji|emoticon|icon|logo|avatar|spacer|pixel|badge|button", re.I)
_IMAGE_FILE = re.compile(r"\.(avif|bmp|gif|jpe?g|png|webp|tiff?)(\?|#|$)", re.I)


def _pictures_something(img: etree._Element) -> bool:
    """Whether an image trafilatura passed over is a picture rather than page furniture: not a counting
    pixel or an icon (declared 32 px or less on a side), not a vector icon or logo (SVG), not named one by
    its class, and not a banner linking to another site (an article's picture links to a bigger copy, if
    at all)."""
    for attr in ("width", "height"):
        size = (img.get(attr) or "").strip().removesuffix("px")
        if size.isdigit() and int(size) <= 32:
            return False
    sources = image_candidates(img)
    if sources and all(".svg" in url.lower().split("?")[0] for url in sources):
        return False
    if _DECORATION.search(f"{img.get('class') or ''} {img.get('id') or ''}"):
        return False
    link = next(img.iterancestors("a"), None)
    href = (link.get("href") or "").strip() if link is not None else ""
    target = urllib.parse.urlsplit(href).hostname if href.startswith(("http://", "https://", "//")) else None
    return not target or _IMAGE_FILE.search(href) is not None or any(
        urllib.parse.urlsplit(url).hostname == target for url in sources)


def _in_caption(el: etree._Element) -> bool:
    """Whether ``el`` is (in) an image's caption: a ``<figcaption>``, a ``<figure>``, a ``wp-caption``-like box."""
    for level, holder in enumerate((el, *el.iterancestors())):
        if holder.tag in ("figure", "figcaption") or "caption" in (holder.get("class") or "").lower():
            return True
        if level >= 3:
            return False
    return False


def _prune_text(body: etree._Element, kept: str) -> tuple[list[etree._Element], list[etree._Element]]:
    """Blank every run of text trafilatura did not keep (images stay where they are, for now); return the
    elements that hold kept runs and those that held dropped ones.

    A run is the loose text between two block boundaries: a block's text with the inline elements after
    it, or the tail of a nested block with the inline elements after that. Runs are visited in reading
    order, so matching can move forward through trafilatura's text."""
    kept_owners: list[etree._Element] = []
    dropped: list[list[tuple[str, etree._Element]]] = []
    cursor = 0
    for run in list(_runs(body)):
        own = "".join("".join(_part_text(kind, el) for kind, el in run).split())
        if not own:
            continue
        position = kept.find(own, cursor)
        if position >= 0 and (len(own) >= _SHORT or position - cursor <= _NEAR):
            cursor = position + len(own)
        elif not ((len(own) >= 2 * _CHUNK and _mostly_kept(own, kept)) or (len(own) >= _SHORT and own in kept)):
            dropped.append(run)
            continue
        kept_owners.append(_owner(run))
    for run in dropped:
        _blank(run)
    return kept_owners, [_owner(run) for run in dropped]


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
    """Remove elements left with neither text nor images, innermost first (one bottom-up pass)."""
    filled: set[etree._Element] = set()
    doomed: list[etree._Element] = []
    for el in reversed(list(body.iter())):  # every element after all of its descendants
        if not isinstance(el.tag, str):
            continue
        if el.tag == "img" or (el.text and el.text.strip()) or any(
            child in filled or (child.tail and child.tail.strip()) for child in el
        ):
            filled.add(el)
        elif el is not body and el.tag not in _NEVER_EMPTY:
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None and any(t for t in el.itertext()):  # only whitespace: keep a space
            el.tail = " " + (el.tail or "")
        remove_keep_tail(el)


_NEVER_EMPTY = frozenset({"img", "source", "br", "td", "th"})


def _squash(text: str) -> str:
    """Text without any whitespace: trafilatura moves spaces around inline elements, never letters."""
    return re.sub(r"\s+", "", text)
