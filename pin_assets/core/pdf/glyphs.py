"""Text normalisation of extracted glyphs: ligatures and space-like characters become plain text, so
words match across fonts (a font's "fi" ligature is not a different word).

Besides Unicode's ligature code points, two families of code points stand for ligatures in PDFs whose
fonts carry neither a ToUnicode map nor usable glyph names (TeX's bitmap Type 3 fonts from dvips, and
fonts whose glyphs are named by number): MuPDF then reports the font's own character code, which for
TeX's text encodings is the ligature's slot, a control character. OT1, LaTeX's default, has ff, fi, fl,
ffi and ffl at 0x0B-0x0F; T1 (Cork) has them at 0x1B-0x1F. Without this "signifier" became "signier".
Apple's legacy private-use fi and fl (U+F001, U+F002) come from Mac fonts the same way.
"""

from __future__ import annotations

_LIGATURE_SLOTS = ("ff", "fi", "fl", "ffi", "ffl")

LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
     "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij", "\uf001": "fi", "\uf002": "fl",
     "\u00ad": "", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
     **{chr(c): "" for c in range(1, 5)},  # control codes the inline writer uses as sup/sub stand-ins
     **{chr(0x0B + i): text for i, text in enumerate(_LIGATURE_SLOTS)},
     **{chr(0x1B + i): text for i, text in enumerate(_LIGATURE_SLOTS)}}
)
