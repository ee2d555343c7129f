"""Document language for ``meta.language``, from py3langid's model shipped inside the package."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"!\[[^\]]*\]\([^)]*\)|<[^>]+>|[#*_`|>\-]+")
SAMPLE_CHARS = 5000


def detect_language(markdown: str) -> str | None:
    """ISO 639-1 code of the text's main language, or None when there is too little text to tell."""
    text = _MARKUP.sub(" ", markdown[:SAMPLE_CHARS])
    if sum(ch.isalpha() for ch in text) < 20:
        return None
    import py3langid

    code, _score = py3langid.classify(text)
    return code
