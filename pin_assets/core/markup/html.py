"""HTML and XHTML trees as every markup converter needs them (web pages, EPUB chapters): parsed safely, and
without what a reader never sees.

lxml keeps the text that follows an element on that element (its ``tail``), so removing an element naively
loses the words after it; :func:`remove_keep_tail` is the one way this project removes elements.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from pin_assets.core.document import ConversionError

# Elements whose content a reader never sees as text on the page.
INVISIBLE_TAGS = ("script", "style", "template", "head", "svg", "canvas", "iframe", "object")
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# huge_tree lifts libxml2's 10 MB cap on one text node, which otherwise silently drops a long single-line
# page and reports it "empty"; size and time are bounded by the document limits. No network, ever.
# Comments and processing instructions are dropped as trafilatura's own parser drops them, so trafilatura
# judges a page we parsed exactly as it judges one it parses itself.
_HTML_PARSER = lxml.html.HTMLParser(
    huge_tree=True, no_network=True, collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_html(text: str) -> lxml.html.HtmlElement:
    """The ``<html>`` element of a decoded HTML or XHTML document, parsed leniently as browsers do.

    XHTML parses the same way (its namespace is dropped: tags are plain names), so one DOM walk serves
    both. Raises ``ConversionError`` (``empty`` or ``corrupt``) when libxml2 finds no document.
    """
    text = _XML_DECLARATION.sub("", text, count=1)  # lxml refuses a str that declares its own encoding
    try:
        return lxml.html.document_fromstring(text, parser=_HTML_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ConversionError("empty" if not text.strip() else "corrupt", f"unparsable HTML: {exc}") from exc


def is_hidden(el: etree._Element) -> bool:
    """Hidden by the page itself: ``hidden``, ``aria-hidden="true"``, inline ``display:none``."""
    return (
        el.get("hidden") is not None
        or (el.get("aria-hidden") or "").lower() == "true"
        or bool(HIDDEN_STYLE.search(el.get("style") or ""))
    )


def remove_hidden(root: etree._Element) -> None:
    """Remove every element :func:`is_hidden` finds under ``root``, keeping the text after each."""
    for el in [el for el in root.iter() if isinstance(el.tag, str) and is_hidden(el)]:
        if el.getparent() is not None:
            remove_keep_tail(el)


def strip_invisible(root: etree._Element) -> None:
    """Remove scripts, styles, templates, embedded objects, comments and processing instructions."""
    for el in list(root.iter(*INVISIBLE_TAGS, etree.Comment, etree.ProcessingInstruction)):
        remove_keep_tail(el)


def remove_keep_tail(el: etree._Element) -> None:
    """Remove an element but keep the text that follows it (lxml stores it on the element as ``tail``)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    if tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)
