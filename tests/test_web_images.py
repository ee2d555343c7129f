"""Remote images of web pages fetched in production: from a local site on 127.0.0.1 (allowed by setting), each
URL once per batch, in place, with slow, huge, opted-out and redirected-inward images refused and recorded."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from pin_assets.core import net  # the safe fetcher (issue 24) every fetch goes through
from pin_assets.core.convert import parse_document
from pin_assets.core.html.images import NOT_FETCHED
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.signals import compute_signals
from pin_assets.core.tokenizer import WordPunctTokenizer
from pin_assets.core.web_settings import ImageFetchBounds, WebSettings

PROSE = [
    "The harbour board approved the plan to dredge the eastern channel before the winter storms arrive.",
    "Ships drawing more than nine metres have had to wait for high tide since the sandbank moved in March.",
    "The work is expected to take six weeks and will be paid for by the port's own reserves this year.",
    "Fishermen asked that dredging stop during the herring season, and the board agreed to a pause.",
    "The board will publish the survey of the channel's depth once the dredger has left the harbour.",
    "A second dredger may be hired if the first cannot finish the eastern channel before December.",
    "The harbour master thanked the crews of both pilot boats for guiding ships during the works.",
]


def _png(color: tuple[int, int, int], size: tuple[int, int] = (120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class _Site(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[str] = []
    release = threading.Event()  # the slow image answers only once the test is over

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        if self.path == "/slow.png":
            self.release.wait(30)
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        if self.path == "/flaky.png" and self.seen.count(self.path) == 1:  # busy the first time only
            status, headers, body = 503, {"Retry-After": "1"}, b"busy"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the fetcher stopped reading early
            self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    _Site.routes = {
        "/img/red.png": (200, {"Content-Type": "image/png"}, _png((200, 30, 30))),
        "/media/4711": (200, {"Content-Type": "image/png"}, _png((30, 160, 30))),  # no extension in the URL
        "/slow.png": (200, {"Content-Type": "image/png"}, _png((10, 10, 10))),
        "/huge.png": (200, {"Content-Type": "image/png"}, b"\x89PNG" + b"\x00" * 300_000),
        "/noai.png": (200, {"Content-Type": "image/png", "X-Robots-Tag": "noimageai"}, _png((0, 0, 200))),
        "/inward.png": (302, {"Location": "http://10.20.30.40/secret.png"}, b""),
        "/flaky.png": (200, {"Content-Type": "image/png"}, _png((90, 90, 0))),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Site.release.set()
        server.shutdown()
        server.server_close()


def _page(site: str, images: list[str], extra: str = "") -> bytes:
    """An article whose paragraphs alternate with figures, a logo in the header and an ad in the sidebar."""
    body = "".join(
        f"<p>{PROSE[i]}</p><figure><img src='{site}{path}' alt='picture {i}'><figcaption>Figure {i}.</figcaption>"
        "</figure>" for i, path in enumerate(images)
    )
    return (
        f"<html><head><title>Channel to be dredged</title></head><body><header><img src='{site}/logo.png' "
        "alt='Gazette'><nav><a href='/'>Home</a> <a href='/port'>Port news</a></nav></header>"
        f"<main><article><h1>Channel to be dredged</h1>{body}<p>{PROSE[-1]}</p>{extra}</article></main>"
        f"<aside><img src='{site}/ad.png' alt='Advert'><p>Buy a boat today</p></aside></body></html>"
    ).encode()


def _limits(tmp_path: Path, **bounds: object) -> DocumentLimits:
    fetch = ImageFetchBounds(timeout_s=2.0, max_bytes=100_000, retries=0, **bounds)
    policy = net.FetchPolicy(allowed_networks=net.parse_networks("127.0.0.1/32"))
    web = WebSettings(fetch_images="auto", fetch=fetch, fetch_policy=policy, fetch_cache=str(tmp_path / "cache"))
    return DocumentLimits(timeout_s=30, web=web)


def test_images_fetched_in_place_refusals_recorded(site: str, tmp_path: Path) -> None:
    images = ["/img/red.png", "/media/4711", "/slow.png", "/huge.png", "/noai.png", "/inward.png"]
    _Site.seen.clear()
    doc = parse_document(_page(site, images), "html", _limits(tmp_path), url=f"{site}/news/dredging.html")
    md = doc.markdown
    assert [(i.width, i.height) for i in doc.images] == [(120, 80), (120, 80)]
    refs = [f"content_image/{doc.images[0].name}", f"content_image/{doc.images[1].name}"]
    refs += [f"missing_image/{n}" for n in range(4)]
    position = 0
    for number, ref in enumerate(refs):  # each picture right after its paragraph, with its alt text
        for needle in (PROSE[number], f"![picture {number}]({ref})"):
            position = md.index(needle, position) + len(needle)
    assert md.index(PROSE[-1]) > position
    missing = json.loads(doc.metadata["missing_images"])
    reasons = json.loads(doc.metadata["missing_image_reasons"])
    assert missing == [f"{site}{path}" for path in images[2:]]  # main content only: no logo, no advert
    assert [r.split(":")[0] for r in reasons] == ["timeout", "too_large", "noai", "blocked_address"]
    assert "10.20.30.40" in reasons[3] and "/logo.png" not in _Site.seen and "/ad.png" not in _Site.seen
    signals = compute_signals(md, [], WordPunctTokenizer())
    assert signals["image_text_interleaving_count"] == 12  # T I T I ... T I T: missing ones count too


def test_each_url_fetched_once_per_batch(site: str, tmp_path: Path) -> None:
    """Two pages of a batch show the same picture, and another process of the same run converts a third:
    one request. The cache holds the bytes under their sha256."""
    _Site.seen.clear()
    limits = _limits(tmp_path)
    first = parse_document(_page(site, ["/img/red.png"]), "html", limits, url=f"{site}/a.html")
    second = parse_document(_page(site, ["/img/red.png", "/media/4711"], "<p>Another page.</p>"), "html", limits,
                            url=f"{site}/b.html")
    from pin_assets.core.html.image_fetch import ImageFetcher  # a second worker process's own fetcher

    other = ImageFetcher(limits.web.fetch, limits.web.fetch_policy, limits.web.fetch_cache)
    assert other([f"{site}/img/red.png"])[f"{site}/img/red.png"][0] == _png((200, 30, 30))
    assert _Site.seen.count("/img/red.png") == 1 and _Site.seen.count("/media/4711") == 1
    assert first.images[0].name == second.images[0].name
    blobs = list((tmp_path / "cache" / "blobs").iterdir())
    assert sorted(b.name for b in blobs) == sorted(__import__("hashlib").sha256(d).hexdigest()
                                                   for d in (_png((200, 30, 30)), _png((30, 160, 30))))


def test_fetch_images_setting(site: str, tmp_path: Path) -> None:
    """``auto`` fetches for pages with a web address (URL lists, WARC records), not for local files; ``off``
    never: the image keeps its place as a missing one and says why."""
    assert WebSettings().fetches_images("https://example.org/a.html") and not WebSettings().fetches_images(None)
    assert not WebSettings(fetch_images="off").fetches_images("https://example.org/a.html")
    assert WebSettings(fetch_images="on").fetches_images(None)
    _Site.seen.clear()
    limits = _limits(tmp_path)
    local = parse_document(_page(site, ["/img/red.png"]), "html", limits)  # a file from a folder: no URL
    assert not local.images and json.loads(local.metadata["missing_image_reasons"]) == [NOT_FETCHED]
    assert "![picture 0](missing_image/0)" in local.markdown and not _Site.seen
    with pytest.raises(ValueError, match="fetch_images"):
        WebSettings(fetch_images="sometimes")  # type: ignore[arg-type]


def test_busy_server_retried_dead_host_not(site: str, tmp_path: Path) -> None:
    """HTTP 503 is tried again (and the image fetched); a 404, a refusal or a host name that does not resolve
    is answered at once."""
    from pin_assets.core.html.image_fetch import ImageFetcher, _retryable

    _Site.seen.clear()
    limits = _limits(tmp_path)
    fetcher = ImageFetcher(replace(limits.web.fetch, retries=1), limits.web.fetch_policy, limits.web.fetch_cache)
    results = fetcher([f"{site}/flaky.png", f"{site}/gone.png"])
    assert results[f"{site}/flaky.png"] == (_png((90, 90, 0)), None)
    assert results[f"{site}/gone.png"][0] is None and _Site.seen.count("/gone.png") == 1
    assert _Site.seen.count("/flaky.png") == 2
    assert _retryable(net.FetchError("timeout", "x: no answer in 2 s"))
    assert _retryable(net.FetchError("unreachable", "x: connection reset"))
    assert not _retryable(net.FetchError("unreachable", "x: host 'a.invalid' does not resolve (no name)"))
    assert not _retryable(net.FetchError("blocked_address", "x: 10.0.0.1 is a private address"))
