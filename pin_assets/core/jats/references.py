"""References and notes: reference lists as numbered lists (a heading per titled part), citations as
one line each (mixed citations keep their punctuation, element citations get some), and footnote
groups as bullet lists."""

from __future__ import annotations

from lxml import etree

from pin_assets.core.jats.context import ChildBlocks, Context
from pin_assets.core.jats.inline import heading_inline, person_name, plain, squash
from pin_assets.core.markup.markdown import escape_leading, md_text


def ref_list(el: etree._Element, ctx: Context, depth: int = 2) -> list[str]:
    """``## References`` and a numbered list, one entry per ``<ref>`` in document order; a reference
    list split into titled parts (primary sources, data sets) gets a heading per part."""
    title_el = el.find("title")
    title = heading_inline(title_el, ctx) if title_el is not None else ""
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
            blocks.extend(ref_list(child, ctx, depth + 1))
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
    return " ".join(citation_text(c) for c in citations) or squash(plain(ref))


def citation_block(el: etree._Element, ctx: Context, depth: int) -> list[str]:
    """A citation standing outside a reference list, as its own paragraph."""
    text = citation_text(el)
    return [escape_leading(md_text(text))] if text else []


def fn_group(el: etree._Element, ctx: Context, depth: int, children: ChildBlocks) -> list[str]:
    """Footnotes as a bullet list under the group's title (author contributions, competing interests)."""
    title_el = el.find("title")
    blocks = [f"{'#' * min(depth, 6)} {heading_inline(title_el, ctx)}"] if title_el is not None else []
    items = []
    for fn in el.iterfind("fn"):
        text = " ".join(b.replace("\n", " ") for b in children(fn, ctx, depth))
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
    return squash(_mixed_citation(el))


def _mixed_citation(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            if child.tag == "name":
                parts.append(person_name(child, given_first=False))
            elif child.tag != "label":
                parts.append(_mixed_citation(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _element_citation(el: etree._Element) -> str:
    """``Authors. Title. Source vol:pages (year). DOI: x, PMID: y`` from an unpunctuated citation."""
    names = [person_name(n, given_first=False) for n in el.iter("name")]
    names += [plain(c) for c in el.iter("collab")]
    title = _first_text(el, ("article-title", "data-title", "chapter-title"))
    source = _first_text(el, ("source",))
    volume, fpage, lpage = (_first_text(el, (t,)) for t in ("volume", "fpage", "lpage"))
    elocation, year = _first_text(el, ("elocation-id",)), _first_text(el, ("year",))
    pages = f"{fpage}–{lpage}" if fpage and lpage else fpage or elocation
    where = source + (f" {volume}" if volume else "") + (f":{pages}" if pages else "")
    where += f" ({year})" if year else ""
    ids = [
        f"{'DOI' if p.get('pub-id-type') == 'doi' else p.get('pub-id-type', '').upper()}: {plain(p)}"
        for p in el.iter("pub-id")
    ]
    parts = [", ".join(n for n in names if n), title, where.strip(), ", ".join(ids)]
    return ". ".join(squash(p).rstrip(".") for p in parts if squash(p))


def _first_text(el: etree._Element, tags: tuple[str, ...]) -> str:
    for tag in tags:
        found = el.find(f".//{tag}")
        if found is not None:
            return squash(plain(found))
    return ""
