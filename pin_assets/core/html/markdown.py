"""HTML pages (web crawls, OBELICS-like, WARC records) to Markdown: main content only, images inline.

The text is trafilatura's: its extraction decides what the main content is, and its own Markdown writer
writes it, except where the page's DOM gives the same words more structure (a table's header row, cells
that span, a page trafilatura flattened into lines), see :mod:`pin_assets.core.html.merge`. So the words of
a record are exactly those of ``trafilatura.extract(..., output_format="markdown")`` with comments off,
while images stand where the page has them, with their alt text (captions travel with each image).
Comments are left out unless ``comments`` asks for them (after the main content); the page's ``<h1>``,
which trafilatura files under metadata, goes on top only when ``title_heading`` asks for it.

When trafilatura finds no main content, no page is lost: the body is converted with boilerplate removed
the way readability-style extractors do it (``<main>``/``<article>`` as the root when there is one, then
navigation, headers, footers, asides, forms, hidden elements and anything whose id/class names a menu,
banner, cookie notice, sidebar or toolbar dropped), and the page is flagged ``main_content_fallback``.
Only a page with no text and no image at all is refused (``empty``).

Images: see :mod:`pin_assets.core.html.images` (lazy attributes, ``srcset``, ``<picture>``, ``<base>``, the
``missing_image/N`` form of an image without bytes) and :mod:`pin_assets.core.html.image_fetch` (remote
images fetched when ``fetch`` is given). ``metadata["missing_images"]`` lists the main content's missing
images only, by absolute URL, and ``missing_image_reasons`` why each is missing.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

from pin_assets.core.document import ConversionError, ParsedDocument
from pin_assets.core.html.charset import decode_html
from pin_assets.core.html.dom import walk
from pin_assets.core.html.images import Fetch, ImageContext, page_base
from pin_assets.core.html.main_content import MainContent, extract_main, first_words
from pin_assets.core.html.merge import INVISIBLE, merge_markdown
from pin_assets.core.limits import limit_exceeded
from pin_assets.core.markup.html import is_hidden, parse_html, remove_hidden, remove_keep_tail, strip_invisible
from pin_assets.core.markup.markdown import md_text
from pin_assets.core.paginate import PAGE_CHARS

if TYPE_CHECKING:
    from pin_assets.core.kinds import ConvertJob

__all__ = ["convert_html", "decode_html", "html_body_to_markdown", "html_to_markdown"]

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
FALLBACK_FLAG = "main_content_fallback"


def convert_html(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``html`` kind's converter: main content, local and same-WARC images, remote ones fetched as
    ``limits.web`` says, text capped at what ``max_pages`` compiled pages hold."""
    from pin_assets.core.html.image_fetch import page_fetcher

    limits = job.limits
    return html_to_markdown(data, assets=job.assets, max_image_pixels=limits.max_image_pixels, url=job.url,
                            max_text_chars=limits.max_pages * PAGE_CHARS, comments=limits.web.comments,
                            title_heading=limits.web.title_heading, fetch=page_fetcher(limits, job.url))


def html_to_markdown(
    data: bytes,
    *,
    assets: Mapping[str, bytes] | None = None,
    max_image_pixels: int | None = None,
    url: str | None = None,
    content_type: str | None = None,
    max_text_chars: int | None = None,
    comments: bool = False,
    title_heading: bool = False,
    fetch: Fetch | None = None,
) -> ParsedDocument:
    """Convert an HTML page's main content to Markdown; local images come from ``assets``.

    ``assets`` maps paths relative to the page's folder (see :mod:`pin_assets.core.sources.assets`), or
    absolute URLs (images captured in the same WARC), to bytes. ``url`` is the page's own URL, against
    which relative references resolve; ``content_type`` its HTTP header, whose charset wins over the page's.
    ``comments`` keeps the comments after the main content, ``title_heading`` puts the page's ``<h1>`` on
    top when trafilatura left it out, and ``fetch`` (an :class:`~pin_assets.core.html.image_fetch.ImageFetcher`)
    fetches the remote images the main content shows.

    Raises ``ConversionError("empty")`` when the page has no text or image content, and ``limit`` when an
    image (a file or a ``data:`` URI) declares more than ``max_image_pixels`` pixels or the page holds more
    than ``max_text_chars`` characters of text (checked before main-content detection, whose cost grows
    with the page: a 10 MB page would spend minutes there only to be refused by the page limit after).
    """
    text, warnings = decode_html(data, content_type)
    doc = parse_html(text)
    if max_text_chars is not None and (chars := len(doc.text_content())) > max_text_chars:
        raise limit_exceeded("max_pages", "the text of the HTML page in characters (what max_pages compiled "
                             "pages hold)", chars, max_text_chars)
    metadata = _page_metadata(doc)
    if url:
        metadata.setdefault("url", url)
    markdown, ctx = html_body_to_markdown(
        doc, assets=assets, max_image_pixels=max_image_pixels, url=url, warnings=warnings, metadata=metadata,
        comments=comments, title_heading=title_heading, fetch=fetch,
    )
    if not markdown.strip():
        raise ConversionError("empty", "the HTML page has no text and no images")
    if ctx.missing:
        metadata["missing_images"] = json.dumps(ctx.missing)
        metadata["missing_image_reasons"] = json.dumps(ctx.missing_reasons)
    title = metadata.get("title") or _first_heading(markdown)
    return ParsedDocument(
        markdown=markdown + "\n",
        images=ctx.images,
        title=title,
        language=metadata.get("language"),
        metadata=metadata,
        warnings=ctx.warnings,
    )


