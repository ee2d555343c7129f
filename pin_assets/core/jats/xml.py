"""JATS XML: the namespaces the walk looks names up in, and the ``<article>`` root, parsed safely
(:func:`pin_assets.core.markup.xml.parse_xml_safely`)."""

from __future__ import annotations

from lxml import etree

from pin_assets.core.document import ConversionError
from pin_assets.core.markup.math import MML_NS
from pin_assets.core.markup.xml import parse_xml_safely

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def without_jats_namespace(root: etree._Element) -> etree._Element:
    """The tree with the article's own default namespace taken off its elements, so the lookups by
    plain JATS names (``body``, ``sec``, ``title``) find them; MathML and XLink keep theirs."""
    namespace = etree.QName(root).namespace
    if not namespace or namespace == MML_NS:
        return root
    prefix = "{" + namespace + "}"
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(prefix):
            el.tag = el.tag[len(prefix):]
    etree.cleanup_namespaces(root)
    return root


def article_root(data: bytes) -> etree._Element:
    """The parsed ``<article>`` element, namespace-free, or ``ConversionError("unsupported")`` for XML
    whose root is something else (an HTML page, a PubMed record set)."""
    root = without_jats_namespace(parse_xml_safely(data))
    if etree.QName(root).localname != "article":
        raise ConversionError(
            "unsupported", f"XML root is <{etree.QName(root).localname}>, not a JATS <article>"
        )
    return root
