"""Chinese and Japanese text joins without spaces.

Han, kana and CJK punctuation are written without spaces between words, so a converter that joins
spans and lines with a space, as it must for Latin text, scatters spaces through them. Many Chinese
PDFs also place every character as its own run followed by a space glyph, which reads "数 据 工 厂".
Hangul is left out on purpose: Korean separates words with spaces.
"""

from __future__ import annotations

import re

_CJK_CLASS = (
    "\u2e80-\u2fdf"  # radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana extensions
    "\u3400-\u4dbf"  # Han extension A
    "\u4e00-\u9fff"  # Han
    "\uf900-\ufaff"  # compatibility ideographs
    "\uff01-\uff60\uffe0-\uffe6"  # fullwidth forms
    "\U00020000-\U0003134f"  # Han extensions B to G
)
CJK_RE = re.compile(f"[{_CJK_CLASS}]")
CJK_LETTER = "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
"""A regular expression for one Han or kana character (CJK punctuation excluded)."""
# A space run between two CJK characters where at least one side is a lone character: the
# character-per-run pattern ("数 据 工 厂"), not a deliberate gap between two words ("第一章 总则").
_SPACED_RE = re.compile(
    f"(?:(?<=(?<![{_CJK_CLASS}])[{_CJK_CLASS}])[ \u00a0\u3000]+(?=[{_CJK_CLASS}]))"
    f"|(?:(?<=[{_CJK_CLASS}])[ \u00a0\u3000]+(?=[{_CJK_CLASS}](?![{_CJK_CLASS}])))"
)


def is_cjk(char: str) -> bool:
    """Whether one character is Han, kana, or CJK punctuation (not Hangul)."""
    return bool(char) and CJK_RE.match(char) is not None


def tight(before: str, after: str) -> bool:
    """Whether two pieces of text join without a space: the last character of ``before`` and the
    first of ``after`` are both CJK."""
    return bool(before) and bool(after) and is_cjk(before[-1]) and is_cjk(after[0])


def drop_spaced_out(text: str) -> str:
    """Remove spaces that stand between CJK characters placed one at a time ("数 据 工 厂" -> "数据工厂")."""
    return _SPACED_RE.sub("", text) if CJK_RE.search(text) else text


def spaced_out(text: str) -> set[int]:
    """Indices of the characters :func:`drop_spaced_out` removes, for text split over several spans."""
    if not CJK_RE.search(text):
        return set()
    return {i for m in _SPACED_RE.finditer(text) for i in range(m.start(), m.end())}
