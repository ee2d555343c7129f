"""WARC input: each HTML response a document with its URL and crawl date, images from the same WARC inline,
every record accounted for. The WARC files are written here with warcio, as a crawler would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from dagster import DagsterInstance
from PIL import Image
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pin_assets.accounting import account_batch
from pin_assets.core.convert_files import Input, convert_file, expand_inputs
from pin_assets.core.html.markdown import html_to_markdown
from pin_assets.core.html.warc import is_warc, page_image_refs, read_warc_bytes, warc_failure
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf_pages import RenderOptions
from pin_assets.core.web_settings import WebSettings
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.pipeline_support import read_records, run_batch

PROSE = [
    "The river authority opened the new fish ladder on Tuesday after three years of construction work.",
    "Engineers say the ladder lets salmon pass the old weir for the first time since it was built in 1911.",
    "Local anglers had campaigned for the project, which cost about four million euros in the end.",
    "Counting stations upstream will record how many fish use the ladder during the autumn migration.",
]


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), color).save(out, "PNG")
    return out.getvalue()


def _page(title: str, image: str) -> bytes:
    first, rest = ("".join(f"<p>{p}</p>" for p in half) for half in (PROSE[:2], PROSE[2:]))
    return (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{title}</h1>{first}<figure><img src='{image}' alt='The fish ladder'>"
        "<figcaption>The ladder seen from the weir.</figcaption></figure>"
        f"<img data-src='/img/remote.jpg' src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' alt='lazy'>"
        f"{rest}</article><footer>Copyright 2024 River News</footer></body></html>"
    ).encode("cp1252")


def write_warc(path: Path, *, truncate: bool = False) -> None:
    """warcinfo, a request, two pages, an image, a stylesheet and a 404, gzip per record."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))

    def response(url: str, body: bytes, content_type: str, status: str = "200 OK") -> None:
        headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))

    request = StatusAndHeaders("GET /news/ladder.html HTTP/1.1", [("Host", "river.example")], is_http_request=True)
    writer.write_record(writer.create_warc_record("https://river.example/news/ladder.html", "request",
                                                  http_headers=request))
    response("https://river.example/news/ladder.html", _page("Fish ladder opens", "../img/ladder.png"),
             "text/html; charset=windows-1252")
    response("https://river.example/img/ladder.png", _png((0, 90, 200)), "image/png")
    response("https://river.example/style.css", b"body{color:black}", "text/css")
    response("https://river.example/missing.html", b"<html><body>Not found</body></html>", "text/html", "404 Not Found")
    response("https://river.example/news/count.html", _page("Salmon counted", "https://river.example/img/ladder.png"),
             "text/html; charset=windows-1252")
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) * 2 // 3] if truncate else data)


def test_warc_records_all_accounted(tmp_path: Path) -> None:
    write_warc(tmp_path / "crawl.warc.gz")
    data = (tmp_path / "crawl.warc.gz").read_bytes()
    assert is_warc("crawl.warc.gz", data[:4096]) and not is_warc("x.gz", b"\x1f\x8b" + b"\x00" * 30)
    contents = read_warc_bytes(data)
    assert contents.records == 7 and contents.balanced and contents.error is None
    assert [p.url for p in contents.pages] == ["https://river.example/news/ladder.html",
                                               "https://river.example/news/count.html"]
    assert contents.pages[0].crawl_date[:4].isdigit() and set(contents.images) == {"https://river.example/img/ladder.png"}
    assert contents.skipped == {"warcinfo": 1, "request": 1, "response_text/css": 1, "http_404": 1}
    page = contents.pages[0]
    refs = page_image_refs(page.body, page.url, {"https://river.example/img/ladder.png": "key"})
    assert refs == {"https://river.example/img/ladder.png": "key"}
    doc = html_to_markdown(page.body, assets={u: contents.images[u] for u in refs}, url=page.url,
                           content_type=page.content_type)
    assert doc.markdown.startswith("# Fish ladder opens") and len(doc.images) == 1
    assert "Home" not in doc.markdown and "Copyright" not in doc.markdown
    assert json.loads(doc.metadata["missing_images"]) == ["https://river.example/img/remote.jpg"]

    write_warc(tmp_path / "cut.warc.gz", truncate=True)
    cut = read_warc_bytes((tmp_path / "cut.warc.gz").read_bytes())
    assert cut.error and cut.pages and warc_failure(cut).reason == "corrupt"


@pytest.mark.slow
def test_warc_batch_end_to_end(tmp_path: Path) -> None:
    source = tmp_path / "crawl"
    source.mkdir()
    write_warc(source / "crawl.warc.gz")
    write_warc(source / "cut.warc.gz", truncate=True)
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    # tests reach no network: the page's one remote image stays missing (fetching: tests/test_web_images.py)
    result = run_batch(DagsterInstance.ephemeral(), storage, "warc", source, fetch_images="off")
    assert result.success
    records = {r["meta"]["ori_meta"]["url"]: r for r in read_records(storage) if "url" in r["meta"]["ori_meta"]}
    page = records["https://river.example/news/ladder.html"]
    assert page["meta"]["ori_meta"]["crawl_date"][:4].isdigit() and len(page["content_image"]) == 1
    assert page["md"].index(PROSE[1]) < page["md"].index("content_image/") < page["md"].index(PROSE[2])
    account = account_batch(storage, "warc")
    quarantine = read_quarantine(storage, "warc").to_pylist()
    assert account.balanced and account.records == 2
    assert [(q["reason"], q["source_uri"].rsplit("/", 1)[-1]) for q in quarantine] == [("corrupt", "cut.warc.gz")]


def test_pin_convert_takes_warc_files(tmp_path: Path) -> None:
    """`pin convert` of a WARC file: one record folder per HTML response, with its URL, crawl date and the
    image captured in the same WARC in place; a WARC that broke off fails after the pages it held. (The
    documents are converted here in this process; `convert_files` hands the same ones to its pool.)"""
    write_warc(tmp_path / "crawl.warc.gz")
    write_warc(tmp_path / "cut.warc.gz", truncate=True)
    items = list(expand_inputs([tmp_path / "crawl.warc.gz", tmp_path / "cut.warc.gz"]))
    documents = [item for item in items if isinstance(item, Input)]
    assert [item for item in items if not isinstance(item, Input)][0][1].reason == "corrupt"
    assert [d.label for d in documents][:2] == [f"{tmp_path / 'crawl.warc.gz'}#https://river.example/news/ladder.html",
                                                f"{tmp_path / 'crawl.warc.gz'}#https://river.example/news/count.html"]
    assert any(d.path.name == "cut.warc.gz" for d in documents)  # the pages before the break
    out = tmp_path / "out"
    limits = DocumentLimits(web=WebSettings(fetch_images="off"))  # tests reach no network
    record = convert_file(documents[0].path, out, RenderOptions(dpi=30), limits=limits, document=documents[0])
    folder = out / "crawl" / "0001-river.example-news-ladder.html"
    assert sorted(p.name for p in folder.iterdir()) == ["0001-river.example-news-ladder.html.json",
                                                       "0001-river.example-news-ladder.html.md", "content_image",
                                                       "overall_image"]
    meta = record["meta"]["ori_meta"]
    assert meta["url"] == "https://river.example/news/ladder.html" and meta["crawl_date"][:4].isdigit()
    assert record["meta"]["date_download"] == meta["crawl_date"][:10] and len(record["content_image"]) == 1
    md = (folder / f"{folder.name}.md").read_text()
    assert md.index(PROSE[1]) < md.index("content_image/") < md.index(PROSE[2])
