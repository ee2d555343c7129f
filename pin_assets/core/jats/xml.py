"""Safe parsing of untrusted JATS XML, the namespaces the walk looks names up in, and root detection.

XML from the wild is parsed defensively: no DTD loading, no network, no entity substitution, no huge
trees, and any document that declares entities in its internal subset is refused before parsing, which
stops both entity-expansion bombs and external-entity (XXE) reads.
"""

from __future__ import annotations

import re

from lxml import etree

from pin_assets.core.document import ConversionError
from pin_assets.core.jats.math import MML_NS

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def parse_xml_safely(data: bytes) -> etree._Element:
    """Parse untrusted XML without loading DTDs, touching the network or expanding entities.

    Named HTML entities (``&nbsp;``) defined only in the JATS DTD would make the parse fail without the
    DTD; PMC files use numeric references, so such a file is reported as corrupt rather than fetched.
    """
    if not data.strip():
        raise ConversionError("empty", "the XML file is empty")
    prolog_end = _root_start(data)
    if _ENTITY_DECL.search(data[:prolog_end]):
        raise ConversionError("unsafe", "the XML declares entities (possible entity bomb or external entity)")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConversionError("corrupt", f"malformed XML: {exc}") from exc
    if root is None:
        raise ConversionError("corrupt", "the XML has no root element")
    internal = root.getroottree().docinfo.internalDTD
    if internal is not None and any(True for _ in internal.iterentities()):
        raise ConversionError("unsafe", "the XML declares entities in its internal DTD subset")
    return root


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


def _root_start(data: bytes) -> int:
    """Offset of the first element start tag, i.e. the end of the prolog (where a DOCTYPE lives)."""
    for match in re.finditer(rb"<([^?!])", data):
        return match.start()
    return len(data)
