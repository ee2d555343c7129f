"""Tables: ``<table-wrap>`` with its caption above and footnotes below, the table itself as GFM, or as
one-line HTML when cells span rows or columns, since GFM cannot express spans."""

from __future__ import annotations

from html import escape as html_escape

from lxml import etree

from pin_assets.core.jats.context import ChildBlocks, Context
from pin_assets.core.jats.figures import caption_text, figure_images_only, plain_caption
from pin_assets.core.jats.inline import inline, squash


def table_wrap(wrap: etree._Element, ctx: Context, depth: int, children: ChildBlocks) -> list[str]:
    """Caption above, the table (GFM or HTML), footnotes below; a graphic-only table is a figure."""
    blocks = []
    caption = caption_text(wrap, ctx)
    if caption:
        blocks.append(caption)
    tables = list(wrap.iter("table"))
    for table in tables:
        blocks.append(_table(table, ctx))
    if not tables:
        blocks.extend(figure_images_only(wrap.iter("graphic"), plain_caption(wrap) or None, ctx))
    for foot in wrap.iterfind("table-wrap-foot"):
        blocks.extend(children(foot, ctx, depth))
    return blocks


def _table(table: etree._Element, ctx: Context) -> str:
    rows = list(table.iter("tr"))
    spans = any(
        _span(c, "rowspan") > 1 or _span(c, "colspan") > 1 for tr in rows for c in tr if c.tag in {"td", "th"}
    )
    if spans:
        return _html_table(table, ctx)
    grid = [[_cell_md(c, ctx) for c in tr if c.tag in {"td", "th"}] for tr in rows]
    grid = [r for r in grid if r]
    if not grid:
        return ""
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    lines = ["| " + " | ".join(grid[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
    return "\n".join(lines)


def _cell_md(cell: etree._Element, ctx: Context) -> str:
    return squash(inline(cell, ctx)).replace("|", "\\|")


def _html_table(table: etree._Element, ctx: Context) -> str:
    """HTML for tables with spanning cells, which GFM cannot express; one line so Markdown keeps it whole."""
    out = ["<table>"]
    for section in ("thead", "tbody", "tfoot"):
        for part in table.iterfind(section):
            out.append(
                f"<{section}>" + "".join(_html_row(tr) for tr in part.iterfind("tr")) + f"</{section}>"
            )
    loose = table.findall("tr")
    if loose:
        out.append("<tbody>" + "".join(_html_row(tr) for tr in loose) + "</tbody>")
    out.append("</table>")
    return "".join(out)


def _span(cell: etree._Element, attr: str) -> int:
    value = (cell.get(attr) or "1").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _html_row(tr: etree._Element) -> str:
    cells = []
    for cell in tr:
        if cell.tag not in {"td", "th"}:
            continue
        attrs = "".join(f' {a}="{_span(cell, a)}"' for a in ("rowspan", "colspan") if _span(cell, a) > 1)
        cells.append(f"<{cell.tag}{attrs}>{_html_inline(cell)}</{cell.tag}>")
    return "<tr>" + "".join(cells) + "</tr>"


def _html_inline(el: etree._Element) -> str:
    """Cell content as escaped text with sub/sup/bold/italic kept as HTML tags."""
    tags = {"sub": "sub", "sup": "sup", "bold": "b", "italic": "i"}
    parts = [html_escape(el.text or "", quote=False)]
    for child in el:
        if isinstance(child.tag, str):
            tag = tags.get(child.tag)
            inner = _html_inline(child)
            parts.append(f"<{tag}>{inner}</{tag}>" if tag else inner)
        parts.append(html_escape(child.tail or "", quote=False))
    return squash("".join(parts))
