"""Document-wide style facts gathered after the first pass: body size, heading sizes, running lines and
the words the document itself spells with a hyphen."""

from __future__ import annotations

import re
from collections import Counter

from pin_assets.core.pdf.model import Page, Style, text_rows
from pin_assets.core.pdf.running import running_lines


def document_style(pages: list[Page]) -> Style:
    """Body size (the size most characters have), heading sizes, running lines and hyphenated words."""
    sizes: Counter[float] = Counter()
    hyphenated: set[str] = set()
    for page in pages:
        for row in text_rows(page):
            sizes[row.size] += len(row.text.strip())
            hyphenated.update(m.lower() for m in re.findall(r"\w+-\w+", row.text))
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    bigger = sorted((s for s in sizes if s >= body * 1.08 and s - body >= 0.5), reverse=True)
    levels = {s: min(i + 1, 5) for i, s in enumerate(bigger)}
    return Style(body, levels, running_lines(pages), hyphenated)
