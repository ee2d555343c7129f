"""Inline markup of JATS elements as Markdown (emphasis, scripts, formulas, code, names) and the
plain-text helpers every other part of the walk uses to read element text."""

from __future__ import annotations

from lxml import etree

from pin_assets.core.jats.context import Context
from pin_assets.core.markup.markdown import md_text
from pin_assets.core.markup.math import formula_latex, mathml_to_latex, script_text

SKIP_TAGS = {
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


def inline(el: etree._Element | None, ctx: Context) -> str:
    """Inline Markdown of an element's content (its own text, children, not its tail)."""
    if el is None:
        return ""
    parts = [md_text(el.text or "")]
    for child in el:
        parts.append(inline_el(child, ctx))
        parts.append(md_text(child.tail or ""))
    return squash("".join(parts))


def heading_inline(el: etree._Element, ctx: Context) -> str:
    """A heading's inline Markdown without bold, which headings already are."""
    return squash(inline(el, ctx).replace("**", ""))


def _wrap(marker: str, inner: str) -> str:
    """Emphasis markers hugging the text (``** x **`` is not bold in CommonMark), spaces moved outside."""
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{marker}{stripped}{marker}{trail}"


def inline_el(el: etree._Element, ctx: Context) -> str:
    """Inline Markdown of one element without its tail; floating and skipped elements give nothing."""
    if not isinstance(el.tag, str):
        return ""
    tag = etree.QName(el).localname
    if tag in SKIP_TAGS or tag in {"fn", "fig", "table-wrap"}:
        return ""
    if tag == "math":
        latex = mathml_to_latex(el)
        return f"${latex}$" if latex else md_text(plain(el))
    if tag == "inline-formula":
        latex = formula_latex(el)
        return f"${latex}$" if latex else inline(el, ctx)
    inner = inline(el, ctx) if len(el) or el.text else ""
    if tag == "bold":
        return _wrap("**", inner)
    if tag == "italic":
        return _wrap("*", inner)
    if tag in {"sub", "sup"}:
        return script_text(tag, inner)
    if tag == "monospace":
        code = squash("".join(el.itertext()))
        return f"`{code}`" if code and "`" not in code else inner
    if tag in {"break"}:
        return " "
    if tag == "name":
        return md_text(person_name(el, given_first=True))
    return inner


# ---------------------------------------------------------------- text helpers


def plain(el: etree._Element | None) -> str:
    """An element's text with whitespace squashed, no markup; empty for ``None``."""
    return squash("".join(el.itertext())) if el is not None else ""


def squash(text: str) -> str:
    """Whitespace runs collapsed to single spaces, ends trimmed."""
    return " ".join(text.split())


def alt(text: str) -> str:
    """Text safe inside Markdown image alt brackets."""
    return text.replace("[", "(").replace("]", ")")


def person_name(name: etree._Element, *, given_first: bool) -> str:
    """A ``<name>`` as ``Given Surname`` (bylines) or ``Surname Given`` (references)."""
    surname = plain(name.find("surname")) if name.find("surname") is not None else ""
    given = plain(name.find("given-names")) if name.find("given-names") is not None else ""
    parts = [given, surname] if given_first else [surname, given]
    return " ".join(p for p in parts if p)
