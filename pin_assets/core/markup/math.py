"""Formulas in JATS (and HTML) as LaTeX: ``<tex-math>`` stripped of its document wrapper, MathML
translated element by element, and sub/superscripts as Unicode script characters where they exist.

The article walk (:mod:`pin_assets.core.jats.inline` and :mod:`pin_assets.core.jats.blocks`) calls these for
``<inline-formula>``, ``<disp-formula>``, ``<mml:math>``, ``<sub>`` and ``<sup>``; the HTML walk
(:mod:`pin_assets.core.html.dom`) reuses the MathML and script helpers.
"""

from __future__ import annotations

import re

from lxml import etree

MML_NS = "http://www.w3.org/1998/Math/MathML"


def _squash(text: str) -> str:
    """Whitespace runs collapsed to single spaces, ends trimmed."""
    return " ".join(text.split())


_SUPERSCRIPTS = str.maketrans("0123456789+-=()−n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾⁻ⁿ")
_SUBSCRIPTS = str.maketrans("0123456789+-=()−", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎₋")
_SCRIPTABLE = {"sup": set("0123456789+-=()−n"), "sub": set("0123456789+-=()−")}


def script_text(tag: str, inner: str) -> str:
    """Sub/superscript as Unicode script characters when every character has one (CO₂, m², 10⁻⁵),
    else as ``<sub>``/``<sup>`` HTML: plain characters read better in training text and need no HTML."""
    text = inner.strip()
    if not text:
        return ""
    if set(text) <= _SCRIPTABLE[tag]:
        return text.translate(_SUPERSCRIPTS if tag == "sup" else _SUBSCRIPTS)
    return f"<{tag}>{text}</{tag}>"


def formula_latex(el: etree._Element) -> str:
    """LaTeX of a JATS formula: ``tex-math`` verbatim (without a document wrapper) or converted MathML."""
    tex = next(
        (t for t in el.iter() if isinstance(t.tag, str) and etree.QName(t).localname == "tex-math"), None
    )
    if tex is not None and "".join(tex.itertext()).strip():
        return _strip_tex_document("".join(tex.itertext()))
    math = next((m for m in el.iter(f"{{{MML_NS}}}math", "math")), None)
    return mathml_to_latex(math) if math is not None else ""


def _strip_tex_document(tex: str) -> str:
    """PMC wraps tex-math in a full LaTeX document; keep only the formula between the math delimiters."""
    body = re.search(r"\\begin\{document\}(.*?)\\end\{document\}", tex, re.S)
    tex = body.group(1) if body else tex
    tex = tex.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if tex.startswith(left) and tex.endswith(right) and len(tex) > len(left) + len(right):
            tex = tex[len(left) : -len(right)]
            break
    return " ".join(tex.split())


# ---------------------------------------------------------------- MathML to LaTeX

_MATH_SYMBOLS = {
    "×": "\\times",
    "·": "\\cdot",
    "÷": "\\div",
    "±": "\\pm",
    "∓": "\\mp",
    "≤": "\\leq",
    "≥": "\\geq",
    "≠": "\\neq",
    "≈": "\\approx",
    "≡": "\\equiv",
    "∞": "\\infty",
    "∑": "\\sum",
    "∏": "\\prod",
    "∫": "\\int",
    "∂": "\\partial",
    "∇": "\\nabla",
    "→": "\\rightarrow",
    "←": "\\leftarrow",
    "⇒": "\\Rightarrow",
    "∈": "\\in",
    "∉": "\\notin",
    "⊂": "\\subset",
    "⊆": "\\subseteq",
    "∪": "\\cup",
    "∩": "\\cap",
    "∀": "\\forall",
    "∃": "\\exists",
    "√": "\\surd",
    "∝": "\\propto",
    "°": "^\\circ",
    "−": "-",
    "…": "\\ldots",
    "⋯": "\\cdots",
    "∼": "\\sim",
    "〈": "\\langle",
    "〉": "\\rangle",
    "α": "\\alpha",
    "β": "\\beta",
    "γ": "\\gamma",
    "δ": "\\delta",
    "ε": "\\varepsilon",
    "ϵ": "\\epsilon",
    "ζ": "\\zeta",
    "η": "\\eta",
    "θ": "\\theta",
    "ι": "\\iota",
    "κ": "\\kappa",
    "λ": "\\lambda",
    "μ": "\\mu",
    "ν": "\\nu",
    "ξ": "\\xi",
    "π": "\\pi",
    "ρ": "\\rho",
    "σ": "\\sigma",
    "τ": "\\tau",
    "υ": "\\upsilon",
    "φ": "\\phi",
    "ϕ": "\\phi",
    "χ": "\\chi",
    "ψ": "\\psi",
    "ω": "\\omega",
    "Γ": "\\Gamma",
    "Δ": "\\Delta",
    "Θ": "\\Theta",
    "Λ": "\\Lambda",
    "Ξ": "\\Xi",
    "Π": "\\Pi",
    "Σ": "\\Sigma",
    "Φ": "\\Phi",
    "Ψ": "\\Psi",
    "Ω": "\\Omega",
}
_ACCENTS = {
    "^": "\\hat",
    "~": "\\tilde",
    "¯": "\\bar",
    "‾": "\\overline",
    "→": "\\vec",
    "˙": "\\dot",
    "¨": "\\ddot",
}


def mathml_to_latex(math: etree._Element | None) -> str:
    """Convert presentation MathML to LaTeX; a TeX annotation wins, unknown elements keep their content."""
    if math is None:
        return ""
    for ann in math.iter(f"{{{MML_NS}}}annotation", "annotation"):
        if "tex" in (ann.get("encoding") or "").lower() and (ann.text or "").strip():
            return " ".join(ann.text.split())
    return _squash(_mml(math))


def _symbol(text: str) -> str:
    return "".join(
        _MATH_SYMBOLS.get(ch, ch) + (" " if ch in _MATH_SYMBOLS and _MATH_SYMBOLS[ch][-1].isalpha() else "")
        for ch in text.strip()
    )


def _group(text: str) -> str:
    text = text.strip()
    return text if len(text) == 1 else "{" + text + "}"


def _mml(el: etree._Element) -> str:
    if not isinstance(el.tag, str):
        return ""
    tag = etree.QName(el).localname
    kids = [
        k
        for k in el
        if isinstance(k.tag, str) and etree.QName(k).localname not in {"annotation", "annotation-xml"}
    ]
    args = [_mml(k) for k in kids]
    if tag in {"mi", "mn", "mo", "ms"}:
        text = _squash("".join(el.itertext()))
        if tag == "mi" and len(text) > 1 and text.isalpha():
            return f"\\mathrm{{{text}}}"
        return _symbol(text)
    if tag == "mtext":
        text = _squash("".join(el.itertext()))
        return f"\\text{{{text}}}" if text else ""
    return _mml_layout(tag, el, args)


def _mml_layout(tag: str, el: etree._Element, args: list[str]) -> str:
    """Layout schemata (scripts, fractions, roots, fences, tables); anything else concatenates."""
    two = len(args) >= 2
    if tag == "msup" and two:
        return f"{_group(args[0])}^{_group(args[1])}"
    if tag == "msub" and two:
        return f"{_group(args[0])}_{_group(args[1])}"
    if tag == "msubsup" and len(args) >= 3:
        return f"{_group(args[0])}_{_group(args[1])}^{_group(args[2])}"
    if tag == "mfrac" and two:
        return f"\\frac{{{args[0]}}}{{{args[1]}}}"
    if tag == "msqrt":
        return f"\\sqrt{{{' '.join(args)}}}"
    if tag == "mroot" and two:
        return f"\\sqrt[{args[1]}]{{{args[0]}}}"
    if tag in {"mover", "munder", "munderover"} and two:
        return _mml_over_under(tag, args)
    if tag == "mfenced":
        open_, close = el.get("open", "("), el.get("close", ")")
        return f"\\left{open_}{(el.get('separators', ',')[:1] or ',').join(args)}\\right{close}"
    if tag == "mtable":
        return "\\begin{matrix}" + " \\\\ ".join(args) + "\\end{matrix}"
    if tag == "mtr":
        return " & ".join(args)
    if tag == "mspace":
        return "\\,"
    if tag == "semantics":
        return args[0] if args else ""
    return " ".join(a for a in args if a)


def _mml_over_under(tag: str, args: list[str]) -> str:
    base, script = args[0], args[1]
    if tag == "mover" and script.strip() in _ACCENTS:
        return f"{_ACCENTS[script.strip()]}{{{base}}}"
    if tag == "mover" and script.strip() in {"\\rightarrow"}:
        return f"\\vec{{{base}}}"
    if tag == "mover":
        return f"\\overset{{{script}}}{{{base}}}"
    if tag == "munder":
        return f"{_group(base)}_{_group(script)}"
    return (
        f"{_group(base)}_{_group(script)}^{_group(args[2])}"
        if len(args) >= 3
        else f"{_group(base)}_{_group(script)}"
    )
