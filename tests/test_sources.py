"""Non-PDF converters against the shared corpus, plus detection and hostile-input behaviour.

Similarity uses the scorer's idea (difflib over normalized words, images and Markdown marks removed) but
strips only real HTML tags: the scorer's ``<[^>]+>`` also swallows text after a literal ``<`` (as in
``p<0.05``) up to the next ``>``, which measures where ``>`` happens to be rather than conversion quality.
Floors are set just under what the converters achieve, so a regression fails the test.
"""

from __future__ import annotations

import difflib
import html
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from pin_assets.core import kinds
from pin_assets.core.document import ConversionError
from pin_assets.core.html.markdown import html_to_markdown
from pin_assets.core.jats import jats_to_markdown
from pin_assets.core.plain_text import text_to_markdown
from pin_assets.core.sources.assets import folder_assets
from pin_assets.core.sources.detect import detect_kind

CORPUS = Path("/work/shared/corpus")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not mounted")

JATS_FLOORS = {"elife-56337": 0.96, "pone.0234687": 0.86}
HTML_FLOORS = {
    "example_01": 0.93,
    "example_03": 0.95,
    "example_08": 0.82,
    "formatting": 0.86,
    "html_code_snippets": 0.83,  # trafilatura drops the list items that hold inline code
    "table_01": 0.84,
    "wiki_duck": 0.76,
}


def norm_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"</?[A-Za-z][^<>]*>|<!--.*?-->", " ", text)
    text = html.unescape(text)
    text = re.sub(r"[*_`#>|\\]+", " ", text)
    return text.lower().split()


def similarity(want: str, got: str) -> float:
    return difflib.SequenceMatcher(None, norm_words(want), norm_words(got), autojunk=False).ratio()


def headings(md: str) -> list[str]:
    return [
        " ".join(norm_words(line.lstrip("#"))) for line in md.splitlines() if re.match(r"^#{1,6}\s", line)
    ]


def assert_headings_in_order(want: list[str], got: list[str]) -> None:
    """Every reference heading appears, in order, allowing spelling variants (Acknowledg(e)ments)."""
    position = 0
    for heading in want:
        hits = [
            i
            for i in range(position, len(got))
            if difflib.SequenceMatcher(None, heading, got[i]).ratio() >= 0.9
        ]
        assert hits, f"heading {heading!r} missing or out of order"
        position = hits[0] + 1


def assert_in_order(needles: list[str], haystack: str) -> None:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        assert found >= 0, f"{needle!r} missing or out of order"
        position = found + len(needle)


# ---------------------------------------------------------------- JATS


@needs_corpus
@pytest.mark.parametrize("stem", sorted(JATS_FLOORS))
def test_jats_corpus_matches_reference(stem: str) -> None:
    source = CORPUS / "jats" / f"{stem}.nxml"
    want = (CORPUS / "jats" / f"{stem}.nxml.expected.md").read_text()
    doc = jats_to_markdown(source.read_bytes())
    assert similarity(want, doc.markdown) >= JATS_FLOORS[stem]
    assert_headings_in_order(headings(want), headings(doc.markdown))
    assert doc.markdown.count("\n| --- |") + doc.markdown.count("<table>") >= want.count("\n| - |")
    assert doc.markdown.startswith("# ") and doc.title
    assert doc.metadata["doi"].startswith("10.") and doc.metadata["pmcid"].startswith("PMC")
    assert doc.metadata["license"].startswith("http") and re.fullmatch(
        r"\d{4}-\d\d-\d\d", doc.metadata["publication_date"]
    )
    missing = json.loads(doc.metadata["missing_images"])
    assert missing and len(doc.warnings) >= len(missing) and not doc.images


@needs_corpus
def test_jats_structure_captions_tables_references() -> None:
    doc = jats_to_markdown((CORPUS / "jats" / "pone.0234687.nxml").read_bytes())
    md = doc.markdown
    assert_in_order(
        [
            "## Abstract",
            "## Introduction",
            "Fig 1 Overview of the milk production system",
            "Table 1 Descriptive characteristics of the herd.",
            "| Milking cows | # | 165 |",
            "## References",
            "\n1. IPCC",
        ],
        md,
    )
    assert "CO₂" in md  # subscripts kept (as Unicode where a script character exists)
    assert re.search(r"^76\. ", md, re.M), "76 references numbered"


