"""JATS XML (PMC, eLife, PLOS) to Markdown with figures inline, in the spirit of s2orc-doc2json.

JATS is already structured, so this is a tree walk, not a layout problem: front matter gives the title,
authors, affiliations, abstract and metadata; ``<body>`` sections give headings by depth; ``<back>`` gives
acknowledgements, notes and references. Figures become inline images when the caller supplies the image
files (PMC ships them next to the ``.nxml``), tables become GFM (or HTML when cells span, since GFM
cannot express spans), formulas become LaTeX.

XML from the wild is parsed defensively: no DTD loading, no network, no entity substitution, no huge
trees, and any document that declares entities in its internal subset is refused before parsing, which
stops both entity-expansion bombs and external-entity (XXE) reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import PurePosixPath

from lxml import etree

from pin_assets.core.doc_assets import load_web_image
from pin_assets.core.document import ConversionError, ExtractedImage, ParsedDocument
from pin_assets.core.jats_math import MML_NS, formula_latex, mathml_to_latex, script_text
from pin_assets.core.markdown_text import escape_leading, md_text

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_IMAGE_EXTS = ("", ".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp")
_BLOCK_TAGS = {
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
_SKIP_TAGS = {
    "object-id",
    "alt-text",
    "supplementary-material",
    "media",
    "inline-graphic",
    "sub-article",
    "long-desc",
    "permissions",
    "table-wrap-foot-placeholder",
}
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def jats_to_markdown(
    data: bytes, *, assets: Mapping[str, bytes] | None = None, max_image_pixels: int | None = None
) -> ParsedDocument:
    """Convert a JATS article to Markdown; images come from ``assets`` keyed by file name.

    Raises ``ConversionError`` with reason ``unsafe`` (entity declarations), ``corrupt`` (not
    well-formed XML), ``unsupported`` (XML whose root is not ``<article>``) or ``limit`` (a figure
    declaring more than ``max_image_pixels`` pixels).
    """
    root = _without_jats_namespace(parse_xml_safely(data))
    if etree.QName(root).localname != "article":
        raise ConversionError(
            "unsupported", f"XML root is <{etree.QName(root).localname}>, not a JATS <article>"
        )
    ctx = _Context(assets or {}, max_image_pixels=max_image_pixels)
    blocks = _front_blocks(root, ctx) + _body_blocks(root, ctx) + _back_blocks(root, ctx)
    markdown = "\n\n".join(b for b in blocks if b.strip()) + "\n"
    metadata = article_metadata(root)
    if ctx.missing:
        metadata["missing_images"] = json.dumps(ctx.missing)
    title = metadata.get("title")
    language = root.get("{http://www.w3.org/XML/1998/namespace}lang")
    return ParsedDocument(
        markdown=markdown,
        images=ctx.images,
        title=title,
        language=language,
        metadata=metadata,
        warnings=ctx.warnings,
    )


# ---------------------------------------------------------------- parsing


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


def _without_jats_namespace(root: etree._Element) -> etree._Element:
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


def _root_start(data: bytes) -> int:
    """Offset of the first element start tag, i.e. the end of the prolog (where a DOCTYPE lives)."""
    for match in re.finditer(rb"<([^?!])", data):
        return match.start()
    return len(data)


# ---------------------------------------------------------------- context


@dataclass
class _Context:
    """Per-document state: the image assets, images extracted so far, and what went missing."""

    assets: Mapping[str, bytes]
    max_image_pixels: int | None = None
    images: list[ExtractedImage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def image(self, href: str, caption: str | None) -> ExtractedImage | None:
        """The asset for ``href`` (trying common extensions), or ``None`` recorded as missing."""
        data = _find_asset(self.assets, href)
        where = f"figure {href[:80]!r}"
        image = (
            load_web_image(data, caption, max_pixels=self.max_image_pixels, where=where)
            if data is not None else None
        )
        if image is None:
            self.missing.append(href)
            reason = "not supplied" if data is None else "not a readable image"
            self.warnings.append(f"figure image {href!r} {reason}; caption kept without image")
            return None
        self.images.append(image)
        return image


def _find_asset(assets: Mapping[str, bytes], href: str) -> bytes | None:
    names = [href, PurePosixPath(href).name]
    for name in names:
        for ext in _IMAGE_EXTS:
            if name + ext in assets:
                return assets[name + ext]
    return None


# ---------------------------------------------------------------- front matter


def _front_blocks(root: etree._Element, ctx: _Context) -> list[str]:
    meta = root.find("front/article-meta")
    if meta is None:
        return []
    blocks: list[str] = []
    title = meta.find("title-group/article-title")
    if title is not None:
        blocks.append("# " + _inline(title, ctx))
    authors = _authors(meta)
    if authors:
        blocks.append(", ".join(authors))
    affs = [_aff_text(aff) for aff in _author_affiliations(meta)]
    if affs:
        blocks.append("; ".join(a for a in affs if a))
    for abstract in meta.findall("abstract"):
        blocks.extend(_abstract_blocks(abstract, ctx))
    return blocks


def _authors(meta: etree._Element) -> list[str]:
    names = []
    for contrib in meta.iterfind("contrib-group/contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        collab = contrib.find("collab")
        if name is not None:
            names.append(_person_name(name, given_first=True))
        elif collab is not None:
            names.append(_plain(collab))
    return [n for n in names if n]


def _author_affiliations(meta: etree._Element) -> list[etree._Element]:
    """Affiliations of the authors only: editors and reviewers have their own contrib-groups and affs."""
    author_groups = [
        g for g in meta.iterfind("contrib-group") if g.find("contrib[@contrib-type='author']") is not None
    ]
    cited = {x.get("rid") for g in author_groups for x in g.iter("xref") if x.get("ref-type") == "aff"}
    affs = [a for g in author_groups for a in g.iterfind("aff")]
    affs += [a for a in meta.iterfind("aff") if not cited or a.get("id") in cited]
    return affs


def _person_name(name: etree._Element, *, given_first: bool) -> str:
    surname = _plain(name.find("surname")) if name.find("surname") is not None else ""
    given = _plain(name.find("given-names")) if name.find("given-names") is not None else ""
    parts = [given, surname] if given_first else [surname, given]
    return " ".join(p for p in parts if p)


def _aff_text(aff: etree._Element) -> str:
    """Institution, address and country joined by commas, labels dropped."""
    parts = [_plain(child) for child in aff if isinstance(child.tag, str) and child.tag != "label"]
    parts = [p for p in parts if p]
    if not parts:
        return _plain(aff)
    return ", ".join(parts)


def _abstract_blocks(abstract: etree._Element, ctx: _Context) -> list[str]:
    title_el = abstract.find("title")
    title = _plain(title_el) if title_el is not None else "Abstract"
    blocks = [f"## {title or 'Abstract'}"]
    blocks.extend(_children_blocks(abstract, ctx, depth=3))
    return blocks


def article_metadata(root: etree._Element) -> dict[str, str]:
    """DOI, PMCID, PMID, journal, license, publication date, title and authors as plain strings."""
    meta: dict[str, str] = {}
    article_meta = root.find("front/article-meta")
    journal = root.find("front/journal-meta//journal-title")
    if journal is not None:
        meta["journal"] = _plain(journal)
    if article_meta is None:
        return meta
    for article_id in article_meta.iterfind("article-id"):
        key = {"doi": "doi", "pmid": "pmid", "pmc": "pmcid", "pmcid": "pmcid"}.get(
            article_id.get("pub-id-type", "")
        )
        if key and article_id.text:
            value = article_id.text.strip()
            meta[key] = f"PMC{value}" if key == "pmcid" and value.isdigit() else value
    title = article_meta.find("title-group/article-title")
    if title is not None:
        meta["title"] = _plain(title)
    authors = _authors(article_meta)
    if authors:
        meta["authors"] = "; ".join(authors)
    license_text = _license(article_meta)
    if license_text:
        meta["license"] = license_text
    date = _pub_date(article_meta)
    if date:
        meta["publication_date"] = date
    return meta


def _license(article_meta: etree._Element) -> str | None:
    lic = article_meta.find("permissions/license")
    if lic is None:
        return None
    if lic.get(XLINK_HREF):
        return lic.get(XLINK_HREF).strip()
    for el in lic.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "license_ref" and el.text:
            return el.text.strip()
    return _plain(lic) or None


def _pub_date(article_meta: etree._Element) -> str | None:
    """The electronic/publication date as ``YYYY[-MM[-DD]]``, preferring epub, then pub, then any."""
    dates = article_meta.findall("pub-date")

    def rank(date: etree._Element) -> int:
        kind = date.get("pub-type") or date.get("date-type") or ""
        return {"epub": 0, "pub": 1, "ppub": 2, "collection": 3}.get(kind, 4)

    for date in sorted(dates, key=rank):
        year = (date.findtext("year") or "").strip()
        if not year.isdigit():
            continue
        parts = [year]
        for tag in ("month", "day"):
            value = (date.findtext(tag) or "").strip()
            if not value.isdigit():
                break
            parts.append(f"{int(value):02d}")
        return "-".join(parts)
    return None


# ---------------------------------------------------------------- body and back


def _body_blocks(root: etree._Element, ctx: _Context) -> list[str]:
    body = root.find("body")
    return _children_blocks(body, ctx, depth=2) if body is not None else []


def _back_blocks(root: etree._Element, ctx: _Context) -> list[str]:
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
            blocks.extend(_ref_list(child, ctx, 2))
        elif child.tag in _BACK_TITLES or child.tag in {"sec", "app-group", "app"}:
            blocks.extend(_section(child, ctx, depth=2, default_title=_BACK_TITLES.get(child.tag)))
        else:
            blocks.extend(_block(child, ctx, 2))
    return blocks


_BACK_TITLES = {"ack": "Acknowledgements", "fn-group": "Notes", "glossary": "Abbreviations", "notes": "Notes"}


def _section(sec: etree._Element, ctx: _Context, depth: int, default_title: str | None = None) -> list[str]:
    """A heading from ``label`` + ``title`` at ``depth`` (capped at 6), then its content one level down.
    A boxed text may carry its title in its caption; the caption's paragraphs stay in the body."""
    title_el = sec.find("title")
    if title_el is None and sec.tag == "boxed-text":
        title_el = sec.find("caption/title")
    label_el = sec.find("label")
    title = _heading_inline(title_el, ctx) if title_el is not None else (default_title or "")
    label = _plain(label_el) if label_el is not None else ""
    heading = " ".join(p for p in (label, title) if p)
    if not heading:  # an untitled wrapper (an app-group, a box) does not push its sections down a level
        return _children_blocks(sec, ctx, depth)
    return [f"{'#' * min(depth, 6)} {heading}"] + _children_blocks(sec, ctx, depth + 1)


