"""Front matter: the title, author byline, author affiliations and abstracts as Markdown blocks, and the
article's metadata (identifiers, journal, license, publication date) as plain strings."""

from __future__ import annotations

from lxml import etree

from pin_assets.core.jats.context import ChildBlocks, Context
from pin_assets.core.jats.inline import inline, person_name, plain
from pin_assets.core.jats.xml import XLINK_HREF


def front_blocks(root: etree._Element, ctx: Context, children: ChildBlocks) -> list[str]:
    """Title heading, byline, affiliations and abstracts; ``children`` walks an abstract's blocks."""
    meta = root.find("front/article-meta")
    if meta is None:
        return []
    blocks: list[str] = []
    title = meta.find("title-group/article-title")
    if title is not None:
        blocks.append("# " + inline(title, ctx))
    authors = _authors(meta)
    if authors:
        blocks.append(", ".join(authors))
    affs = [_aff_text(aff) for aff in _author_affiliations(meta)]
    if affs:
        blocks.append("; ".join(a for a in affs if a))
    for abstract in meta.findall("abstract"):
        blocks.extend(_abstract_blocks(abstract, ctx, children))
    return blocks


def _authors(meta: etree._Element) -> list[str]:
    names = []
    for contrib in meta.iterfind("contrib-group/contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        collab = contrib.find("collab")
        if name is not None:
            names.append(person_name(name, given_first=True))
        elif collab is not None:
            names.append(plain(collab))
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


def _aff_text(aff: etree._Element) -> str:
    """Institution, address and country joined by commas, labels dropped."""
    parts = [plain(child) for child in aff if isinstance(child.tag, str) and child.tag != "label"]
    parts = [p for p in parts if p]
    if not parts:
        return plain(aff)
    return ", ".join(parts)


def _abstract_blocks(abstract: etree._Element, ctx: Context, children: ChildBlocks) -> list[str]:
    title_el = abstract.find("title")
    title = plain(title_el) if title_el is not None else "Abstract"
    blocks = [f"## {title or 'Abstract'}"]
    blocks.extend(children(abstract, ctx, 3))
    return blocks


def article_metadata(root: etree._Element) -> dict[str, str]:
    """DOI, PMCID, PMID, journal, license, publication date, title and authors as plain strings."""
    meta: dict[str, str] = {}
    article_meta = root.find("front/article-meta")
    journal = root.find("front/journal-meta//journal-title")
    if journal is not None:
        meta["journal"] = plain(journal)
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
        meta["title"] = plain(title)
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
    return plain(lic) or None


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