def test_jats_with_assets_inlines_figures_formulas_lists() -> None:
    png = _png((200, 100), (200, 30, 30))
    xml = b"""<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:mml="http://www.w3.org/1998/Math/MathML">
<front><article-meta><title-group><article-title>Tiny <italic>test</italic></article-title></title-group>
<abstract><p>An abstract with H<sub>2</sub>O and <bold>bold</bold>.</p></abstract></article-meta></front>
<body><sec><title>Intro</title><p>Text before <inline-formula><mml:math><mml:msup><mml:mi>x</mml:mi>
<mml:mn>2</mml:mn></mml:msup></mml:math></inline-formula> after.</p>
<fig id="f1"><label>Figure 1.</label><caption><title>A red box.</title></caption>
<graphic xlink:href="fig1"/></fig>
<fig id="f2"><label>Figure 2.</label><caption><title>Lost.</title></caption><graphic xlink:href="fig2"/></fig>
<list list-type="order"><list-item><p>one</p></list-item><list-item><p>two</p></list-item></list>
<disp-formula><tex-math>\\frac{a}{b}</tex-math></disp-formula>
<sec><title>Deeper</title><p>Nested.</p></sec></sec></body></article>"""
    doc = jats_to_markdown(xml, assets={"fig1.png": png})
    md = doc.markdown
    assert_in_order(
        [
            "# Tiny *test*",
            "## Abstract",
            "H₂O and **bold**",
            "## Intro",
            "$x^2$",
            f"(content_image/{doc.images[0].name})",
            "Figure 1. A red box.",
            "Figure 2. Lost.",
            "1. one\n2. two",
            "$$\n\\frac{a}{b}\n$$",
            "### Deeper",
        ],
        md,
    )
    assert [i.width for i in doc.images] == [200] and doc.images[0].ext == "png"
    assert json.loads(doc.metadata["missing_images"]) == ["fig2"]


def test_jats_spanning_table_becomes_html() -> None:
    xml = b"""<article><body><table-wrap><label>Table 1</label><caption><title>Spans</title></caption>
<table><thead><tr><th colspan="2">Both</th></tr></thead><tbody><tr><td>a</td><td>b</td></tr></tbody></table>
</table-wrap></body></article>"""
    md = jats_to_markdown(xml).markdown
    assert '<th colspan="2">Both</th>' in md and "<td>a</td><td>b</td>" in md


def test_malformed_xml_is_corrupt() -> None:
    with pytest.raises(ConversionError) as err:
        jats_to_markdown(b"<article><body><p>unclosed</body></article>")
    assert err.value.reason == "corrupt"


def test_entity_bomb_is_refused_without_expansion() -> None:
    lol = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE article [' + lol + b"]><article><body><p>&lol9;</p></body></article>"
    )
    with pytest.raises(ConversionError) as err:
        jats_to_markdown(bomb)
    assert err.value.reason in {"unsafe", "corrupt"}


def test_external_entity_is_neither_fetched_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">'
        '<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]><article><body><p>&xxe;&net;</p></body></article>'
    )
    with pytest.raises(ConversionError) as err:
        jats_to_markdown(xxe.encode())
    assert err.value.reason == "unsafe" and "TOPSECRET" not in str(err.value)


# ---------------------------------------------------------------- HTML


@needs_corpus
@pytest.mark.parametrize("stem", sorted(HTML_FLOORS))
def test_html_corpus_matches_reference(stem: str) -> None:
    source = CORPUS / "html" / f"{stem}.html"
    want = (CORPUS / "html" / f"{stem}.expected.md").read_text()
    # the references carry the page's <h1> as a heading even where trafilatura files it as the title only
    doc = html_to_markdown(source.read_bytes(), assets=folder_assets(source.parent), title_heading=True)
    assert similarity(want, doc.markdown) >= HTML_FLOORS[stem]
    got_headings = headings(doc.markdown)
    recalled = sum(h in got_headings for h in headings(want)) / max(1, len(headings(want)))
    assert recalled >= (0.95 if stem == "wiki_duck" else 1.0)


@needs_corpus
def test_html_main_content_images_and_boilerplate() -> None:
    source = CORPUS / "html" / "wiki_duck.html"
    doc = html_to_markdown(source.read_bytes(), assets=folder_assets(source.parent))
    md = doc.markdown
    assert_in_order(
        [
            "# Duck",
            "**Duck** is the common name",
            "## Etymology",
            "## Taxonomy",
            "## Behaviour",
            "### Feeding",
            "## Relationship with humans",
        ],
        md,
    )
    assert "136 languages" not in md and "Toggle the table of contents" not in md  # navigation dropped
    assert "Privacy policy" not in md  # footer dropped
    assert len(json.loads(doc.metadata["missing_images"])) >= 10 and not doc.images  # remote, not fetched
    local = html_to_markdown((CORPUS / "html" / "example_01.html").read_bytes(), assets=folder_assets(CORPUS / "html"))
    assert (
        len(local.images) == 1 and f"![Example image](content_image/{local.images[0].name})" in local.markdown
    )
    assert_in_order(["## Background", "content_image/", "- First item", "42. First item"], local.markdown)


