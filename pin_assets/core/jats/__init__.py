"""JATS XML (PMC, eLife, PLOS) to Markdown with figures inline, in the spirit of s2orc-doc2json.

JATS is already structured, so this is a tree walk, not a layout problem: front matter gives the title,
authors, affiliations, abstract and metadata; ``<body>`` sections give headings by depth; ``<back>`` gives
acknowledgements, notes and references. Figures become inline images when the caller supplies the image
files (PMC ships them next to the ``.nxml``), tables become GFM (or HTML when cells span, since GFM
cannot express spans), formulas become LaTeX.

One module per concern over the shared :class:`~pin_assets.core.jats.context.Context`: ``xml``
(namespaces, the root check; safe parsing is :mod:`pin_assets.core.markup.xml`), ``front`` (title, byline,
abstract, metadata), ``blocks`` (the block dispatch, sections, paragraphs, lists, back matter), ``figures``,
``tables``, ``references`` (reference lists, citations, footnotes) and ``inline`` (inline markup and text
helpers); formulas become LaTeX through :mod:`pin_assets.core.markup.math`, shared with the HTML walk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pin_assets.core.document import ParsedDocument
from pin_assets.core.jats.blocks import back_blocks, body_blocks, children_blocks
from pin_assets.core.jats.context import Context
from pin_assets.core.jats.front import article_metadata, front_blocks
from pin_assets.core.jats.references import citation_text
from pin_assets.core.jats.xml import XML_LANG, article_root

if TYPE_CHECKING:
    from pin_assets.core.kinds import ConvertJob

__all__ = ["article_metadata", "citation_text", "convert_jats", "jats_to_markdown"]


def jats_to_markdown(
    data: bytes, *, assets: Mapping[str, bytes] | None = None, max_image_pixels: int | None = None
) -> ParsedDocument:
    """Convert a JATS article to Markdown; images come from ``assets`` keyed by file name.

    Raises ``ConversionError`` with reason ``unsafe`` (entity declarations), ``corrupt`` (not
    well-formed XML), ``unsupported`` (XML whose root is not ``<article>``) or ``limit`` (a figure
    declaring more than ``max_image_pixels`` pixels).
    """
    root = article_root(data)
    ctx = Context(assets or {}, max_image_pixels=max_image_pixels)
    blocks = front_blocks(root, ctx, children_blocks) + body_blocks(root, ctx) + back_blocks(root, ctx)
    markdown = "\n\n".join(b for b in blocks if b.strip()) + "\n"
    metadata = article_metadata(root)
    if ctx.missing:
        metadata["missing_images"] = json.dumps(ctx.missing)
    title = metadata.get("title")
    language = root.get(XML_LANG)
    return ParsedDocument(
        markdown=markdown,
        images=ctx.images,
        title=title,
        language=language,
        metadata=metadata,
        warnings=ctx.warnings,
    )


def convert_jats(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``jats`` kind's converter: figures from the files beside the article."""
    return jats_to_markdown(data, assets=job.assets, max_image_pixels=job.limits.max_image_pixels)