def _children_blocks(parent: etree._Element, ctx: _Context, depth: int) -> list[str]:
    blocks: list[str] = []
    for child in parent:
        if isinstance(child.tag, str) and child.tag not in {"title", "label"}:
            blocks.extend(_block(child, ctx, depth))
    return blocks


def _block(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    """Markdown blocks for one block-level element; unknown elements fall back to their children."""
    tag = el.tag
    if tag in _SKIP_TAGS:
        return []
    handler = _BLOCK_HANDLERS.get(tag)
    if handler is not None:
        return handler(el, ctx, depth)
    if any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el):
        return _children_blocks(el, ctx, depth)
    text = _inline(el, ctx)
    return [escape_leading(text)] if text else []


def _paragraph(p: etree._Element, ctx: _Context, depth: int) -> list[str]:
    """A paragraph; block elements nested in it (figures, lists, formulas) split it in reading order."""
    blocks: list[str] = []
    run = _InlineRun(p.text)
    for child in p:
        if isinstance(child.tag, str) and child.tag in _BLOCK_TAGS:
            blocks.extend(run.flush(ctx))
            blocks.extend(_block(child, ctx, depth))
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

    def flush(self, ctx: _Context) -> list[str]:
        parts = [md_text(self.text)] + [_inline_el(c, ctx) + md_text(c.tail or "") for c in self.children]
        text = _squash("".join(parts))
        return [escape_leading(text)] if text else []


