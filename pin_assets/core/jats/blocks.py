"""The block walk: the dispatch table from JATS block elements to their handlers, sections and their
headings, body and back matter, and the small block handlers (paragraphs split by nested blocks, lists,
display formulas, quotes, preformatted code, definition lists).

Figures, tables, references and footnotes live in their own modules; those whose elements nest blocks
get :func:`children_blocks` passed in, so nothing there imports this module back.
"""

from __future__ import annotations

from lxml import etree

from pin_assets.core.jats.context import BlockHandler, Context
from pin_assets.core.jats.figures import fig_group, figure, graphic_block
from pin_assets.core.jats.inline import SKIP_TAGS, heading_inline, inline, inline_el, plain, squash
from pin_assets.core.jats.references import citation_block, fn_group, ref_list
from pin_assets.core.jats.tables import table_wrap
from pin_assets.core.markup.markdown import escape_leading, md_text
from pin_assets.core.markup.math import formula_latex

BLOCK_TAGS = {
    "fig",
    "fig-group",
    "table-wrap",
    "table-wrap-group",
    "list",
    "disp-formula",
    "disp-formula-group",
    "disp-quote",
    "boxed-text",
    "preformat",
    "code",
    "def-list",
    "graphic",
    "media",
    "supplementary-material",
    "element-citation",
    "mixed-citation",
    "p",
    "sec",
    "statement",
    "verse-group",
}
BACK_TITLES = {"ack": "Acknowledgements", "fn-group": "Notes", "glossary": "Abbreviations", "notes": "Notes"}


def body_blocks(root: etree._Element, ctx: Context) -> list[str]:
    """The ``<body>``'s blocks, its top-level sections as ``##``."""
    body = root.find("body")
    return children_blocks(body, ctx, depth=2) if body is not None else []


def back_blocks(root: etree._Element, ctx: Context) -> list[str]:
    """Back matter: acknowledgements, appendices, notes, glossaries and references as sections, and
    anything else (a bio, a boxed text) as the block it is, so none of it is lost."""
    back = root.find("back")
    if back is None:
        return []
    blocks: list[str] = []
    for child in back:
        if not isinstance(child.tag, str) or child.tag in {"title", "label"}:
            continue
        if child.tag == "ref-list":
            blocks.extend(ref_list(child, ctx, 2))
        elif child.tag in BACK_TITLES or child.tag in {"sec", "app-group", "app"}:
            blocks.extend(section(child, ctx, depth=2, default_title=BACK_TITLES.get(child.tag)))
        else:
            blocks.extend(block(child, ctx, 2))
    return blocks


def section(sec: etree._Element, ctx: Context, depth: int, default_title: str | None = None) -> list[str]:
    """A heading from ``label`` + ``title`` at ``depth`` (capped at 6), then its content one level down.
    A boxed text may carry its title in its caption; the caption's paragraphs stay in the body."""
    title_el = sec.find("title")
    if title_el is None and sec.tag == "boxed-text":
        title_el = sec.find("caption/title")
    label_el = sec.find("label")
    title = heading_inline(title_el, ctx) if title_el is not None else (default_title or "")
    label = plain(label_el) if label_el is not None else ""
    heading = " ".join(p for p in (label, title) if p)
    if not heading:  # an untitled wrapper (an app-group, a box) does not push its sections down a level
        return children_blocks(sec, ctx, depth)
    return [f"{'#' * min(depth, 6)} {heading}"] + children_blocks(sec, ctx, depth + 1)


def children_blocks(parent: etree._Element, ctx: Context, depth: int) -> list[str]:
    """The blocks of an element's children in order, its own title and label left to the caller."""
    blocks: list[str] = []
    for child in parent:
        if isinstance(child.tag, str) and child.tag not in {"title", "label"}:
            blocks.extend(block(child, ctx, depth))
    return blocks


def block(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    """Markdown blocks for one block-level element; unknown elements fall back to their children."""
    tag = el.tag
    if tag in SKIP_TAGS:
        return []
    handler = _BLOCK_HANDLERS.get(tag)
    if handler is not None:
        return handler(el, ctx, depth)
    if any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el):
        return children_blocks(el, ctx, depth)
    text = inline(el, ctx)
    return [escape_leading(text)] if text else []


