"""The project's own DOM-to-Markdown walk for HTML: what the main-content pass keeps, written as PIN needs it.

Main-content detection (:mod:`pin_assets.core.html.main_content`) only decides which nodes stay; this walk decides how
they read: images inline in reading order with their alt text, figure captions after their images, headings at
their levels, ordered lists with their ``start``, tables as GFM (or HTML where a cell spans rows or columns,
which GFM cannot say), code blocks, emphasis, ``<br>`` as a hard line break, and links as their text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape as html_escape

from lxml import etree

from pin_assets.core.html.images import ImageContext
from pin_assets.core.markup.markdown import escape_leading, md_text
from pin_assets.core.markup.math import mathml_to_latex, script_text

BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "pre",
    "blockquote",
    "figure",
    "hr",
    "center",
    "details",
    "summary",
    "address",
    "hgroup",
    "fieldset",
    "body",
    "figcaption",
    "li",
}
_EMPHASIS = {
    "b": "**",
    "strong": "**",
    "i": "*",
    "em": "*",
    "var": "*",
    "cite": "*",
    "dfn": "*",
    "s": "~~",
    "del": "~~",
    "strike": "~~",
}
_CODE_TAGS = {"code", "kbd", "samp", "tt"}
_BREAK = "\ue000"  # a <br> until its paragraph is written out


def walk(root: etree._Element, ctx: ImageContext) -> str:
    """Markdown of an element's content: blocks separated by blank lines."""
    return "\n\n".join(blocks(root, ctx))


def blocks(root: etree._Element, ctx: ImageContext) -> list[str]:
    """The Markdown blocks of an element's content, in reading order."""
    return [b for b in _blocks(root, ctx, list_indent="") if b.strip()]


# ---------------------------------------------------------------- blocks


