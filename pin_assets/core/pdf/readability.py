"""How much of a page's text reads as words: the measure behind the OCR decision and OCR's confidence.

MuPDF's built-in Tesseract returns text and boxes but not Tesseract's word confidences, so confidence
is measured on the result instead: the share of its non-space characters that stand in well-formed
tokens. A well-formed token is one of:

- a run of three or more letters in one case pattern (``word``, ``Word``, or ``WORD`` up to six
  letters and not where capitals outnumber small letters, since all-capital runs are what English
  OCR makes of Chinese), with a vowel when it is four letters or longer;
- a common one- or two-letter word (other short tokens are what a sideways page reads as);
- a run of letters of a script without case (Arabic, Hebrew); a number; two or more CJK characters.

Text Tesseract read correctly scores about 0.9; its reading of an upside-down, sideways or
wrong-language page scores well under 0.7, because such readings are short fragments mixing case,
digits and punctuation.
"""

from __future__ import annotations

import re

_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>.,;:!?*•·…—–-/\\|"
_LATIN_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_NUMBER_RE = re.compile(r"[+\-±]?\$?\d+(?:[.,:/\-]\d+)*%?")
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN_RE = re.compile(rf"[{_CJK}][{_CJK}\u3000-\u303f\uff01-\uff65]*[{_CJK}]")
CJK_CHAR_RE = re.compile(f"[{_CJK}]")
"""One Han, kana or Hangul character: the scripts whose words are not Latin-like letter runs."""
_VOWEL_RE = re.compile(r"[aeiouyàáâäãåæèéêëìíîïòóôöõøœùúûüýÿ]", re.IGNORECASE)
# One- and two-letter words of English and the major European languages. Other short tokens are what
# Tesseract reads across the lines of a sideways page ("a> rs ay rH eos of ee"), so they do not count.
_SHORT = (
    "a i o y e à á é è ó ú ü an am as at be by do go he if in is it me my no of oh ok on or ox so to "
    "up us we ye ad al ca cf co da de di du ed el en es et eu ex fr ha hi id il im io ja ki la le li lo "
    "ma mi mo ne nu ob oi ou pa pi po pp qu re sa se si su ta te ti tu un uo va vi vs ya yo zu"
)
SHORT_WORDS = frozenset(_SHORT.split())
_UNMAPPED_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")


def unmapped_share(text: str) -> float:
    """Share of non-space characters that are no text at all: U+FFFD, control or private-use code points.

    MuPDF gives these for glyphs of fonts with neither a ToUnicode map nor usable glyph names."""
    if not _UNMAPPED_RE.search(text):  # the common case, settled by one scan in C
        return 0.0
    visible = len(text) - sum(c.isspace() for c in text)
    return len(_UNMAPPED_RE.findall(text)) / visible if visible else 0.0


def mapped_text(text: str) -> str:
    """``text`` without its unmapped glyphs (see :func:`unmapped_share`)."""
    return _UNMAPPED_RE.sub("", text)


def readability(text: str) -> float:
    """Share of non-space characters in well-formed tokens (0 for no text); see the module docstring."""
    total = good = 0
    upper = sum(c.isupper() for c in text)
    shouting = upper > 20 and upper > sum(c.islower() for c in text)  # English OCR's reading of Chinese
    for raw in text.split():
        total += len(raw)
        token = raw.strip(_EDGE_PUNCT)
        if not token:
            continue
        if CJK_CHAR_RE.search(token):
            good += sum(len(m.group()) for m in _CJK_RUN_RE.finditer(token))
        elif _NUMBER_RE.fullmatch(token) or (_is_word(token) and not (shouting and token.isupper())):
            good += len(token)
    return good / total if total else 0.0


def _is_word(token: str) -> bool:
    if not _LATIN_WORD_RE.fullmatch(token):
        return False
    letters = token.replace("-", "").replace("'", "").replace("’", "")
    if not any(c.isupper() or c.islower() for c in letters):
        return True  # a script without case (Arabic, Hebrew, Thai...)
    if len(letters) <= 2:
        return letters.lower() in SHORT_WORDS
    if len(letters) >= 4 and not _VOWEL_RE.search(letters):
        return False
    if letters.isupper():
        return len(letters) <= 6
    return letters.islower() or letters[1:].islower()


HANGUL_RE = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")  # Korean syllables and jamo
# Unicode ranges of the scripts OCR has traineddata for, beside Latin; what a text layer or a reading is
# written in decides which language Tesseract reads a page in, and whether a reading may replace a layer.
_SCRIPTS = {
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"),
    "hebrew": re.compile(r"[\u0590-\u05ff\ufb1d-\ufb4f]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
    "hangul": HANGUL_RE,
    "kana": re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]"),
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
}
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LATIN_WORD4_RE = re.compile(r"[A-Za-z\u00c0-\u024f]{4,}")
_LATIN_VOWELS = frozenset("aeiouyAEIOUYàáâäãåæèéêëìíîïòóôöõøœùúûüýÿÀÁÂÄÃÅÆÈÉÊËÌÍÎÏÒÓÔÖÕØŒÙÚÛÜÝ")
SHIFTED_VOWELS = 0.2  # Latin-script languages spell 30-50% of their letters with vowels; shifted fonts ~10%


def script_of(text: str) -> str:
    """The script most letters of ``text`` are written in: ``latin``, one of the keys above, or ``""``
    for text without letters. Japanese is ``kana`` as soon as a tenth of its Han/kana letters are kana."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _SCRIPTS.items()}
    counts["latin"] = len(_LATIN_RE.findall(text))
    if counts["kana"] and counts["kana"] >= 0.1 * (counts["kana"] + counts["han"]):
        counts["kana"] += counts.pop("han")
    best = max(counts, key=counts.get)
    return best if counts[best] else ""


def vowel_share(text: str) -> float | None:
    """Share of vowels among the letters of Latin words of four letters or more; None when there are
    fewer than 20 such words to judge. A text layer written in a letter-shifted or substituted font
    ("Bnqotr" for "Corpus") reads as letters but spells almost no vowels."""
    words = _LATIN_WORD4_RE.findall(text)
    if len(words) < 20:
        return None
    letters = "".join(words)
    return sum(c in _LATIN_VOWELS for c in letters) / len(letters)


def good_chars(text: str) -> float:
    """How much readable text there is: readability times the non-space characters. Two readings of one
    page compare by this, so a short clean fragment does not beat a long reading of the whole page."""
    visible = len(text) - sum(c.isspace() for c in text)
    return readability(text) * visible