def test_html_images_data_uri_and_path_escape(tmp_path: Path) -> None:
    import base64

    inner = tmp_path / "site"
    inner.mkdir()
    (tmp_path / "outside.png").write_bytes(_png((10, 10), (0, 0, 255)))
    uri = "data:image/png;base64," + base64.b64encode(_png((30, 20), (0, 200, 0))).decode()
    page = (
        f'<html><body><p>Before</p><img src="{uri}" alt="green"><img src="../outside.png" alt="esc">'
        '<img src="/etc/passwd" alt="abs"><img src="https://example.com/a.png" alt="remote">'
        "<p>After</p></body></html>"
    ).encode()
    doc = html_to_markdown(page, assets=folder_assets(inner))
    assert [(i.width, i.height) for i in doc.images] == [(30, 20)]
    assert json.loads(doc.metadata["missing_images"]) == [
        "../outside.png",
        "/etc/passwd",
        "https://example.com/a.png",
    ]
    assert_in_order(["Before", "![green](content_image/", "esc", "After"], doc.markdown)


def test_broken_html_and_charsets() -> None:
    broken = b"<html><body><h1>Title<p>para <b>bold <i>both</p><table><tr><td>x<td>y</table><ul><li>a<li>b"
    doc = html_to_markdown(broken)
    assert_in_order(["# Title", "para **bold", "| x | y |", "- a\n- b"], doc.markdown)
    declared = '<html><head><meta charset="windows-1252"></head><body><p>café “quoted”</p></body></html>'
    assert "café “quoted”" in html_to_markdown(declared.encode("cp1252")).markdown
    undeclared = html_to_markdown("<html><body><p>naïve</p></body></html>".encode("latin-1"))
    assert undeclared.warnings and "naïve" in undeclared.markdown


# ---------------------------------------------------------------- text, detection, empty input


def test_text_cp1252_and_markdown_normalization() -> None:
    text = (
        "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u201cquoted\u201d, long enough for the guess to work well."
        "\r\n\r\n\r\n# not a heading"
    )
    doc = text_to_markdown(text.encode("cp1252"), is_markdown=False)
    assert (
        doc.warnings and "Café naïve résumé “quoted”" in doc.markdown and "\\# not a heading" in doc.markdown
    )
    md = text_to_markdown(
        b"# Title  \r\n\r\n\r\n\r\nline one  \nline two\n\n```\ncode\n\n\n  kept\n```\n", is_markdown=True
    )
    assert (
        md.markdown == "# Title\n\nline one\\\nline two\n\n```\ncode\n\n\n  kept\n```" and md.title == "Title"
    )
    wrapped = text_to_markdown((("word " * 15 + "\n") * 4 + "\nShort\nlines\n").encode(), is_markdown=False)
    assert wrapped.markdown.count("\n") == 3 and "Short\\\nlines" in wrapped.markdown


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"%PDF-1.7\n%binary", "notes.txt", "pdf"),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", "data.xml", "html"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS" "x.dtd">\n'
            b"<article><front/></article>",
            "a.html",
            "jats",
        ),
        (b"<article xmlns:xlink='http://www.w3.org/1999/xlink'><body/></article>", None, "jats"),
        (b"<div><p>fragment</p></div>", "x.txt", "html"),
        (b"# Title\n\nSome *text*.\n", "readme.md", "markdown"),
        (b"# Title\n\n- a\n- b\n\n[link](http://x)\n", None, "markdown"),
        (b"Just words.\nMore words.\n", "file.md.txt", "text"),
        ("caf\u00e9".encode("cp1252"), "x.txt", "text"),
    ],
)
def test_detect_by_content(data: bytes, name: str | None, kind: str) -> None:
    assert detect_kind(data, name) == kind and kinds.mime_type(kind) != "application/octet-stream"


@pytest.mark.parametrize(
    "data",
    [
        _
        for _ in (
            b"\x89PNG\r\n\x1a\n\0\0",
            b"PK\x03\x04rest",
            b"\x1f\x8b\x08\0",
            b"\x7fELF\x02\x01",
            bytes(range(256)) * 4,
        )
    ],
)
def test_detect_refuses_binary(data: bytes) -> None:
    with pytest.raises(ConversionError) as err:
        detect_kind(data, "document.txt")
    assert err.value.reason == "unsupported"


@pytest.mark.parametrize(
    "convert",
    [
        detect_kind,
        jats_to_markdown,
        html_to_markdown,
        lambda data: text_to_markdown(data, is_markdown=True),
        lambda data: text_to_markdown(data, is_markdown=False),
    ],
)
def test_zero_byte_file_is_empty(convert) -> None:
    with pytest.raises(ConversionError) as err:
        convert(b"")
    assert err.value.reason == "empty"


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()