def _list(el: etree._Element, ctx: _Context, depth: int, indent: str = "") -> list[str]:
    ordered = el.get("list-type", "") in {"order", "alpha-lower", "alpha-upper", "roman-lower", "roman-upper"}
    lines: list[str] = []
    for number, item in enumerate(el.iterfind("list-item"), start=1):
        marker = f"{number}." if ordered else "-"
        lines.extend(_list_item(item, ctx, depth, indent, marker))
    return ["\n".join(lines)] if lines else []


def _list_item(item: etree._Element, ctx: _Context, depth: int, indent: str, marker: str) -> list[str]:
    texts: list[str] = []
    nested: list[str] = []
    for child in item:
        if not isinstance(child.tag, str) or child.tag == "label":
            continue
        if child.tag == "list":
            nested.extend(_list(child, ctx, depth, indent + " " * (len(marker) + 1)))
        else:
            texts.extend(b.replace("\n", " ") for b in _block(child, ctx, depth))
    line = f"{indent}{marker} {' '.join(texts)}".rstrip()
    return [line] + nested


def _figure(fig: etree._Element, ctx: _Context, depth: int) -> list[str]:
    """Image (when supplied) followed by ``label. title. caption`` as its own paragraph."""
    caption = _caption_text(fig, ctx)
    blocks: list[str] = []
    for graphic in fig.iter("graphic"):
        href = graphic.get(XLINK_HREF)
        if not href:
            continue
        image = ctx.image(href, _plain_caption(fig) or None)
        if image is not None:
            alt = _squash(_plain(fig.find("label")) if fig.find("label") is not None else "figure")
            blocks.append(f"![{_alt(alt)}](content_image/{image.name})")
    if caption:
        blocks.append(caption)
    return blocks