def _blocks(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    """Blocks of an element's content in order; loose inline content between blocks becomes paragraphs."""
    blocks: list[str] = []
    run: list[str] = [md_text(_collapse(el.text or ""))]
    for child in el:
        if isinstance(child.tag, str) and child.tag in BLOCK_TAGS:
            blocks.extend(_flush(run))
            blocks.extend(_block(child, ctx, list_indent))
            run = [md_text(_collapse(child.tail or ""))]
        else:
            run.append(_inline_el(child, ctx) + md_text(_collapse(child.tail or "")))
    blocks.extend(_flush(run))
    return blocks


def _flush(run: list[str]) -> list[str]:
    """A paragraph from loose inline content; each ``<br>`` becomes a Markdown hard break (two spaces)."""
    lines = [_tidy(line) for line in "".join(run).split(_BREAK)]
    run.clear()
    text = "  \n".join(escape_leading(line) for line in lines if line)
    return [text] if text else []


def _block(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    handler = _HANDLERS.get(el.tag)
    if handler is not None:
        return handler(el, ctx, list_indent)
    return _blocks(el, ctx, list_indent)


def _heading(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    text = _tidy(_inline(el, ctx)).replace("**", "")
    return [f"{'#' * int(el.tag[1])} {text}"] if text else []


def _list(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    """Ordered lists keep ``start``; nested lists are indented to their parent item's content column."""
    ordered = el.tag == "ol"
    start = int(el.get("start")) if ordered and (el.get("start") or "").isdigit() else 1
    lines: list[str] = []
    for number, item in enumerate((c for c in el if c.tag == "li"), start=start):
        marker = f"{number}." if ordered else "-"
        lines.extend(_list_item(item, ctx, list_indent, marker))
    return ["\n".join(lines)] if lines else []


def _list_item(item: etree._Element, ctx: ImageContext, indent: str, marker: str) -> list[str]:
    """The item's own text on the marker line; nested lists (already indented by their handler), code
    and later paragraphs below it, indented to the item's content column so they stay inside the item."""
    child_indent = indent + " " * (len(marker) + 1)
    own: list[str] = []
    below: list[str] = []
    for block in _blocks(item, ctx, child_indent):
        if block.startswith(child_indent):
            below.append(block)
        elif below or block.startswith(("```", "~~~", "|", "<table")):
            below.append("\n".join(child_indent + line if line else line for line in block.split("\n")))
        else:
            own.append(block.replace("  \n", " ").replace("\n", " "))
    if not own and not below:
        return []
    return [f"{indent}{marker} {' '.join(own)}".rstrip()] + below


def _pre(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    code = "".join(el.itertext()).strip("\n")
    code = _dedent(code)
    fence = "~~~" if "```" in code else "```"
    return [f"{fence}\n{code}\n{fence}"] if code.strip() else []


def _dedent(code: str) -> str:
    lines = code.split("\n")
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(widths) if widths else 0
    return "\n".join(line[cut:] for line in lines).rstrip()


def _blockquote(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    inner = _blocks(el, ctx, "")
    if not inner:
        return []
    return ["\n>\n".join("\n".join(f"> {line}" if line else ">" for line in b.split("\n")) for b in inner)]


def _figure(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    """Images first, then the caption as its own paragraph, whatever the source order; the caption
    also travels with each image (``ExtractedImage.caption``)."""
    caption = el.find(".//figcaption")
    text = _tidy(_inline(caption, ctx)) if caption is not None else ""
    plain = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
    images = [_image_md(img, ctx, plain or None) for img in el.iter("img")]
    blocks = [img for img in images if img]
    if text and text not in blocks:
        blocks.append(escape_leading(text))
    return blocks


def _definition_list(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    items, term = [], ""
    for child in el:
        if child.tag == "dt":
            term = _tidy(_inline(child, ctx))
        elif child.tag == "dd":
            text = _tidy(_inline(child, ctx))
            items.append(f"- **{term}**: {text}" if term else f"- {text}")
            term = ""
    return ["\n".join(items)] if items else []


def _table(el: etree._Element, ctx: ImageContext, list_indent: str) -> list[str]:
    """GFM for rectangular tables; HTML when a cell spans rows or columns, since GFM cannot say so."""
    rows = [tr for tr in el.iter("tr") if _owning_table(tr) is el]
    if not rows:
        return []
    cells = [[c for c in tr if c.tag in {"td", "th"}] for tr in rows]
    if any(_span(c, "rowspan") > 1 or _span(c, "colspan") > 1 for row in cells for c in row):
        return [_html_table(cells, ctx)]
    grid = [[_cell_md(c, ctx) for c in row] for row in cells if row]
    if not grid or not any(any(cell for cell in row) for row in grid):
        return []
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    lines = ["| " + " | ".join(grid[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
    caption = el.find("caption")
    head = [_tidy(_inline(caption, ctx))] if caption is not None and _tidy(_inline(caption, ctx)) else []
    return head + ["\n".join(lines)]


def _owning_table(tr: etree._Element) -> etree._Element | None:
    parent = tr.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _span(cell: etree._Element, attr: str) -> int:
    value = (cell.get(attr) or "1").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _cell_md(cell: etree._Element, ctx: ImageContext) -> str:
    """A cell's content on one line: nested blocks are joined with spaces, pipes escaped."""
    text = " ".join(b.replace("\n", " ") for b in _blocks(cell, ctx, ""))
    return _tidy(text).replace("|", "\\|")


def _html_table(rows: list[list[etree._Element]], ctx: ImageContext) -> str:
    out = []
    for row in rows:
        cells = []
        for cell in row:
            attrs = "".join(f' {a}="{_span(cell, a)}"' for a in ("rowspan", "colspan") if _span(cell, a) > 1)
            cells.append(f"<{cell.tag}{attrs}>{_tidy(_html_cell(cell))}</{cell.tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>" + "".join(out) + "</table>"


def _html_cell(el: etree._Element) -> str:
    """Cell content for an HTML table: escaped text, emphasis and scripts as tags, breaks as spaces.

    Markdown inside an HTML block is not parsed, so this side of the converter speaks HTML."""
    tags = {"b": "b", "strong": "b", "i": "i", "em": "i", "sub": "sub", "sup": "sup", "code": "code"}
    parts = [html_escape(_collapse(el.text or ""), quote=False)]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in {"img", "br"}:
            inner = _html_cell(child)
            tag = tags.get(child.tag)
            parts.append(f"<{tag}>{inner.strip()}</{tag}>" if tag and inner.strip() else f" {inner} ")
        elif isinstance(child.tag, str):
            parts.append(" ")
        parts.append(html_escape(_collapse(child.tail or ""), quote=False))
    return re.sub(r"\s+", " ", "".join(parts))


_HANDLERS: dict[str, Callable[[etree._Element, ImageContext, str], list[str]]] = {
    **{f"h{n}": _heading for n in range(1, 7)},
    "ul": _list,
    "ol": _list,
    "pre": _pre,
    "blockquote": _blockquote,
    "figure": _figure,
    "dl": _definition_list,
    "table": _table,
    "hr": lambda el, ctx, indent: ["---"],
}


# ---------------------------------------------------------------- inline


def _inline(el: etree._Element, ctx: ImageContext) -> str:
    parts = [md_text(_collapse(el.text or ""))]
    for child in el:
        parts.append(_inline_el(child, ctx))
        parts.append(md_text(_collapse(child.tail or "")))
    return "".join(parts)


def _inline_el(el: etree._Element, ctx: ImageContext) -> str:
    if not isinstance(el.tag, str):
        return ""
    tag = el.tag.split("}")[-1]
    if tag == "img":
        return _image_md(el, ctx)
    if tag == "br":
        return _BREAK
    if tag == "math":
        latex = el.get("alttext") or mathml_to_latex(el)
        return f"${' '.join(latex.split())}$" if latex.strip() else ""
    if tag in _CODE_TAGS:
        code = _collapse("".join(el.itertext())).strip()
        return f" `{code}` " if code and "`" not in code else md_text(code)
    inner = _inline(el, ctx)
    if tag in _EMPHASIS:
        return _wrap(_EMPHASIS[tag], inner)
    if tag in {"sub", "sup"}:
        return script_text(tag, _tidy(inner))
    if tag in BLOCK_TAGS:
        return f" {inner} "
    return inner


def _wrap(marker: str, inner: str) -> str:
    """Emphasis markers hug the text (``** x **`` is no emphasis in CommonMark); nested same markers merge."""
    stripped = inner.strip()
    if not stripped:
        return inner
    if stripped.startswith(marker) and stripped.endswith(marker) and len(stripped) > 2 * len(marker):
        stripped = stripped[len(marker) : -len(marker)]
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{marker}{stripped}{marker}{trail}"


def _collapse(text: str) -> str:
    """HTML whitespace rules: any run of whitespace is one space."""
    return re.sub(r"\s+", " ", text)


def _tidy(text: str) -> str:
    text = re.sub(r" {2,}", " ", text.replace(_BREAK, " ")).strip()
    return re.sub(r" ([.,;:!?)])(?=\s|$)", r"\1", text)




def _image_md(el: etree._Element, ctx: ImageContext, caption: str | None = None) -> str:
    """A placeholder reference for the image (resolved once the page's Markdown is final, see
    :meth:`ImageContext.resolve`); nothing for an ``<img>`` that names no image."""
    return ctx.ref(el, caption) or ""
