"""Pagination rule and compiled renders: exact re-join, line budgets, one non-blank image per page."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pytest
from PIL import Image

from pin_assets.core.compiled_pages import render_markdown_pages
from pin_assets.core.paginate import paginate, split_pages


def _long_text(paragraphs: int = 120, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "tempor"]
    paras = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 400))) for _ in range(paragraphs)]
    return "\n\n".join(paras) + "\n"


def _cost(page: str, chars_per_line: int = 80) -> int:
    """The documented rule for plain text: wrapped lines per line, blank lines count 1."""
    return sum(
        max(1, math.ceil(len(line.strip()) / chars_per_line)) for line in page.split("\n")[:-1] or [""]
    )


def test_paginate_rejoins_and_respects_budget() -> None:
    md = _long_text()
    offsets = paginate(md, max_lines=50, chars_per_line=80)
    pages = split_pages(md, offsets)
    assert "".join(pages) == md and offsets[0] == 0 and offsets == sorted(set(offsets))
    assert len(pages) > 10
    for page in pages:
        content = page.rstrip("\n") + "\n"
        assert _cost(content) <= 50
        assert not page.startswith("\n")  # pages start at a block, not on a blank line


def test_paginate_splits_giant_line_and_counts_images() -> None:
    giant = "x" * 10_000
    offsets = paginate(giant, max_lines=10, chars_per_line=50)
    assert len(offsets) == math.ceil(10_000 / 500) and "".join(split_pages(giant, offsets)) == giant
    images = "\n\n".join(f"![i{n}](content_image/i{n}.png)" for n in range(6))
    assert len(paginate(images, max_lines=30, lines_per_image=12)) == 3  # two images (+blank) a page
    assert paginate("") == [0] and paginate("one line") == [0]
    with pytest.raises(ValueError):
        paginate("x", max_lines=0)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize(("fmt", "dpi"), [("webp", 72), ("png", 100), ("jpeg", 50)])
def test_render_one_nonblank_image_per_page(fmt: str, dpi: int) -> None:
    md = "# Title\n\n" + _long_text(40) + "\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n```\ncode block\n```\n"
    offsets = paginate(md)
    pages = list(render_markdown_pages(md, {}, offsets, dpi=dpi, fmt=fmt))
    assert [p.index for p in pages] == list(range(len(offsets)))
    for page in pages:
        pixels = _pixels(page.data)
        assert abs(page.width - 595 * dpi / 72) <= 1 and abs(page.height - 842 * dpi / 72) <= 1
        assert pixels.shape[:2] == (page.height, page.width) and page.ext == (
            "jpeg" if fmt == "jpeg" else fmt
        )
        assert pixels.std() > 1 and (pixels < 160).any()  # text drawn, not a blank page


def test_render_overflowing_slice_is_shrunk_onto_one_page() -> None:
    md = "word " * 6000
    (page,) = render_markdown_pages(md, {}, [0], dpi=50, fmt="png")
    pixels = _pixels(page.data)
    dark_rows = np.where((pixels < 128).any(axis=(1, 2)))[0]
    assert dark_rows.max() < page.height - 10  # everything is on the page, above the bottom margin


def test_render_shows_inline_image_in_place() -> None:
    out = io.BytesIO()
    Image.new("RGB", (300, 150), (220, 20, 20)).save(out, "PNG")
    md = "Text above the picture.\n\n![red](content_image/red.png)\n\nText below.\n"
    (page,) = render_markdown_pages(md, {"content_image/red.png": out.getvalue()}, [0], dpi=72, fmt="png")
    pixels = _pixels(page.data)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
    rows, cols = np.where(red)
    assert red.sum() > 225 * 112 * 0.9  # natural size at 96 dpi: 225x112 pt, i.e. pixels at 72 dpi
    text_rows = np.where((pixels.sum(axis=2) < 200).any(axis=1))[0]
    assert text_rows.min() < rows.min() and text_rows.max() > rows.max()  # between the two paragraphs
    (missing,) = render_markdown_pages(md, {}, [0], dpi=72, fmt="png")
    assert not ((_pixels(missing.data)[..., 0] > 180) & (_pixels(missing.data)[..., 1] < 60)).any()
