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
import trafilatura
from PIL import Image

from pin_assets.core.document import ConversionError
from pin_assets.core.html.charset import decode_html
from pin_assets.core.html.images import NOT_FETCHED
from pin_assets.core.html.markdown import FALLBACK_FLAG, html_to_markdown
from pin_assets.core.html.merge import markdown_words
from pin_assets.core.image_refs import image_paths, write_image_refs
from pin_assets.core.nemo_export import document_rows
from pin_assets.core.signals import compute_signals
from pin_assets.core.tokenizer import WordPunctTokenizer
from tests.test_sources import assert_in_order

WEB = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"
FIXTURES = Path(__file__).parent / "fixtures" / "web"  # real pages, see PROVENANCE.md there
_ANY_IMAGE = re.compile(r"!\[[^\]]*\]\((?:<[^>]*>|[^)]*)\)")
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


def _words(md: str) -> str:
    """The words of Markdown, without images, ordered-list numbers or escapes of a leading number."""
    return markdown_words(re.sub(r"(?m)^(\s*\d+)\\\.", r"\1.", md), _ANY_IMAGE)


@needs_web
def test_dev_set_f1_and_no_page_lost() -> None:
    """Every fifth page of corpus/web (50 keep the test near 10 s), scored by tools/score_web.py's own text
    rules: F1 over the snippets that must and must not appear at least trafilatura's (called as a user
    calls it for Markdown) on the same pages, and every page has output."""
    spec = importlib.util.spec_from_file_location("score_web", WEB.parents[1] / "tools" / "score_web.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    evaldata = json.loads((WEB / "evaldata.json").read_text(encoding="utf-8"))
    counts = {"ours": [0, 0, 0], "trafilatura": [0, 0, 0]}  # true positives, false negatives, false positives
    for url, item in list(evaldata.items())[::5]:
        data = (WEB / "pages" / item["file"]).read_bytes()
        theirs = trafilatura.extract(data, url=url, output_format="markdown", include_images=True,
                                     include_tables=True, include_formatting=True)
        for name, md in (("ours", html_to_markdown(data).markdown), ("trafilatura", theirs or "")):
            assert md.strip(), f"{item['file']}: no output from {name}"
            text = scorer.md_to_text(md)
            found = [scorer.norm(s) in text for s in item["with"]]
            counts[name][0] += sum(found)
            counts[name][1] += len(found) - sum(found)
            counts[name][2] += sum(scorer.norm(s) in text for s in item["without"])
    f1 = {name: 2 * tp / (2 * tp + fn + fp) for name, (tp, fn, fp) in counts.items()}
    assert f1["ours"] >= f1["trafilatura"] and f1["ours"] >= 0.88, f1


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


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.html")))
def test_text_is_trafilaturas_on_real_pages(name: str) -> None:
    """The words emitted are trafilatura's own (its Markdown mode, comments off), in its order: the page's
    DOM adds structure and images, never text, and drops none."""
    data = (FIXTURES / name).read_bytes()
    ours = html_to_markdown(data).markdown
    theirs = trafilatura.extract(data, output_format="markdown", include_images=True, include_tables=True,
                                 include_formatting=True, include_comments=False)
    assert _words(ours) == _words(theirs)


def test_structure_and_images_trafilatura_leaves_out() -> None:
    """Where trafilatura flattens or passes over things, the DOM gives them back: the schedule table gets
    its header row, and pictures whose addresses lack an image extension (which trafilatura skips) keep
    their places between the paragraphs, as missing images with their alt text (fetching is off)."""
    table = html_to_markdown((FIXTURES / "spox.com-corona-fealle.html").read_bytes()).markdown
    header = "| Tag | Datum | Uhrzeit (MEZ) | Wettkampf |\n| --- | --- | --- | --- |\n"
    assert header + "| 6 | Mittwoch, 9. Februar |" in table
    page = html_to_markdown((FIXTURES / "alpin.de-freeride.html").read_bytes())
    missing = json.loads(page.metadata["missing_images"])
    assert missing[:2] == ["https://api.kicker.de/live/Media.svc/GetMedia/mediaId/731306/width/540/height/324",
                           "https://api.kicker.de/live/Media.svc/GetMedia/mediaId/731311/width/270/height/292"]
    assert json.loads(page.metadata["missing_image_reasons"])[0] == NOT_FETCHED
    assert_in_order(["Die zweiteilige X Dual Link-Manschette ermöglicht",
                     "![Handhabung und Ausstattung eines klassischen Alpinschuhs, Performance bei Abfahrten.]"
                     "(missing_image/0)", "Der Quantum Free Asolo Factory 130 überzeugt", "(missing_image/1)",
                     "### Verbesserter Ski-/Gehmechanismus"], page.markdown)
    theirs = trafilatura.extract((FIXTURES / "alpin.de-freeride.html").read_bytes(), output_format="markdown",
                                 include_images=True, include_formatting=True, include_comments=False)
    assert "![" not in theirs  # trafilatura places none of them


def test_comments_left_out_unless_asked_for() -> None:
    data = (FIXTURES / "sprechwaisen.com.sw082.html").read_bytes()
    comment = "Eure Tasse ist trotz guter Nutzung immer noch Schick."
    plain, kept = html_to_markdown(data).markdown, html_to_markdown(data, comments=True).markdown
    assert comment not in plain and comment in kept
    assert_in_order([plain.split("\n")[0], comment], kept)  # the comments come after the main content


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


def test_missing_images_keep_their_place_in_every_output() -> None:
    """A missing image is an image where the sequence matters (the interleaving signal, the PIN record's
    <img> spelling) and no file anywhere a file is expected (content_image, NeMo Curator rows)."""
    md = "Before the dredging.\n\n![The dredger](missing_image/0)\n\nAfter it.\n\n![A chart](content_image/ab.png)\n"
    assert image_paths(md) == ["content_image/ab.png"]
    assert write_image_refs(md, "html").count("<img src='missing_image/0'>") == 1
    assert compute_signals(md, [], WordPunctTokenizer())["image_text_interleaving_count"] == 3
    assert compute_signals(write_image_refs(md, "html"), [], WordPunctTokenizer())[
        "image_text_interleaving_count"] == 3
    record = {"id": "x", "md": write_image_refs(md, "html"), "license": "CC-BY-4.0", "quality_signals": {},
              "meta": {"source_dataset": "web", "language": "en", "oi_source": "compiling"}, "overall_image": []}
    rows = document_rows(record, lambda name: f"images/{name}")
    assert [(r["position"], r["modality"]) for r in rows] == [(-1, "metadata"), (0, "text"), (1, "text"),
                                                             (2, "image")]
