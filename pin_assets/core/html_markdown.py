"""HTML pages (web crawls, OBELICS-like) to Markdown: main content only, images inline in reading order.

Why a DOM walk and not trafilatura: on the reference corpus trafilatura (2.3, markdown output with
tables, images and formatting on) drops the page's ``<h1>`` into metadata, loses a table that follows
loose text, flattens ordered-list start numbers and row-spans, and needs ``lxml_html_clean`` just to
import. Measured with ``tools/score_md.py`` the walk below scores higher on every corpus file. Boilerplate
is removed the way readability-style extractors do it, by semantics and naming: the ``<main>`` (or single
``<article>``) element is the root when there is one, then navigation, headers outside it, footers,
asides, forms, hidden elements and anything whose id/class names a menu, banner, cookie notice, sidebar
or toolbar are dropped.

Images: ``data:`` URIs are decoded, relative paths are looked up in the document's assets (never outside), and
remote images are not fetched; each image that cannot be had is listed in ``metadata["missing_images"]``
(a JSON list) and in ``warnings``, and its alt text is kept in place of the image.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape as html_escape

import lxml.html
from lxml import etree

from pin_assets.core.doc_assets import load_web_image, normalize_reference
from pin_assets.core.document import ConversionError, ExtractedImage, ParsedDocument
from pin_assets.core.jats_markdown import mathml_to_latex, script_text
from pin_assets.core.markdown_text import escape_leading, md_text

_DROP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "input",
    "textarea",
    "iframe",
    "object",
    "embed",
    "dialog",
    "menu",
    "link",
    "meta",
    "svg",
    "canvas",
    "audio",
    "video",
    "map",
}
_DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "search",
    "complementary",
    "menu",
    "menubar",
    "dialog",
    "toolbar",
    "alert",
}
_BOILERPLATE = re.compile(
    r"cookie|consent|gdpr|banner|menu|navbar|navigation|(^|[\s_-])nav([\s_-]|$)|sidebar|breadcrumb|toolbar|"
    r"dropdown|portlet|share|social|advert|(^|[\s_-])ads?([\s_-]|$)|promo|newsletter|popup|modal|skip-?link|"
    r"jump-link|editsection|navbox|catlinks|printfooter|noprint|mw-indicator|site-?header|site-?footer|"
    r"related-?posts|comments?-?(section|list|area)",
    re.I,
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_BLOCK_TAGS = {
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
_HTML_PARSER = lxml.html.HTMLParser(huge_tree=True, no_network=True)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def html_to_markdown(
    data: bytes, *, assets: Mapping[str, bytes] | None = None, max_image_pixels: int | None = None
) -> ParsedDocument:
    """Convert an HTML page's main content to Markdown; local images come from ``assets``.

    ``assets`` maps paths relative to the page's folder (see :mod:`pin_assets.core.doc_assets`) to bytes.

    Raises ``ConversionError("empty")`` when the page has no text or image content, and ``limit`` when an
    image (a file or a ``data:`` URI) declares more than ``max_image_pixels`` pixels.
    """
    text, warnings = decode_html(data)
    try:
        # huge_tree lifts libxml2's 10 MB cap on one text node, which otherwise silently drops a long
        # single-line page and reports it "empty"; size and time are bounded by the document limits.
        doc = lxml.html.document_fromstring(text, parser=_HTML_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ConversionError("empty" if not text.strip() else "corrupt", f"unparsable HTML: {exc}") from exc
    metadata = _page_metadata(doc)
    root = _content_root(doc)
    _remove_boilerplate(root)
    ctx = _Context(assets=assets or {}, warnings=warnings, max_image_pixels=max_image_pixels)
    blocks = _blocks(root, ctx, list_indent="")
    markdown = "\n\n".join(b for b in blocks if b.strip())
    if not markdown.strip():
        raise ConversionError("empty", "the HTML page has no main content")
    if ctx.missing:
        metadata["missing_images"] = json.dumps(ctx.missing)
    title = metadata.get("title") or _first_heading(markdown)
    return ParsedDocument(
        markdown=markdown + "\n",
        images=ctx.images,
        title=title,
        language=metadata.get("language"),
        metadata=metadata,
        warnings=ctx.warnings,
    )


# ---------------------------------------------------------------- decoding and metadata


def decode_html(data: bytes) -> tuple[str, list[str]]:
    """Honour a BOM or ``<meta charset>``; otherwise UTF-8, with replacement and a warning if needed."""
    if not data.strip():
        raise ConversionError("empty", "the HTML file is empty")
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace"), []
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii", "replace").lower()
        try:
            return data.decode(name), []
        except LookupError:
            pass
        except UnicodeDecodeError:
            return data.decode(name, "replace"), [f"bytes invalid in the declared charset {name}; replaced"]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), ["HTML is not valid UTF-8 and declares no charset; replaced"]


def _page_metadata(doc: lxml.html.HtmlElement) -> dict[str, str]:
    meta: dict[str, str] = {}
    title = doc.findtext(".//title")
    if title and title.strip():
        meta["title"] = " ".join(title.split())
    lang = doc.get("lang") or doc.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        meta["language"] = lang.strip()
    for el in doc.iter("meta"):
        key = (el.get("name") or el.get("property") or "").lower()
        if key in {"description", "author", "og:url", "dc.rights", "dcterms.license"} and el.get("content"):
            meta[{"og:url": "url", "dc.rights": "license", "dcterms.license": "license"}.get(key, key)] = (
                el.get("content").strip()
            )
    for el in doc.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href"):
            meta["url"] = el.get("href").strip()
        if "license" in rel and el.get("href"):
            meta["license"] = el.get("href").strip()
    return meta


def _first_heading(markdown: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+)$", markdown, re.M)
    return match.group(1).strip() if match else None


# ---------------------------------------------------------------- main content


def _content_root(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """``<main>``/``role=main``, else a single ``<article>``, else ``<body>``: the page's own declaration
    of its main content beats any scoring heuristic when the page makes it."""
    for xpath in ("//main", "//*[@role='main']"):
        found = [el for el in doc.xpath(xpath) if el.text_content().strip()]
        if found:
            return max(found, key=lambda el: len(el.text_content()))
    articles = doc.xpath("//article")
    if len(articles) == 1 and articles[0].text_content().strip():
        return articles[0]
    body = doc.find("body")
    return body if body is not None else doc


def _remove_boilerplate(root: lxml.html.HtmlElement) -> None:
    doomed = [el for el in root.iter() if el is not root and _is_boilerplate(el)]
    for el in doomed:
        parent = el.getparent()
        if parent is not None:
            _drop_keep_tail(el)


def _is_boilerplate(el: etree._Element) -> bool:
    if not isinstance(el.tag, str):
        return True
    if el.tag in _DROP_TAGS or (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
        return True
    if _HIDDEN_STYLE.search(el.get("style") or ""):
        return True
    names = f"{el.get('id') or ''} {el.get('class') or ''}"
    return bool(names.strip()) and bool(_BOILERPLATE.search(names))


def _drop_keep_tail(el: etree._Element) -> None:
    """Remove an element but keep the text that follows it (lxml stores it on the element as ``tail``)."""
    parent = el.getparent()
    tail = el.tail or ""
    previous = el.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


# ---------------------------------------------------------------- images


@dataclass
class _Context:
    """Per-page state: where local images may be read from, images found, and what went missing."""

    assets: Mapping[str, bytes]
    warnings: list[str]
    max_image_pixels: int | None = None
    images: list[ExtractedImage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def image(self, src: str, alt: str) -> ExtractedImage | None:
        data, problem = _image_bytes(src, self.assets)
        where = f"image {src[:80]!r}"
        image = (
            load_web_image(data, alt or None, max_pixels=self.max_image_pixels, where=where)
            if data is not None else None
        )
        if image is None:
            self.missing.append(src[:200])
            self.warnings.append(f"image {src[:120]!r} not included: {problem or 'not a readable image'}")
            return None
        self.images.append(image)
        return image


def _image_bytes(src: str, assets: Mapping[str, bytes]) -> tuple[bytes | None, str | None]:
    """Bytes for an ``<img src>``, or ``None`` and why: remote and out-of-tree files are never read."""
    src = src.strip()
    if src.startswith("data:"):
        return _data_uri(src)
    parsed = urllib.parse.urlparse(src)
    if parsed.scheme in {"http", "https"} or src.startswith("//"):
        return None, "remote image not fetched"
    if parsed.scheme or parsed.netloc:
        return None, f"unsupported URL scheme {parsed.scheme!r}"
    key = normalize_reference(urllib.parse.unquote(parsed.path))
    if key is None:
        return None, "path escapes the document folder"
    if key not in assets:
        return None, "file not found in the document folder"
    return assets[key], None


def _data_uri(src: str) -> tuple[bytes | None, str | None]:
    header, _, payload = src.partition(",")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False), None
        return urllib.parse.unquote_to_bytes(payload), None
    except ValueError:
        return None, "undecodable data: URI"


def _image_md(el: etree._Element, ctx: _Context) -> str:
    """``![alt](content_image/name)`` for an image we have, else its alt text (or nothing)."""
    src = el.get("src") or el.get("data-src") or ""
    alt = " ".join((el.get("alt") or "").split())
    if not src:
        return md_text(alt)
    image = ctx.image(src, alt)
    if image is None:
        return md_text(alt)
    return f"![{alt.replace('[', '(').replace(']', ')')}](content_image/{image.name})"


# ---------------------------------------------------------------- blocks


def _blocks(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    """Blocks of an element's content in order; loose inline content between blocks becomes paragraphs."""
    blocks: list[str] = []
    run: list[str] = [md_text(_collapse(el.text or ""))]
    for child in el:
        if isinstance(child.tag, str) and child.tag in _BLOCK_TAGS:
            blocks.extend(_flush(run))
            blocks.extend(_block(child, ctx, list_indent))
            run = [md_text(_collapse(child.tail or ""))]
        else:
            run.append(_inline_el(child, ctx) + md_text(_collapse(child.tail or "")))
    blocks.extend(_flush(run))
    return blocks


