"""The neutral markup helpers: references resolved against the referring document, capped archive reading,
HTML parsed and stripped of what a reader never sees, and the body converter with and without main content."""

from __future__ import annotations

import io
import zipfile

import pytest

from pin_assets.core.archives import ArchiveRefused, CappedZip, read_capped, safe_member_name
from pin_assets.core.html.markdown import html_body_to_markdown
from pin_assets.core.markup.html import parse_html, remove_hidden, strip_invisible
from pin_assets.core.markup.references import normalize_reference, resolve_reference, resolve_references


@pytest.mark.parametrize(
    ("document", "ref", "expected"),
    [
        ("OEBPS/text/ch1.xhtml", "../images/fig.png", "OEBPS/images/fig.png"),
        ("OEBPS/text/ch1.xhtml", "./a/../b.png?v=2#top", "OEBPS/text/b.png"),
        ("site/page.html", "../img/duck.png", "img/duck.png"),
        ("page.html", "../img/duck.png", None),  # leaves the root
        ("a/b.html", "../../../etc/passwd", None),
        ("a/b.html", "/etc/passwd", None),
        ("a/b.html", "", None),
    ],
)
def test_references_resolve_against_the_document_and_never_leave_the_root(document, ref, expected):
    assert resolve_reference(document, ref) == expected


def test_reference_keys_keep_a_leading_dotdot_and_map_to_assets():
    assert normalize_reference("../img//duck.png#x") == "../img/duck.png"
    assert normalize_reference("img/./a/../duck.png") == "img/duck.png"
    available = {"img/duck.png": "raw/1.png", "figs/fig1.jpg": "raw/2.jpg"}
    found = resolve_references("site/page.html", {"../img/duck.png", "../figs/fig1", "../../x.png"}, available)
    assert found == {"../img/duck.png": "raw/1.png", "../figs/fig1": "raw/2.jpg"}


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_capped_zip_refuses_bombs_escapes_and_totals():
    with CappedZip(zip_of({"a.txt": b"hello", "b/c.txt": b"x" * 100}), member_cap=1000, total_cap=1000) as archive:
        assert archive.read("b/c.txt") == b"x" * 100 and "a.txt" in archive
    with pytest.raises(ArchiveRefused, match="outside the archive"):
        CappedZip(zip_of({"../up.txt": b"x"}), member_cap=1000, total_cap=1000)
    with pytest.raises(ArchiveRefused, match="more than 1,000"):
        CappedZip(zip_of({"a": b"x" * 600, "b": b"y" * 600}), member_cap=1000, total_cap=1000)
    bomb = CappedZip(zip_of({"zeros": b"\0" * (2 * 2**20)}), member_cap=2**30, total_cap=2**30)
    with bomb, pytest.raises(ArchiveRefused, match="compression bomb"):
        bomb.read("zeros")
    assert safe_member_name("a\\..\\..\\b") is None and safe_member_name("C:/x") is None
    with pytest.raises(ArchiveRefused):
        read_capped(io.BytesIO(b"x" * 11), 10, "the stream")


def test_html_helpers_and_the_body_converter_with_and_without_main_content():
    page = ('<?xml version="1.0" encoding="utf-8"?><html><head><title>T</title><style>p{}</style></head><body>'
            '<nav class="menu"><a href="/">Home</a> <a href="/about">About us</a></nav>'
            "<main><h1>Heron</h1>" + "<p>The grey heron stands still in shallow water for a long time.</p>" * 6
            + '<p style="display:none">HIDDEN</p><script>var x = "SCRIPT";</script></main></body></html>')
    doc = parse_html(page)
    remove_hidden(doc)
    strip_invisible(doc)
    assert "HIDDEN" not in doc.text_content() and "SCRIPT" not in doc.text_content()
    whole, _ = html_body_to_markdown(parse_html(page), assets=None, max_image_pixels=None, main_content=False)
    main, _ = html_body_to_markdown(parse_html(page), assets=None, max_image_pixels=None, main_content=True)
    assert "About us" in whole and "About us" not in main
    for markdown in (whole, main):
        assert "# Heron" in markdown and "HIDDEN" not in markdown and "SCRIPT" not in markdown
