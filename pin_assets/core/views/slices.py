"""Cutting a record's Markdown at its stored page offsets, and grouping pages under a token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def page_bounds(md: str, page_offsets: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of each page in ``md``; offsets are validated, since a bad one would shift every label.

    Offsets must start at 0, never decrease and stay within the Markdown: anything else means the record
    and its offsets disagree, and a view built from them would teach wrong page boundaries.
    """
    offsets = list(page_offsets) or [0]
    if offsets[0] != 0:
        raise ValueError(f"page offsets must start at 0, got {offsets[0]}")
    if any(b < a for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ValueError("page offsets must not decrease")
    if offsets[-1] > len(md):
        raise ValueError(f"page offset {offsets[-1]} is past the end of the Markdown ({len(md)} characters)")
    ends = [*offsets[1:], len(md)]
    return list(zip(offsets, ends, strict=True))


def page_slices(md: str, page_offsets: Sequence[int]) -> list[str]:
    """The Markdown of each page, in page order (``''`` for a page with no text, e.g. a full-page figure)."""
    return [md[start:end] for start, end in page_bounds(md, page_offsets)]


def token_chunks(page_tokens: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive pages grouped so each group's tokens stay within ``budget``.

    Pages are never cut: a page over the budget on its own becomes a group of one, because an overall
    image shows a whole page and its text must travel with it.
    """
    if budget < 1:
        raise ValueError("token budget must be at least 1")
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for page, tokens in enumerate(page_tokens):
        if current and total + tokens > budget:
            chunks.append(current)
            current, total = [], 0
        current.append(page)
        total += tokens
    if current:
        chunks.append(current)
    return chunks


def count_all(count: Callable[[str], int], texts: Sequence[str]) -> list[int]:
    """Token counts of ``texts``; empty strings cost nothing (and skip the tokenizer call)."""
    return [count(text) if text.strip() else 0 for text in texts]
