"""Document-wide style facts gathered after the first pass: body size, heading sizes, running lines and
the words the document itself spells with a hyphen."""

from __future__ import annotations

import re
from collections import Counter

from pin_assets.core.pdf.cjk import CJK_LETTER
from pin_assets.core.pdf.model import Page, Style, text_rows
from pin_assets.core.pdf.running import running_lines

# Two letters in a row, or a Han or kana character: a line that says something, not a big page number,
# a drop cap or a symbol in a figure, none of which may claim a heading level.
_WORDS_RE = re.compile(rf"[^\W\d_]{{2}}|{CJK_LETTER}")


def document_style(pages: list[Page]) -> Style:
    """Body size (the size most characters have), heading sizes ranked largest first (only sizes that
    words are set in), running lines and hyphenated words."""
    sizes: Counter[float] = Counter()
    titled: set[float] = set()  # sizes some short line with words is set in: what headings can be
    hyphenated: set[str] = set()
    for page in pages:
        for row in text_rows(page):
            text = row.text.strip()
            sizes[row.size] += len(text)
            if len(text) <= 200 and not row.rotated and _WORDS_RE.search(text):
                titled.add(row.size)
            hyphenated.update(m.lower() for m in re.findall(r"\w+-\w+", row.text))
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    bigger = sorted((s for s in titled if s >= body * 1.08 and s - body >= 0.5), reverse=True)
    levels = {s: min(i + 1, 5) for i, s in enumerate(bigger)}
    return Style(body, levels, running_lines(pages), hyphenated)