def _fig_group(group: etree._Element, ctx: _Context, depth: int) -> list[str]:
    blocks = []
    for child in group:
        if isinstance(child.tag, str) and child.tag in {"fig", "caption"}:
            blocks.extend(
                _figure(child, ctx, depth) if child.tag == "fig" else _children_blocks(child, ctx, depth)
            )
    return blocks


def _caption_text(el: etree._Element, ctx: _Context) -> str:
    label = el.find("label")
    caption = el.find("caption")
    parts = [_inline(label, ctx)] if label is not None else []
    if caption is not None:
        for child in caption:
            if isinstance(child.tag, str) and child.tag in {"title", "p"}:
                parts.append(_inline(child, ctx))
    return escape_leading(_squash(" ".join(p for p in parts if p)))


def _plain_caption(el: etree._Element) -> str:
    caption = el.find("caption")
    return _squash(_plain(caption)) if caption is not None else ""


def _table_wrap(wrap: etree._Element, ctx: _Context, depth: int) -> list[str]:
    """Caption above, the table (GFM or HTML), footnotes below; a graphic-only table is a figure."""
    blocks = []
    caption = _caption_text(wrap, ctx)
    if caption:
        blocks.append(caption)
    tables = list(wrap.iter("table"))
    for table in tables:
        blocks.append(_table(table, ctx))
    if not tables:
        blocks.extend(_figure_images_only(wrap.iter("graphic"), _plain_caption(wrap) or None, ctx))
    for foot in wrap.iterfind("table-wrap-foot"):
        blocks.extend(_children_blocks(foot, ctx, depth))
    return blocks


def _figure_images_only(graphics: Iterable[etree._Element], caption: str | None, ctx: _Context) -> list[str]:
    """Image links for graphics that stand without a figure caption (graphic-only tables, bare graphics)."""
    blocks = []
    for graphic in graphics:
        href = graphic.get(XLINK_HREF)
        image = ctx.image(href, caption) if href else None
        if image is not None:
            blocks.append(f"![image](content_image/{image.name})")
    return blocks


def _table(table: etree._Element, ctx: _Context) -> str:
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


def _cell_md(cell: etree._Element, ctx: _Context) -> str:
    return _squash(_inline(cell, ctx)).replace("|", "\\|")


def _html_table(table: etree._Element, ctx: _Context) -> str:
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
    return _squash("".join(parts))


