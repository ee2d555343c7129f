"""Figures, figure groups and bare graphics: the image inline (when the caller supplied its file) and
``label. title. caption`` as its own paragraph; the caption helpers are shared with tables."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from pin_assets.core.jats.context import ChildBlocks, Context
from pin_assets.core.jats.inline import alt, inline, plain, squash
from pin_assets.core.jats.xml import XLINK_HREF
from pin_assets.core.markup.markdown import escape_leading


def figure(fig: etree._Element, ctx: Context, depth: int) -> list[str]:
    """Image (when supplied) followed by ``label. title. caption`` as its own paragraph."""
    caption = caption_text(fig, ctx)
    blocks: list[str] = []
    for graphic in fig.iter("graphic"):
        href = graphic.get(XLINK_HREF)
        if not href:
            continue
        image = ctx.image(href, plain_caption(fig) or None)
        if image is not None:
            alt_text = squash(plain(fig.find("label")) if fig.find("label") is not None else "figure")
            blocks.append(f"![{alt(alt_text)}](content_image/{image.name})")
    if caption:
        blocks.append(caption)
    return blocks


def fig_group(group: etree._Element, ctx: Context, depth: int, children: ChildBlocks) -> list[str]:
    """The group's figures in order, and its own caption's blocks (walked by ``children``) where it stands."""
    blocks = []
    for child in group:
        if isinstance(child.tag, str) and child.tag in {"fig", "caption"}:
            blocks.extend(
                figure(child, ctx, depth) if child.tag == "fig" else children(child, ctx, depth)
            )
    return blocks


def caption_text(el: etree._Element, ctx: Context) -> str:
    """``label title caption-paragraphs`` of a figure or table as one escaped Markdown paragraph."""
    label = el.find("label")
    caption = el.find("caption")
    parts = [inline(label, ctx)] if label is not None else []
    if caption is not None:
        for child in caption:
            if isinstance(child.tag, str) and child.tag in {"title", "p"}:
                parts.append(inline(child, ctx))
    return escape_leading(squash(" ".join(p for p in parts if p)))


def plain_caption(el: etree._Element) -> str:
    """The caption as plain text, stored with the image."""
    caption = el.find("caption")
    return squash(plain(caption)) if caption is not None else ""


def figure_images_only(graphics: Iterable[etree._Element], caption: str | None, ctx: Context) -> list[str]:
    """Image links for graphics that stand without a figure caption (graphic-only tables, bare graphics)."""
    blocks = []
    for graphic in graphics:
        href = graphic.get(XLINK_HREF)
        image = ctx.image(href, caption) if href else None
        if image is not None:
            blocks.append(f"![image](content_image/{image.name})")
    return blocks


def graphic_block(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    """A ``<graphic>`` standing as a block of its own."""
    return figure_images_only([el], None, ctx)
