"""Helpers for HTML and XHTML trees that every markup converter shares (web pages, EPUB chapters).

lxml keeps the text that follows an element on that element (its ``tail``), so removing an element naively
loses the words after it; :func:`remove_keep_tail` is the one way this project removes elements.
"""

from __future__ import annotations

from lxml import etree

# Elements whose content a reader never sees as text on the page.
INVISIBLE_TAGS = ("script", "style", "template", "head", "svg", "canvas", "iframe", "object")


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
