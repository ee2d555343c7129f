"""The HTML that LaTeXML (or the pandoc fallback) makes of a paper, to Markdown through the shared HTML walk.

LaTeXML's HTML is the one arXiv serves for its papers: sections are ``<section>`` with ``<h2>``..``<h6>``,
formulas are MathML whose ``alttext`` is the TeX, display equations are tables (one row per line of an
``align``, one cell per column, the number in a cell of its own), theorems are ``div.ltx_theorem`` with a
run-in title, footnotes sit inline in ``span.ltx_note``, figures carry our ``span.pin_graphic`` (see
``latexml/pin-html5.xsl``) with the file LaTeXML resolved. This module rewrites those idioms into the plain
HTML the project's body converter (:func:`~pin_assets.core.html.markdown.html_body_to_markdown`, shared
with web pages and EPUB) already writes well, so there is one HTML-to-Markdown converter, not a third one:

* display equations become ``<math display="block">`` with the TeX of the whole display: a single
  formula as LaTeXML kept it, an ``align``/``eqnarray`` as ``\\begin{aligned}`` rows joined by ``\\\\`` and
  cells by ``&`` (a ``gather`` as ``gathered``); numbers are dropped. The walker writes ``$$...$$``;
* theorem-like titles, ``\\paragraph`` titles and proofs become a bold (italic for proofs) lead-in;
* footnotes become GFM footnotes (``[^1]`` in place, ``[^1]: text`` at the end);
* figures become content images in place with their captions; subfigures keep their own; SVG drawings
  (``picture``, TikZ) are rendered to PNG; tables keep their captions (GFM, HTML where cells span);
* list labels LaTeX generates are dropped (Markdown numbers lists), labels an author wrote are kept;
* LaTeXML's marks for what it could not read (``ltx_ERROR``: an undefined macro) are dropped and counted.

pandoc's HTML (``--mathjax``: TeX in ``span.math``) is brought to the same shape by :func:`pandoc_markdown`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lxml import etree

from pin_assets.core.document import ParsedDocument
from pin_assets.core.html.dom import walk
from pin_assets.core.html.markdown import html_body_to_markdown
from pin_assets.core.latex.figures import FigureFiles
from pin_assets.core.markup.html import parse_html, remove_keep_tail

_NOTE_OPEN, _NOTE_CLOSE = "\ue010", "\ue011"  # a footnote's place until the walk is done
_NOTE_PLACE = re.compile(f"{_NOTE_OPEN}(\\d+){_NOTE_CLOSE}")
_BLOCKS = {"div", "p", "table", "figure", "ul", "ol", "dl", "pre", "blockquote", "section",
           "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
_GENERATED_BULLETS = {"•", "∙", "◦", "▪", "‣", "–", "-", "*", "·", "○"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XML 1.0 text may not hold
_DISPLAYSTYLE = re.compile(r"^\s*\\displaystyle\b\s*")
_LABEL = re.compile(r"\\(?:label|tag\*?)\s*\{[^{}]*\}|\\nonumber\b|\\notag\b")
_TEX_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_CONTINUATION = re.compile(r"(?<!\\)%\n[ \t]*")
_SIZED_DELIMITER = re.compile(r"(\\(?:big|Big|bigg|Bigg)[lrm]?)\{(\\[A-Za-z]+|\\?[^{}\sA-Za-z\\])\}")
_USELESS_ALT = {"refer to caption", "[uncaptioned image]", "[logo]"}


@dataclass
class _State:
    """What the rewrite collects on the way: images' bytes by the key their ``<img>`` now names, notes."""

    figures: FigureFiles
    assets: dict[str, bytes] = field(default_factory=dict)
    notes: list[etree._Element] = field(default_factory=list)
    missing_figures: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)


def classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _by_class(root: etree._Element, name: str, tag: str = "*") -> list[etree._Element]:
    return root.xpath(f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")


def _unwrap(el: etree._Element) -> None:
    """Replace ``el`` by its children (text and tail kept)."""
    parent = el.getparent()
    if parent is None:
        return
    index = parent.index(el)
    children = list(el)
    previous = el.getprevious()
    lead = el.text or ""
    if previous is not None:
        previous.tail = (previous.tail or "") + lead
    else:
        parent.text = (parent.text or "") + lead
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + (el.tail or "")
    else:
        holder = parent[index - 1] if index > 0 else None
        if holder is not None:
            holder.tail = (holder.tail or "") + (el.tail or "")
        else:
            parent.text = (parent.text or "") + (el.tail or "")
    parent.remove(el)


def _xml_text(html: bytes) -> str:
    """A converter's HTML as text lxml accepts back: C0 control characters are dropped, since libxml2 keeps
    them in the tree but refuses them when the walk sets text. pandoc wrote a BEL (U+0007) at the end of each
    proof of arXiv 1712.03494, which redefines the proof environment, and that failed the whole paper with a
    ``ValueError`` instead of converting it."""
    return _CONTROL.sub("", html.decode("utf-8", "replace"))


def _text(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _replace(old: etree._Element, new: etree._Element) -> None:
    new.tail = old.tail
    old.getparent().replace(old, new)


# ---------------------------------------------------------------- the shared tail


def _finish(doc: etree._Element, root: etree._Element, state: _State, *, max_image_pixels: int | None,
            metadata: dict[str, str], warnings: list[str]) -> ParsedDocument:
    """Blocks out of inline wrappers, the shared body converter (no main-content detection: a paper is all
    content), then the footnotes put in."""
    _blocks_out_of_inline(root)
    markdown, ctx = html_body_to_markdown(doc, assets=state.assets, max_image_pixels=max_image_pixels,
                                          main_content=False, warnings=warnings)
    notes = []
    for number, note in enumerate(state.notes, start=1):
        text = " ".join(walk(note, ctx).split())
        notes.append(f"[^{number}]: {text}" if text else "")
    markdown = _NOTE_PLACE.sub(lambda m: f"[^{m.group(1)}]" if notes[int(m.group(1)) - 1] else "", markdown)
    written = [line for line in notes if line]
    if written:
        markdown = markdown.rstrip() + "\n\n" + "\n".join(written)
    missing = sorted(set(state.missing_figures + ctx.missing))
    if missing:
        metadata["missing_images"] = json.dumps(missing)
    warnings += state.figures.warnings
    return ParsedDocument(markdown=markdown.strip() + "\n", images=ctx.images, title=metadata.get("title"),
                          metadata=metadata, warnings=warnings)


def _blocks_out_of_inline(root: etree._Element) -> None:
    """An inline element holding blocks (LaTeXML's ``span.ltx_inline-block`` around a tabular, a display
    formula inside a ``span``) becomes a block, or the walk would flatten the blocks into running text."""
    for el in list(root.iter("span", "a", "em", "b", "i", "cite", "small", "big", "u", "font")):
        if any(isinstance(d.tag, str) and (d.tag in _BLOCKS or (d.tag == "math" and d.get("display") == "block"))
               for d in el.iterdescendants()):
            el.tag = "div"


def _images(root: etree._Element, state: _State, sources: Callable[[etree._Element], list[str]]) -> None:
    """Every ``<img>`` whose file the e-print holds now names a converted web image in ``state.assets``."""
    for number, img in enumerate(list(root.iter("img"))):
        names = [n for n in sources(img) if n]
        alt = (img.get("alt") or "").strip()
        img.set("alt", "" if alt.lower() in _USELESS_ALT else alt)
        path = state.figures.find(names)
        data = state.figures.image_bytes(path) if path else None
        if data is None:
            state.missing_figures.append(names[0] if names else "(no file named)")
            remove_keep_tail(img)
            continue
        key = f"pin-figure/{number}"
        state.assets[key] = data
        img.set("src", key)
        for attribute in ("srcset", "data-src"):
            img.attrib.pop(attribute, None)


def _svgs(root: etree._Element, state: _State) -> None:
    """Inline SVG drawings (LaTeXML's ``picture`` and TikZ output) as rendered PNG images."""
    for number, svg in enumerate(list(root.iter("svg"))):
        if any(a.tag == "svg" for a in svg.iterancestors()):
            continue
        svg.set("xmlns", "http://www.w3.org/2000/svg")
        data = state.figures.svg_image(etree.tostring(svg), f"drawing {number + 1}")
        if data is None:
            remove_keep_tail(svg)
            continue
        key = f"pin-drawing/{number}"
        state.assets[key] = data
        _replace(svg, etree.Element("img", src=key, alt=""))


def _figure_blocks(root: etree._Element) -> None:
    """A figure the walk would mishandle becomes a plain block with its caption as a paragraph: one that
    holds other figures (subfigures keep their own captions), or one without any image (a table, a
    float of text)."""
    for fig in list(root.iter("figure")):
        nested = any(d.tag == "figure" for d in fig.iterdescendants())
        if nested or not any(True for _ in fig.iter("img")):
            fig.tag = "div"
            for caption in fig.findall("figcaption"):
                caption.tag = "p"


def _run_in(title: etree._Element, *, italic: bool = False) -> None:
    """A run-in heading (theorem, proof, ``\\paragraph``) as a bold or italic lead-in of what follows."""
    text = _text(title)
    if not text:
        remove_keep_tail(title)
        return
    lead = etree.Element("i" if italic else "b")
    lead.text = text
    target = _lead_target(title.getnext())
    if target is not None:
        lead.tail = " " + (target.text or "").lstrip()
        target.text = None
        target.insert(0, lead)
        remove_keep_tail(title)
    else:
        paragraph = etree.Element("p")
        paragraph.append(lead)
        _replace(title, paragraph)


def _lead_target(el: etree._Element | None) -> etree._Element | None:
    """The paragraph a run-in title leads into: the next element when it is one, or the paragraph the next
    block begins with (LaTeXML wraps each paragraph in a ``div.ltx_para``)."""
    while el is not None and el.tag == "div" and not (el.text or "").strip():
        children = [c for c in el if isinstance(c.tag, str)]
        el = children[0] if children else None
    return el if el is not None and el.tag == "p" else None


def _drop(root: etree._Element, names: Iterable[str]) -> None:
    for name in names:
        for el in _by_class(root, name):
            remove_keep_tail(el)


def _dollar_tex(tex: str) -> str:
    """Display TeX without what only numbering needs (``\\label``, ``\\tag``, ``\\nonumber``) or comments."""
    return " ".join(_LABEL.sub("", _TEX_COMMENT.sub("", tex)).split())


def _math(tex: str, display: bool) -> etree._Element:
    el = etree.Element("math", display="block" if display else "inline", alttext=tex)
    return el


# ---------------------------------------------------------------- LaTeXML


def latexml_markdown(html: bytes, figures: FigureFiles, *, max_image_pixels: int | None = None) -> ParsedDocument:
    """Markdown of LaTeXML's HTML5 for one paper; images come from ``figures``."""
    doc = parse_html(_xml_text(html))
    articles = _by_class(doc, "ltx_document")
    body = doc.find("body")
    if articles and body is not None:  # the paper only: not LaTeXML's page header, footer or logo
        article = articles[0]
        for child in list(body):
            body.remove(child)
        body.append(article)
    root = articles[0] if articles else body if body is not None else doc
    state = _State(figures)
    warnings: list[str] = []
    for el in list(root.iter("script", "style", "nav", "footer")):
        remove_keep_tail(el)
    _drop(root, ("ltx_page_footer", "ltx_page_header", "ltx_TOC", "ltx_listing_data", "ltx_rdf"))
    for error in _by_class(root, "ltx_ERROR"):
        state.undefined.append(_text(error))
        remove_keep_tail(error)
    for math in root.iter("math"):
        if math.get("alttext"):
            math.set("alttext", _alttext(math.get("alttext")))
    _latexml_notes(root, state)
    metadata = _latexml_front(root)
    _latexml_equations(root)
    _images(root, state, lambda img: _graphic_names(img))
    for span in _by_class(root, "pin_graphic"):
        _unwrap(span)
    _svgs(root, state)
    _figure_blocks(root)
    _latexml_titles(root)
    _latexml_lists(root)
    _latexml_fonts(root)
    _latexml_listings(root)
    _latexml_bibliography(root)
    for cite in list(root.iter("cite")):
        cite.tag = "span"  # the walk would italicize it
    if state.undefined:
        metadata["latexml_undefined"] = " ".join(sorted(set(state.undefined)))[:2000]
        warnings.append(f"LaTeXML could not read {len(state.undefined)} commands (undefined macros); left out")
    return _finish(doc, root, state, max_image_pixels=max_image_pixels, metadata=metadata, warnings=warnings)


def _alttext(tex: str) -> str:
    """LaTeXML's TeX as a renderer reads it: its line breaks ("%" + newline) joined, and ``\\bigg{(}`` (its
    spelling of a sized delimiter, which MathJax and KaTeX refuse) written ``\\bigg(``."""
    def unbrace(match: re.Match[str]) -> str:
        delimiter = match.group(2)
        return match.group(1) + delimiter + (" " if delimiter[-1:].isalpha() else "")

    return _SIZED_DELIMITER.sub(unbrace, _CONTINUATION.sub("", tex))


def _graphic_names(img: etree._Element) -> list[str]:
    holder = img.getparent()
    names: list[str] = []
    while holder is not None and "pin_graphic" not in classes(holder):
        holder = holder.getparent()
    if holder is not None:
        names += [n for n in (holder.get("data-candidates") or "").split(",") if n.strip()]
        names.append(holder.get("data-graphic") or "")
    names.append(img.get("src") or "")
    return names


def _latexml_front(root: etree._Element) -> dict[str, str]:
    """Title and authors into the metadata; the author block as one paragraph per author."""
    metadata: dict[str, str] = {}
    titles = _by_class(root, "ltx_title_document")
    if titles:
        metadata["title"] = _text(titles[0])
    authors = []
    for creator in _by_class(root, "ltx_creator"):
        names = _by_class(creator, "ltx_personname")
        if names:
            first_line = (names[0].text or "").strip() or _text(names[0])
            authors.append(first_line)
        creator.tag = "p"
    for before in _by_class(root, "ltx_author_before"):
        remove_keep_tail(before)
    if authors:
        metadata["authors"] = "; ".join(a for a in authors if a)[:2000]
    for abstract_title in _by_class(root, "ltx_title_abstract"):
        abstract_title.tag = "h2"
    return metadata


def _latexml_notes(root: etree._Element, state: _State) -> None:
    """Footnotes (and ``\\thanks``, LaTeXML's author notes) out of the running text into ``state.notes``, a
    placeholder in place."""
    for note in _by_class(root, "ltx_note") + _by_class(root, "ltx_author_notes"):
        if note.getparent() is None or any("ltx_note" in classes(a) for a in note.iterancestors()):
            continue
        content = [note] if "ltx_author_notes" in classes(note) else _by_class(note, "ltx_note_content")
        if not content:
            remove_keep_tail(note)
            continue
        body = copy.copy(content[0]) if content[0] is note else content[0]
        for mark in _by_class(body, "ltx_note_mark") + _by_class(body, "ltx_tag_note"):
            remove_keep_tail(mark)
        body.tag = "div"
        state.notes.append(body)
        placeholder = f"{_NOTE_OPEN}{len(state.notes)}{_NOTE_CLOSE}"
        previous = note.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + placeholder
        else:
            note.getparent().text = (note.getparent().text or "") + placeholder
        remove_keep_tail(note)


def _latexml_equations(root: etree._Element) -> None:
    """Each display (``table.ltx_equation`` or ``.ltx_equationgroup``) as one block formula."""
    for table in root.xpath(".//table[contains(@class,'ltx_equation')]"):
        if table.getparent() is None or any(a.tag == "table" and "ltx_equation" in (a.get("class") or "")
                                            for a in table.iterancestors()):
            continue
        tex = _equation_tex(table)
        if not tex:
            remove_keep_tail(table)
            continue
        block = etree.Element("div")
        block.append(_math(tex, display=True))
        _replace(table, block)


def _equation_tex(table: etree._Element) -> str:
    """The TeX of a display: one formula as it is; rows of cells as ``aligned`` (or ``gathered``)."""
    rows: list[list[str]] = []
    for row in table.xpath(".//tr[contains(@class,'ltx_eqn_row')]") or table.iter("tr"):
        cells = []
        for cell in row:
            if cell.tag not in ("td", "th") or classes(cell) & {"ltx_eqn_eqno", "ltx_eqn_center_padleft",
                                                               "ltx_eqn_center_padright"}:
                continue
            maths = [m.get("alttext") or "" for m in cell.iter("math")]
            text = " ".join(_DISPLAYSTYLE.sub("", m).strip() for m in maths if m.strip())
            if not maths and _text(cell):
                text = f"\\text{{{_text(cell)}}}"
            cells.append(text)
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    if len(rows) == 1 and len(rows[0]) == 1:
        return _dollar_tex(rows[0][0])
    if all(len(r) == 1 for r in rows):
        body = r" \\ ".join(r[0] for r in rows)
        return _dollar_tex(f"\\begin{{gathered}} {body} \\end{{gathered}}")
    body = r" \\ ".join(" & ".join(r) for r in rows)
    return _dollar_tex(f"\\begin{{aligned}} {body} \\end{{aligned}}")


def _latexml_titles(root: etree._Element) -> None:
    """Run-in titles (theorems, proofs, ``\\paragraph``, acknowledgements) as lead-ins; headings keep
    their level (LaTeXML: document h1, section h2, subsection h3 ...)."""
    for title in root.xpath(".//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6]"):
        names = classes(title)
        if "ltx_runin" in names or (title.tag == "h6" and "ltx_title_abstract" not in names):
            italic = "ltx_title_proof" in names or (bool(_by_class(title, "ltx_font_italic"))
                                                    and not _by_class(title, "ltx_font_bold"))
            _run_in(title, italic=italic)


def _latexml_lists(root: etree._Element) -> None:
    """Labels LaTeX generates (bullets, 1. 2. 3.) go; labels an author chose ((i), (a), Step 1) stay as text."""
    for lst in list(root.iter("ul", "ol")):
        items = [li for li in lst if li.tag == "li"]
        tags = [(_by_class(li, "ltx_tag_item") or [None])[0] for li in items]
        labels = [_text(t) if t is not None else "" for t in tags]
        generated = all(label in _GENERATED_BULLETS for label in labels) if lst.tag == "ul" else all(
            label == f"{n}." for n, label in enumerate(labels, start=1))
        if not generated:
            lst.tag = "ul"
        for tag, label in zip(tags, labels, strict=True):
            if tag is None:
                continue
            if generated or not label:
                remove_keep_tail(tag)
            else:
                tag.tag = "span"
                tag.text, tag.tail = label + " ", tag.tail
                for child in list(tag):
                    tag.remove(child)
                if lst.tag == "ul" and "ltx_tag" in classes(tag):
                    tag.set("class", "pin_label")
        if not generated:
            lst.set("class", "pin_labelled")


def _latexml_fonts(root: etree._Element) -> None:
    for span in list(root.iter("span")):
        names = classes(span)
        if "ltx_font_bold" in names:
            span.tag = "b"
        elif names & {"ltx_font_italic", "ltx_font_slanted"}:
            span.tag = "i"
        elif "ltx_font_typewriter" in names and not any(True for _ in span.iter("math")):
            span.tag = "code"


def _latexml_listings(root: etree._Element) -> None:
    """Code listings (``lstlisting``, ``verbatim`` lines) as preformatted text; algorithm lines as lines."""
    for listing in _by_class(root, "ltx_listing"):
        lines = _by_class(listing, "ltx_listingline")
        if not lines:
            continue
        if any(True for line in lines for _ in line.iter("math")):
            for line in lines:
                line.tag = "p"
            continue
        pre = etree.Element("pre")
        pre.text = "\n".join("".join(line.itertext()).rstrip() for line in lines)
        _replace(listing, pre)


def _latexml_bibliography(root: etree._Element) -> None:
    """Reference entries as ``- [label] authors, title, ...`` with spaces between LaTeXML's blocks; the
    heading of a bibliography LaTeXML could not fill (no ``.bbl`` or ``.bib`` in the e-print) goes."""
    for section in _by_class(root, "ltx_bibliography"):
        if not _by_class(section, "ltx_bibitem"):
            for heading in _by_class(section, "ltx_title_bibliography"):
                remove_keep_tail(heading)
    for block in _by_class(root, "ltx_bibblock"):
        block.tail = " " + (block.tail or "")
    for tag in _by_class(root, "ltx_tag_bibitem"):
        tag.tail = " " + (tag.tail or "")


# ---------------------------------------------------------------- pandoc


def pandoc_markdown(html: bytes, figures: FigureFiles, *, max_image_pixels: int | None = None) -> ParsedDocument:
    """Markdown of pandoc's standalone HTML5 (``--mathjax``) for one paper, in the same shape as LaTeXML's."""
    doc = parse_html(_xml_text(html))
    root = doc.find("body") if doc.find("body") is not None else doc
    state = _State(figures)
    warnings: list[str] = []
    for el in list(root.iter("script", "style", "nav")):
        remove_keep_tail(el)
    metadata: dict[str, str] = {}
    title = root.find(".//header//h1")
    if title is not None:
        metadata["title"] = _text(title)
    authors = [_text(a) for a in _by_class(root, "author")]
    if authors:
        metadata["authors"] = "; ".join(authors)[:2000]
    for abstract_title in _by_class(root, "abstract-title"):
        abstract_title.tag, abstract_title.text = "h2", "Abstract"
    for section in root.iter("section"):
        level = next((int(c[5:]) for c in classes(section) if c.startswith("level") and c[5:].isdigit()), 0)
        heading = next((c for c in section if isinstance(c.tag, str) and re.fullmatch(r"h[1-6]", c.tag)), None)
        if level and heading is not None:
            heading.tag = f"h{min(level + 1, 6)}"
    _pandoc_notes(root, state)
    for span in root.xpath(".//span[contains(concat(' ', @class, ' '), ' math ')]"):
        display = "display" in classes(span)
        tex = "".join(span.itertext()).strip()
        tex = re.sub(r"^\\[(\[]|\\[)\]]$", "", tex).strip() if len(tex) > 3 else tex
        tex = _dollar_tex(tex) if display else " ".join(_TEX_COMMENT.sub("", tex).split())
        math = _math(tex, display)
        if display:
            block = etree.Element("div")
            block.append(math)
            _replace(span, block)
        else:
            _replace(span, math)
    for citation in _by_class(root, "citation"):
        if not _text(citation) and citation.get("data-cites"):
            citation.text = "[" + ", ".join(citation.get("data-cites").split()) + "]"
    for thebibliography in _by_class(root, "thebibliography"):
        heading = etree.Element("h2")
        heading.text = "References"
        thebibliography.insert(0, heading)
        for entry in thebibliography.findall("p"):
            first = entry.find("span")
            if first is not None and not entry.text:
                remove_keep_tail(first)
    for embed in list(root.iter("embed")):
        embed.tag = "img"
    _images(root, state, lambda img: [img.get("src") or ""])
    _figure_blocks(root)
    return _finish(doc, root, state, max_image_pixels=max_image_pixels, metadata=metadata, warnings=warnings)


def _pandoc_notes(root: etree._Element, state: _State) -> None:
    """pandoc's endnotes (``a.footnote-ref`` -> ``section.footnotes li``) as GFM footnotes."""
    bodies: dict[str, etree._Element] = {}
    for holder in root.xpath(".//*[contains(concat(' ', @class, ' '), ' footnotes ')]"):
        for li in holder.iter("li"):
            for back in _by_class(li, "footnote-back"):
                remove_keep_tail(back)
            li.tag = "div"
            bodies[li.get("id") or ""] = li
        remove_keep_tail(holder)
    for ref in _by_class(root, "footnote-ref"):
        body = bodies.get((ref.get("href") or "").lstrip("#"))
        if body is None:
            remove_keep_tail(ref)
            continue
        state.notes.append(body)
        text = etree.Element("span")
        text.text = f"{_NOTE_OPEN}{len(state.notes)}{_NOTE_CLOSE}"
        _replace(ref, text)