def _flush(run: list[str]) -> list[str]:
    text = _tidy("".join(run))
    run.clear()
    return [escape_leading(text)] if text else []


def _block(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    handler = _HANDLERS.get(el.tag)
    if handler is not None:
        return handler(el, ctx, list_indent)
    return _blocks(el, ctx, list_indent)


def _heading(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    text = _tidy(_inline(el, ctx)).replace("**", "")
    return [f"{'#' * int(el.tag[1])} {text}"] if text else []


def _list(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    """Ordered lists keep ``start``; nested lists are indented to their parent item's content column."""
    ordered = el.tag == "ol"
    start = int(el.get("start")) if ordered and (el.get("start") or "").isdigit() else 1
    lines: list[str] = []
    for number, item in enumerate((c for c in el if c.tag == "li"), start=start):
        marker = f"{number}." if ordered else "-"
        lines.extend(_list_item(item, ctx, list_indent, marker))
    return ["\n".join(lines)] if lines else []


def _list_item(item: etree._Element, ctx: _Context, indent: str, marker: str) -> list[str]:
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
            own.append(block.replace("\n", " "))
    if not own and not below:
        return []
    return [f"{indent}{marker} {' '.join(own)}".rstrip()] + below


def _pre(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    code = "".join(el.itertext()).strip("\n")
    code = _dedent(code)
    fence = "~~~" if "```" in code else "```"
    return [f"{fence}\n{code}\n{fence}"] if code.strip() else []


def _dedent(code: str) -> str:
    lines = code.split("\n")
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(widths) if widths else 0
    return "\n".join(line[cut:] for line in lines).rstrip()


def _blockquote(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    inner = _blocks(el, ctx, "")
    if not inner:
        return []
    return ["\n>\n".join("\n".join(f"> {line}" if line else ">" for line in b.split("\n")) for b in inner)]


def _figure(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    """Images first, then the caption as its own paragraph, whatever the source order."""
    caption = el.find(".//figcaption")
    images = [_image_md(img, ctx) for img in el.iter("img")]
    blocks = [img for img in images if img]
    if caption is not None:
        text = _tidy(_inline(caption, ctx))
        if text and text not in blocks:
            blocks.append(escape_leading(text))
    return blocks


def _definition_list(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
    items, term = [], ""
    for child in el:
        if child.tag == "dt":
            term = _tidy(_inline(child, ctx))
        elif child.tag == "dd":
            text = _tidy(_inline(child, ctx))
            items.append(f"- **{term}**: {text}" if term else f"- {text}")
            term = ""
    return ["\n".join(items)] if items else []


def _table(el: etree._Element, ctx: _Context, list_indent: str) -> list[str]:
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


def _cell_md(cell: etree._Element, ctx: _Context) -> str:
    """A cell's content on one line: nested blocks are joined with spaces, pipes escaped."""
    text = " ".join(b.replace("\n", " ") for b in _blocks(cell, ctx, ""))
    return _tidy(text).replace("|", "\\|")


def _html_table(rows: list[list[etree._Element]], ctx: _Context) -> str:
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


_HANDLERS: dict[str, Callable[[etree._Element, _Context, str], list[str]]] = {
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


def _inline(el: etree._Element, ctx: _Context) -> str:
    parts = [md_text(_collapse(el.text or ""))]
    for child in el:
        parts.append(_inline_el(child, ctx))
        parts.append(md_text(_collapse(child.tail or "")))
    return "".join(parts)


def _inline_el(el: etree._Element, ctx: _Context) -> str:
    if not isinstance(el.tag, str):
        return ""
    tag = el.tag.split("}")[-1]
    if tag == "img":
        return _image_md(el, ctx)
    if tag == "br":
        return " "
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
    if tag in _BLOCK_TAGS:
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
    text = re.sub(r" {2,}", " ", text).strip()
    return re.sub(r" ([.,;:!?)])(?=\s|$)", r"\1", text)


