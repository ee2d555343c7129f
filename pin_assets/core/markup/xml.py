"""Safe parsing of untrusted XML (JATS articles, EPUB packages, LaTeXML output).

XML from the wild is parsed defensively: no DTD loading, no network, no entity substitution, no huge
trees, and any document that declares entities in its internal subset is refused before parsing, which
stops both entity-expansion bombs and external-entity (XXE) reads.
"""

from __future__ import annotations

import re

from lxml import etree

from pin_assets.core.document import ConversionError

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


def _root_start(data: bytes) -> int:
    """Offset of the first element start tag, i.e. the end of the prolog (where a DOCTYPE lives)."""
    for match in re.finditer(rb"<([^?!])", data):
        return match.start()
    return len(data)
