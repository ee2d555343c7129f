"""URL sources reach only the public internet: resolved addresses checked at every connection and redirect,
opt-outs of AI training honoured, and a batch of URLs where each refused URL is quarantined with its reason."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pin_assets.core.net import FetchError, FetchPolicy, fetch, opted_out, parse_networks, refusal
from pin_assets.core.sources.listing import iter_source
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.pipeline_support import read_records, run_batch

LOCAL = FetchPolicy(allowed_networks=parse_networks("127.0.0.1/32"), timeout_s=10)
DOC = b"# A fetched document\n\nIts only paragraph says enough to be a document worth converting.\n"


class _Site(http.server.BaseHTTPRequestHandler):
    """A document host on 127.0.0.1 with the answers a crawl meets: opt-outs, redirects inward, big bodies."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    port = server.server_address[1]
    _Site.routes = {
        "/doc.md": (200, {}, DOC),
        "/noai.md": (200, {"X-Robots-Tag": "noai"}, DOC),
        "/other-bot.md": (200, {"X-Robots-Tag": "otherbot: noai, noimageai"}, DOC),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/iam/"}, b""),
        "/to-doc-by-name": (301, {"Location": f"http://localhost:{port}/doc.md"}, b""),
        "/big.md": (200, {}, b"x" * 5000),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.2.3.4", "private"), ("192.168.1.10", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"), ("100.100.100.200", "metadata"),
    ("169.254.10.1", "link-local"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "non-public"), ("192.0.2.7", "address"),
])
def test_non_public_addresses_are_refused_with_what_they_are(address: str, why: str) -> None:
    reason = refusal(address)
    assert reason is not None and why in reason and address.removeprefix("::ffff:") in reason, reason


def test_public_and_allowed_addresses_pass() -> None:
    assert refusal("93.184.216.34") is None and refusal("2606:2800:220:1::1") is None
    allowed = parse_networks("127.0.0.1/32, 10.0.0.0/8")
    assert refusal("127.0.0.1", allowed) is None and refusal("10.9.9.9", allowed) is None
    assert refusal("127.0.0.2", allowed) is not None
    with pytest.raises(ValueError, match="'intranet' is not an IP address"):
        parse_networks("10.0.0.0/8, intranet")


def test_web_page_images_reach_what_url_sources_reach() -> None:
    """One policy for every fetch of a batch: the processing settings reach the web pages' image fetcher."""
    from resources.processing import ProcessingResource

    processing = ProcessingResource(fetch_allowed_networks="127.0.0.1/32", fetch_honour_noai=False)
    policy = processing.limits().web.fetch_policy
    assert policy == processing.fetch_policy() and not policy.honour_opt_outs
    assert refusal("127.0.0.1", policy.allowed_networks) is None
    assert ProcessingResource().limits().web.fetch_policy == FetchPolicy()  # default: public internet only


def test_opt_out_headers_as_img2dataset_reads_them() -> None:
    assert opted_out(["noai"], "pin-factory") == ["noai"]
    assert opted_out(["noindex, NoImageAI"], "pin-factory") == ["noimageai"]
    assert opted_out(["otherbot: noai"], "pin-factory") == []
    assert opted_out(["pin-factory: noai", "*: noimageai"], "pin-factory") == ["noai", "noimageai"]
    assert opted_out(["unavailable_after: 2030-01-01, noai"], "pin-factory") == ["noai"]


def test_fetch_checks_resolved_addresses_redirects_and_opt_outs(site: str) -> None:
    with pytest.raises(FetchError, match="127.0.0.1 is a loopback address") as refused:
        fetch(f"{site}/doc.md")  # the default reaches only the public internet
    assert refused.value.reason == "blocked_address" and refused.value.refused
    port = site.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="localhost resolves to a loopback address"):
        fetch(f"http://localhost:{port}/doc.md")  # a name is judged by what it resolves to

    fetched = fetch(f"{site}/doc.md", LOCAL)
    assert fetched.body == DOC and fetched.address == "127.0.0.1"
    by_name = fetch(f"{site}/to-doc-by-name", LOCAL)
    assert by_name.body == DOC and by_name.redirects == (f"{site}/to-doc-by-name",)

    _Site.seen.clear()
    with pytest.raises(FetchError, match="169.254.169.254 is a cloud metadata service") as inward:
        fetch(f"{site}/to-metadata", LOCAL)  # an allowed host redirecting to a refused address
    assert inward.value.reason == "blocked_address" and _Site.seen == ["/to-metadata"]

    with pytest.raises(FetchError, match=r"opts out of AI training \(X-Robots-Tag: noai\)") as noai:
        fetch(f"{site}/noai.md", LOCAL)
    assert noai.value.reason == "noai"
    assert fetch(f"{site}/other-bot.md", LOCAL).body == DOC  # another crawler's opt-out is not ours
    assert fetch(f"{site}/noai.md", FetchPolicy(LOCAL.allowed_networks, honour_opt_outs=False)).body == DOC

    with pytest.raises(FetchError, match="5,000 bytes declared, over the limit of 1,000") as big:
        fetch(f"{site}/big.md", FetchPolicy(LOCAL.allowed_networks, max_bytes=1000))
    assert big.value.reason == "too_large"
    with pytest.raises(FetchError, match="HTTP 404") as missing:
        fetch(f"{site}/gone.md", LOCAL)
    assert missing.value.reason == "http_error" and not missing.value.refused


def test_url_list_refused_by_default_then_each_url_gets_its_verdict(site: str, tmp_path: Path) -> None:
    """The same URL list: refused by default with the reason; with 127.0.0.1 allowed, through the asset graph,
    the document is converted and every other URL is quarantined with its own reason, nothing lost."""
    manifest = tmp_path / "crawl.urls"
    manifest.write_text("\n".join([f"{site}/doc.md", f"{site}/noai.md", f"{site}/to-metadata",
                                   "http://10.0.0.1/intranet.pdf", "ftp://example.com/paper.pdf"]) + "\n")
    first = next(iter(iter_source(str(manifest))))
    with pytest.raises(FetchError, match="refused, 127.0.0.1 is a loopback address"):
        first.read()

    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "crawl", manifest, workers=1, max_quarantine_rate=1.0,
                           fetch_allowed_networks="127.0.0.1/32")
    assert result.success
    records = read_records(storage)
    assert [r["meta"]["ori_meta"]["source_uri"] for r in records] == [f"{site}/doc.md"]
    verdicts = {row["source_uri"]: (row["stage"], row["reason"], row["message"])
                for row in read_quarantine(storage, "crawl").to_pylist()}
    assert verdicts[f"{site}/noai.md"][:2] == ("parse", "noai")
    assert verdicts[f"{site}/to-metadata"][1] == "blocked_address"
    assert "169.254.169.254" in verdicts[f"{site}/to-metadata"][2]
    assert verdicts["http://10.0.0.1/intranet.pdf"][1] == "blocked_address"
    assert "private address 10.0.0.1" in verdicts["http://10.0.0.1/intranet.pdf"][2]
    assert verdicts["ftp://example.com/paper.pdf"][1] == "bad_url"
    ingest = {e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
              for e in result.get_asset_materialization_events()}["raw_documents"]
    assert ingest["urls not fetched (by reason)"].value == {"noai": 1, "blocked_address": 2, "bad_url": 1}
