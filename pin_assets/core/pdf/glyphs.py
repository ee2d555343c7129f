"""Text normalisation of extracted glyphs: ligatures and space-like characters become plain text, so
words match across fonts (a font's "fi" ligature is not a different word)."""

from __future__ import annotations

LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
     "\ufb06": "st", "\u00ad": "", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " "}
)
