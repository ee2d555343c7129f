"""Web pages to Markdown: main content against the dev set, and what real pages need (charsets, lazy
images, <base>, <br>, figures, the no-main-content fallback). Pages are written here or come from
corpus/web (real pages from trafilatura's evaluation set)."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from pin_assets.core.document import ConversionError
from pin_assets.core.html.charset import decode_html
from pin_assets.core.html.markdown import FALLBACK_FLAG, html_to_markdown
from pin_assets.core.signals import compute_signals
from pin_assets.core.tokenizer import WordPunctTokenizer
from tests.conftest import corpus_dir

WEB = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"
needs_web = pytest.mark.skipif(not (WEB / "evaldata.json").is_file(), reason="shared corpus/web not mounted")

ARTICLE = [
    "The harbour board approved the plan to dredge the eastern channel before the winter storms arrive.",
    "Ships drawing more than nine metres have had to wait for high tide since the sandbank moved in March.",
    "The work is expected to take six weeks and will be paid for by the port's own reserves this year.",
    "Fishermen asked that dredging stop during the herring season, and the board agreed to a pause.",
]


def _png(size: tuple[int, int] = (90, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _page(middle: str, *, head: str = "", paragraphs: list[str] = ARTICLE) -> str:
    first = "".join(f"<p>{p}</p>" for p in paragraphs[:2])
    rest = "".join(f"<p>{p}</p>" for p in paragraphs[2:])
    return (
        f"<html><head><title>Channel to be dredged</title>{head}</head><body>"
        "<header><nav><ul><li><a href='/'>Home</a></li><li><a href='/port'>Port news</a></li></ul></nav></header>"
        f"<main><article><h1>Channel to be dredged</h1>{first}{middle}{rest}</article></main>"
        "<aside><h3>Most read</h3><ul><li><a href='/a'>Ferry timetable changes</a></li></ul></aside>"
        "<footer><p>© 2024 Harbour Gazette. All rights reserved.</p></footer></body></html>"
    )


def _text(md: str) -> str:
    return " ".join(re.sub(r"[*_`]", "", md).split())


@needs_web
def test_dev_set_f1_and_no_page_lost() -> None:
    """Every fifth page of corpus/web (50 keep the test near 10 s), scored by tools/score_web.py's own text
    rules: F1 over the snippets that must and must not appear, and every page has output."""
    spec = importlib.util.spec_from_file_location("score_web", WEB.parents[1] / "tools" / "score_web.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    evaldata = json.loads((WEB / "evaldata.json").read_text(encoding="utf-8"))
    tp = fn = fp = 0
    for _url, item in list(evaldata.items())[::5]:
        text = scorer.md_to_text(html_to_markdown((WEB / "pages" / item["file"]).read_bytes()).markdown)
        found = [scorer.norm(s) in text for s in item["with"]]
        tp, fn = tp + sum(found), fn + len(found) - sum(found)
        fp += sum(scorer.norm(s) in text for s in item["without"])
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert 2 * precision * recall / (precision + recall) >= 0.87


def test_main_content_drops_navigation_keeps_title_figure_and_breaks() -> None:
    figure = (
        "<figure><img src='img/dredger.png' alt='The dredger'><figcaption>The dredger Vlieland at work."
        "</figcaption></figure><p>Harbour master<br>Jan de Vries<br>Port office</p>"
    )
    doc = html_to_markdown(_page(figure).encode(), assets={"img/dredger.png": _png()})
    md = doc.markdown
    assert md.startswith("# Channel to be dredged\n")
    assert "Port news" not in md and "Most read" not in md and "All rights reserved" not in md
    assert md.index(ARTICLE[1]) < md.index(f"![The dredger](content_image/{doc.images[0].name})") < md.index(ARTICLE[2])
    assert "Harbour master  \nJan de Vries  \nPort office" in md
    assert FALLBACK_FLAG not in doc.metadata


def test_lazy_images_srcset_picture_and_base_url() -> None:
    middle = (
        "<p><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' data-src='photos/lazy.jpg' alt='lazy'>"
        "Lazy image above, and a responsive one below.</p>"
        "<p><img srcset='s/small.jpg 320w, s/large.jpg 1280w' alt='responsive'> The pier at dawn.</p>"
        "<p><picture><source srcset='p/pier.webp'><img src='p/pier-fallback.jpg' alt='pier'></picture>"
        "The old pier, from the water.</p><p><img src='local.png' alt='kept'> A local copy of a chart.</p>"
    )
    head = "<base href='https://cdn.example.org/news/'>"
    doc = html_to_markdown(_page(middle, head=head).encode(), url="https://gazette.example/port/dredging.html",
                           assets={"https://cdn.example.org/news/local.png": _png()})
    assert json.loads(doc.metadata["missing_images"]) == [
        "https://cdn.example.org/news/photos/lazy.jpg",
        "https://cdn.example.org/news/s/large.jpg",
        "https://cdn.example.org/news/p/pier.webp",
    ]
    assert len(doc.images) == 1 and f"![kept](content_image/{doc.images[0].name})" in doc.markdown
    assert doc.metadata["url"] == "https://gazette.example/port/dredging.html"


def test_spanning_table_and_code_block_keep_their_shape() -> None:
    middle = (
        "<table><tr><th>Berth</th><th colspan='2'>Depth (m)</th></tr><tr><td>East 1</td><td>8.5</td>"
        "<td>9.2</td></tr><tr><td>East 2</td><td>7.9</td><td>8.8</td></tr></table>"
        "<pre><code>depth = survey(channel)\nif depth &lt; 9.0:\n    dredge(channel)</code></pre>"
    )
    md = html_to_markdown(_page(middle).encode()).markdown
    assert '<tr><th>Berth</th><th colspan="2">Depth (m)</th></tr>' in md
    assert "```\ndepth = survey(channel)\nif depth < 9.0:\n    dredge(channel)\n```" in md


def test_article_list_with_a_code_item_is_kept_whole() -> None:
    """trafilatura flattens a list item holding a code block and drops its sibling items (docling's
    code-snippet page); the list belongs to the article, so every item stays."""
    page = corpus_dir("html") / "html_code_snippets.html"
    text = _text(html_to_markdown(page.read_bytes()).markdown)
    assert "Use the docling-tools models download utility:" in text
    assert "Alternatively, models can be programmatically downloaded using" in text
    assert "Also, you can use download-hf-repo parameter to download arbitrary models" in text
    assert "$ docling-tools models download-hf-repo ds4sd/SmolDocling-256M-preview" in text


def test_charset_from_bom_header_http_equiv_and_xml_declaration() -> None:
    text = "Überfahrt nach Öland – 20 €"
    assert decode_html(b"\xef\xbb\xbf<p>" + text.encode() + b"</p>")[0] == f"<p>{text}</p>"
    assert decode_html("\ufeff<p>x</p>".encode("utf-16-be"))[0] == "<p>x</p>"
    cp = f"<p>{text}</p>".encode("cp1252")
    assert decode_html(cp, "text/html; charset=windows-1252")[0] == f"<p>{text}</p>"
    equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15">'
    assert "Öland 20 €" in decode_html(equiv + "<p>Öland 20 €</p>".encode("iso-8859-15"))[0]
    xml = b'<?xml version="1.0" encoding="windows-1252"?><html><body><p>' + text.encode("cp1252") + b"</p></body>"
    assert text in html_to_markdown(xml).markdown
    header_wins = html_to_markdown(b'<meta charset="utf-8"><p>' + text.encode("cp1252") + b"</p>",
                                   content_type="text/html; charset=cp1252")
    assert text in header_wins.markdown


def test_fallback_when_no_main_content_and_empty_page() -> None:
    """trafilatura finds no main content in a page that is one chart: the page is kept, flagged."""
    chart = "<html><body><div class='menu-container'><img src='chart.png' alt='Tide chart'></div></body></html>"
    doc = html_to_markdown(chart.encode(), assets={"chart.png": _png()})
    assert doc.metadata[FALLBACK_FLAG] == "true" and doc.markdown.startswith("![Tide chart](content_image/")
    row = compute_signals(doc.markdown, [], WordPunctTokenizer(), main_content_fallback=True)
    assert row["main_content_fallback"] == 1
    with pytest.raises(ConversionError) as err:
        html_to_markdown(b"<html><body><div class='x'>   </div><script>var a = 1;</script></body></html>")
    assert err.value.reason == "empty"