def _formula_block(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    latex = formula_latex(el)
    label = el.find("label")
    tag = f" \\tag{{{_plain(label).strip('()')}}}" if label is not None and _plain(label) else ""
    if latex:
        return [f"$$\n{latex}{tag}\n$$"]
    text = _inline(el, ctx)
    return [text] if text else []


def _quote(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    inner = _children_blocks(el, ctx, depth)
    return ["\n>\n".join("\n".join("> " + line for line in b.split("\n")) for b in inner)] if inner else []


def _preformat(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    code = "".join(el.itertext()).strip("\n")
    fence = "~~~" if "```" in code else "```"
    return [f"{fence}\n{code}\n{fence}"]


def _def_list(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    items = []
    for item in el.iterfind("def-item"):
        term, definition = item.find("term"), item.find("def")
        term_md = _inline(term, ctx) if term is not None else ""
        def_md = " ".join(_children_blocks(definition, ctx, depth)) if definition is not None else ""
        items.append(f"- **{term_md}**: {def_md}" if term_md else f"- {def_md}")
    title = el.find("title")
    return ([f"{'#' * min(depth, 6)} {_inline(title, ctx)}"] if title is not None else []) + (
        ["\n".join(items)] if items else []
    )


def _citation_block(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    text = citation_text(el)
    return [escape_leading(md_text(text))] if text else []


def _graphic_block(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    return _figure_images_only([el], None, ctx)


def _ref_list(el: etree._Element, ctx: _Context, depth: int = 2) -> list[str]:
    """``## References`` and a numbered list, one entry per ``<ref>`` in document order; a reference
    list split into titled parts (primary sources, data sets) gets a heading per part."""
    title_el = el.find("title")
    title = _heading_inline(title_el, ctx) if title_el is not None else ""
    if not title and el.getparent() is not None and el.getparent().tag != "ref-list":
        title = "References"
    blocks = [f"{'#' * min(depth, 6)} {title}"] if title else []
    entries: list[str] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "ref-list":
            if entries:
                blocks.append("\n".join(entries))
                entries = []
            blocks.extend(_ref_list(child, ctx, depth + 1))
        elif child.tag == "ref":
            text = _ref_text(child)
            if text:
                entries.append(f"{len(entries) + 1}. {md_text(text)}")
    return blocks + (["\n".join(entries)] if entries else [])


def _ref_text(ref: etree._Element) -> str:
    """One reference as a line, from its citation elements or else its plain text."""
    citations = [
        c
        for c in ref
        if isinstance(c.tag, str) and c.tag in {"element-citation", "mixed-citation", "citation", "nlm-citation"}
    ]
    return " ".join(citation_text(c) for c in citations) or _squash(_plain(ref))


_BLOCK_HANDLERS: dict[str, Callable[[etree._Element, _Context, int], list[str]]] = {
    "sec": lambda el, ctx, depth: _section(el, ctx, depth),
    "app": lambda el, ctx, depth: _section(el, ctx, depth),
    "app-group": lambda el, ctx, depth: _section(el, ctx, depth),
    "fn-group": lambda el, ctx, depth: _fn_group(el, ctx, depth),
    "boxed-text": lambda el, ctx, depth: _section(el, ctx, depth),
    "ack": lambda el, ctx, depth: _section(el, ctx, depth, default_title=_BACK_TITLES["ack"]),
    "glossary": lambda el, ctx, depth: _section(el, ctx, depth, default_title=_BACK_TITLES["glossary"]),
    "p": _paragraph,
    "list": _list,
    "fig": _figure,
    "fig-group": _fig_group,
    "table-wrap": _table_wrap,
    "table-wrap-group": lambda el, ctx, depth: _children_blocks(el, ctx, depth),
    "disp-formula": _formula_block,
    "disp-quote": _quote,
    "preformat": _preformat,
    "code": _preformat,
    "def-list": _def_list,
    "element-citation": _citation_block,
    "mixed-citation": _citation_block,
    "graphic": _graphic_block,
    "ref-list": _ref_list,
}


def _fn_group(el: etree._Element, ctx: _Context, depth: int) -> list[str]:
    """Footnotes as a bullet list under the group's title (author contributions, competing interests)."""
    title_el = el.find("title")
    blocks = [f"{'#' * min(depth, 6)} {_heading_inline(title_el, ctx)}"] if title_el is not None else []
    items = []
    for fn in el.iterfind("fn"):
        text = " ".join(b.replace("\n", " ") for b in _children_blocks(fn, ctx, depth))
        if text:
            items.append(f"- {text}")
    return blocks + (["\n".join(items)] if items else [])


# ---------------------------------------------------------------- citations


def citation_text(el: etree._Element) -> str:
    """A citation as one line: mixed citations keep their own punctuation, element citations get some."""
    if (
        el.tag == "element-citation"
        or not (el.text or "").strip()
        and not any((c.tail or "").strip() for c in el)
    ):
        return _element_citation(el)
    return _squash(_mixed_citation(el))


def _mixed_citation(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            if child.tag == "name":
                parts.append(_person_name(child, given_first=False))
            elif child.tag != "label":
                parts.append(_mixed_citation(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _element_citation(el: etree._Element) -> str:
    """``Authors. Title. Source vol:pages (year). DOI: x, PMID: y`` from an unpunctuated citation."""
    names = [_person_name(n, given_first=False) for n in el.iter("name")]
    names += [_plain(c) for c in el.iter("collab")]
    title = _first_text(el, ("article-title", "data-title", "chapter-title"))
    source = _first_text(el, ("source",))
    volume, fpage, lpage = (_first_text(el, (t,)) for t in ("volume", "fpage", "lpage"))
    elocation, year = _first_text(el, ("elocation-id",)), _first_text(el, ("year",))
    pages = f"{fpage}–{lpage}" if fpage and lpage else fpage or elocation
    where = source + (f" {volume}" if volume else "") + (f":{pages}" if pages else "")
    where += f" ({year})" if year else ""
    ids = [
        f"{'DOI' if p.get('pub-id-type') == 'doi' else p.get('pub-id-type', '').upper()}: {_plain(p)}"
        for p in el.iter("pub-id")
    ]
    parts = [", ".join(n for n in names if n), title, where.strip(), ", ".join(ids)]
    return ". ".join(_squash(p).rstrip(".") for p in parts if _squash(p))


def _first_text(el: etree._Element, tags: tuple[str, ...]) -> str:
    for tag in tags:
        found = el.find(f".//{tag}")
        if found is not None:
            return _squash(_plain(found))
    return ""


# ---------------------------------------------------------------- inline


def _inline(el: etree._Element | None, ctx: _Context) -> str:
    """Inline Markdown of an element's content (its own text, children, not its tail)."""
    if el is None:
        return ""
    parts = [md_text(el.text or "")]
    for child in el:
        parts.append(_inline_el(child, ctx))
        parts.append(md_text(child.tail or ""))
    return _squash("".join(parts))


def _heading_inline(el: etree._Element, ctx: _Context) -> str:
    """A heading's inline Markdown without bold, which headings already are."""
    return _squash(_inline(el, ctx).replace("**", ""))


def _wrap(marker: str, inner: str) -> str:
    """Emphasis markers hugging the text (``** x **`` is not bold in CommonMark), spaces moved outside."""
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{marker}{stripped}{marker}{trail}"


def _inline_el(el: etree._Element, ctx: _Context) -> str:
    if not isinstance(el.tag, str):
        return ""
    tag = etree.QName(el).localname
    if tag in _SKIP_TAGS or tag in {"fn", "fig", "table-wrap"}:
        return ""
    if tag == "math":
        latex = mathml_to_latex(el)
        return f"${latex}$" if latex else md_text(_plain(el))
    if tag == "inline-formula":
        latex = formula_latex(el)
        return f"${latex}$" if latex else _inline(el, ctx)
    inner = _inline(el, ctx) if len(el) or el.text else ""
    if tag == "bold":
        return _wrap("**", inner)
    if tag == "italic":
        return _wrap("*", inner)
    if tag in {"sub", "sup"}:
        return script_text(tag, inner)
    if tag == "monospace":
        code = _squash("".join(el.itertext()))
        return f"`{code}`" if code and "`" not in code else inner
    if tag in {"break"}:
        return " "
    if tag == "name":
        return md_text(_person_name(el, given_first=True))
    return inner


# ---------------------------------------------------------------- text helpers


def _plain(el: etree._Element | None) -> str:
    return _squash("".join(el.itertext())) if el is not None else ""


def _squash(text: str) -> str:
    return " ".join(text.split())


def _alt(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")