def html_body_to_markdown(
    doc: lxml.html.HtmlElement,
    *,
    assets: Mapping[str, bytes] | None,
    max_image_pixels: int | None,
    url: str | None = None,
    main_content: bool = True,
    warnings: list[str] | None = None,
    metadata: dict[str, str] | None = None,
    comments: bool = False,
    title_heading: bool = False,
    fetch: Fetch | None = None,
) -> tuple[str, ImageContext]:
    """The body of a parsed HTML or XHTML document (:func:`~pin_assets.core.markup.html.parse_html`) as
    Markdown with its images in their documented forms, and the context that holds its images, missing
    images and warnings.

    With ``main_content`` trafilatura decides what is content (a web page; ``comments`` and
    ``title_heading`` as in :func:`html_to_markdown`); it sees the page as served, hidden elements included,
    so it decides as it does for anyone calling it. Without it the whole visible body is converted (a book's
    chapter, which holds nothing but content and where detection could only lose text). ``metadata``
    receives the fallback flag; ``fetch`` fetches remote images.
    """
    ctx = ImageContext(
        assets=assets or {}, warnings=warnings if warnings is not None else [], base_url=page_base(doc, url),
        max_image_pixels=max_image_pixels,
    )
    if main_content:
        markdown = _main_content(doc, url, ctx, metadata if metadata is not None else {}, comments, title_heading)
    else:
        remove_hidden(doc)
        markdown = walk(_visible_body(doc), ctx)
    # one form of each character, as trafilatura writes its text, and none that is invisible
    return INVISIBLE.sub("", unicodedata.normalize("NFC", ctx.resolve(markdown, fetch))), ctx


def _main_content(doc: lxml.html.HtmlElement, url: str | None, ctx: ImageContext, metadata: dict[str, str],
                  comments: bool, title_heading: bool) -> str:
    """trafilatura's main content with the page's structure (:mod:`pin_assets.core.html.merge`); the body
    without boilerplate when it finds none (the page is then flagged)."""
    main = extract_main(doc, url, comments=comments)
    markdown = merge_markdown(main, ctx) if main is not None else ""
    if markdown.strip():
        return _with_title_heading(markdown, doc, metadata, main) if title_heading else markdown
    metadata[FALLBACK_FLAG] = "true"
    return _fallback(doc, ctx)


def _with_title_heading(markdown: str, doc: lxml.html.HtmlElement, metadata: dict[str, str],
                        main: MainContent) -> str:
    """Put the page's ``<h1>`` on top when trafilatura left it out of the text (it files a page's title under
    metadata) and it is the article's title: it names the page (``<title>``, ``og:title``) or stands just
    before the main content. The ``title_heading`` setting asks for it."""
    if re.match(r"#\s", markdown):
        return markdown
    h1 = next((el for el in doc.iter("h1") if el.text_content().strip()), None)
    if h1 is None:
        return markdown
    heading = " ".join(h1.text_content().split())
    titles = [metadata.get("title", ""), *(m.get("content", "") for m in doc.xpath("//meta[@property='og:title']"))]
    squash = "".join(heading.split())
    named = any(squash and squash in "".join(t.split()) for t in titles if t.strip())
    if heading in markdown or not (named or _just_before(h1, first_words(main))):
        return markdown
    return f"# {md_text(heading)}\n\n{markdown}"


_FOLLOWING_TEXT = etree.XPath("following::text()")
_TITLE_GAP = 200  # characters of other text (a date line, a byline) between a title and its article


def _just_before(h1: etree._Element, words: str | None) -> bool:
    """Whether the main content starts within a few lines after ``h1`` (``words`` are its first words)."""
    if not words:
        return False
    gap = 0
    for text in _FOLLOWING_TEXT(h1):
        flat = " ".join(text.split())
        if words in flat:
            return True
        parent = text.getparent()
        if parent is not None and (parent is h1 or h1 in parent.iterancestors()) and not text.is_tail:
            continue  # the heading's own words
        gap += len(flat)
        if gap > _TITLE_GAP:
            return False
    return False


def _visible_body(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A copy of the body without scripts, styles and other elements that show no text."""
    body = doc.find("body")
    root = copy.deepcopy(body if body is not None else doc)
    strip_invisible(root)
    return root


# ---------------------------------------------------------------- metadata


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

# ---------------------------------------------------------------- fallback: the body without boilerplate


def _fallback(doc: lxml.html.HtmlElement, ctx: ImageContext) -> str:
    """The declared main region (or the body) without boilerplate; if the naming rules leave nothing
    (a page whose wrapper is called ``menu-container``), the body without its non-content elements."""
    doc = copy.deepcopy(doc)
    remove_hidden(doc)
    for strict in (True, False):
        body = doc.find("body")
        root = _content_root(copy.deepcopy(doc)) if strict else copy.deepcopy(body if body is not None else doc)
        _remove_boilerplate(root, by_name=strict)
        markdown = walk(root, ctx)
        if markdown.strip():
            return markdown
    return ""


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


def _remove_boilerplate(root: lxml.html.HtmlElement, *, by_name: bool = True) -> None:
    doomed = [el for el in root.iter() if el is not root and _is_boilerplate(el, by_name)]
    for el in doomed:
        parent = el.getparent()
        if parent is not None:
            remove_keep_tail(el)


def _is_boilerplate(el: etree._Element, by_name: bool = True) -> bool:
    if not isinstance(el.tag, str):
        return True
    if el.tag in _DROP_TAGS or (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    if is_hidden(el):
        return True
    names = f"{el.get('id') or ''} {el.get('class') or ''}"
    return by_name and bool(names.strip()) and bool(_BOILERPLATE.search(names))