def _paragraph(p: etree._Element, ctx: Context, depth: int) -> list[str]:
    """A paragraph; block elements nested in it (figures, lists, formulas) split it in reading order."""
    blocks: list[str] = []
    run = _InlineRun(p.text)
    for child in p:
        if isinstance(child.tag, str) and child.tag in BLOCK_TAGS:
            blocks.extend(run.flush(ctx))
            blocks.extend(block(child, ctx, depth))
            run = _InlineRun(child.tail)
        else:
            run.add(child)
    blocks.extend(run.flush(ctx))
    return blocks


class _InlineRun:
    """Inline content collected between block elements of a paragraph."""

    def __init__(self, text: str | None):
        self.text = text or ""
        self.children: list[etree._Element] = []

    def add(self, child: etree._Element) -> None:
        self.children.append(child)

    def flush(self, ctx: Context) -> list[str]:
        parts = [md_text(self.text)] + [inline_el(c, ctx) + md_text(c.tail or "") for c in self.children]
        text = squash("".join(parts))
        return [escape_leading(text)] if text else []


def _list(el: etree._Element, ctx: Context, depth: int, indent: str = "") -> list[str]:
    ordered = el.get("list-type", "") in {"order", "alpha-lower", "alpha-upper", "roman-lower", "roman-upper"}
    lines: list[str] = []
    for number, item in enumerate(el.iterfind("list-item"), start=1):
        marker = f"{number}." if ordered else "-"
        lines.extend(_list_item(item, ctx, depth, indent, marker))
    return ["\n".join(lines)] if lines else []


def _list_item(item: etree._Element, ctx: Context, depth: int, indent: str, marker: str) -> list[str]:
    texts: list[str] = []
    nested: list[str] = []
    for child in item:
        if not isinstance(child.tag, str) or child.tag == "label":
            continue
        if child.tag == "list":
            nested.extend(_list(child, ctx, depth, indent + " " * (len(marker) + 1)))
        else:
            texts.extend(b.replace("\n", " ") for b in block(child, ctx, depth))
    line = f"{indent}{marker} {' '.join(texts)}".rstrip()
    return [line] + nested


def _formula_block(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    latex = formula_latex(el)
    label = el.find("label")
    tag = f" \\tag{{{plain(label).strip('()')}}}" if label is not None and plain(label) else ""
    if latex:
        return [f"$$\n{latex}{tag}\n$$"]
    text = inline(el, ctx)
    return [text] if text else []


def _quote(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    inner = children_blocks(el, ctx, depth)
    return ["\n>\n".join("\n".join("> " + line for line in b.split("\n")) for b in inner)] if inner else []


def _preformat(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    code = "".join(el.itertext()).strip("\n")
    fence = "~~~" if "```" in code else "```"
    return [f"{fence}\n{code}\n{fence}"]


def _def_list(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    items = []
    for item in el.iterfind("def-item"):
        term, definition = item.find("term"), item.find("def")
        term_md = inline(term, ctx) if term is not None else ""
        def_md = " ".join(children_blocks(definition, ctx, depth)) if definition is not None else ""
        items.append(f"- **{term_md}**: {def_md}" if term_md else f"- {def_md}")
    title = el.find("title")
    return ([f"{'#' * min(depth, 6)} {inline(title, ctx)}"] if title is not None else []) + (
        ["\n".join(items)] if items else []
    )


_BLOCK_HANDLERS: dict[str, BlockHandler] = {
    "sec": lambda el, ctx, depth: section(el, ctx, depth),
    "app": lambda el, ctx, depth: section(el, ctx, depth),
    "app-group": lambda el, ctx, depth: section(el, ctx, depth),
    "fn-group": lambda el, ctx, depth: fn_group(el, ctx, depth, children_blocks),
    "boxed-text": lambda el, ctx, depth: section(el, ctx, depth),
    "ack": lambda el, ctx, depth: section(el, ctx, depth, default_title=BACK_TITLES["ack"]),
    "glossary": lambda el, ctx, depth: section(el, ctx, depth, default_title=BACK_TITLES["glossary"]),
    "p": _paragraph,
    "list": _list,
    "fig": figure,
    "fig-group": lambda el, ctx, depth: fig_group(el, ctx, depth, children_blocks),
    "table-wrap": lambda el, ctx, depth: table_wrap(el, ctx, depth, children_blocks),
    "table-wrap-group": lambda el, ctx, depth: children_blocks(el, ctx, depth),
    "disp-formula": _formula_block,
    "disp-quote": _quote,
    "preformat": _preformat,
    "code": _preformat,
    "def-list": _def_list,
    "element-citation": citation_block,
    "mixed-citation": citation_block,
    "graphic": graphic_block,
    "ref-list": ref_list,
}
